namespace Nimbus.Storage;

/// <summary>
/// Buckets and objects: metadata in one SQLite file, bytes in immutable blob files. A blob is durable (written,
/// fsynced, renamed into place, directory fsynced) before the row naming it commits, and the row commits in the
/// same transaction as the notifications the change triggers, so an acknowledged write is never torn or silent.
/// </summary>
internal interface IObjectStore
{
    Task<BucketRecord?> GetBucketAsync(string name, CancellationToken cancellationToken);

    Task<IReadOnlyList<BucketRecord>> ListBucketsAsync(CancellationToken cancellationToken);

    /// <summary>False when the bucket exists already.</summary>
    Task<bool> CreateBucketAsync(BucketRecord bucket, CancellationToken cancellationToken);

    Task<BucketDeleteOutcome> DeleteBucketAsync(string name, CancellationToken cancellationToken);

    /// <summary>False when the bucket does not exist.</summary>
    Task<bool> SetNotificationAsync(string bucket, string? notificationXml, CancellationToken cancellationToken);

    /// <summary>Sets (null: removes) the bucket policy; false when the bucket does not exist.</summary>
    Task<bool> SetPolicyAsync(string bucket, string? policy, CancellationToken cancellationToken);

    /// <summary>
    /// Copies <paramref name="source"/> into a new blob, showing every block to <paramref name="observe"/>; null
    /// (and nothing kept) when it is longer than <paramref name="maxBytes"/>.
    /// </summary>
    Task<StagedBlob?> StageAsync(Stream source, Action<ReadOnlyMemory<byte>> observe, long maxBytes, CancellationToken cancellationToken);

    /// <summary>
    /// Concatenates blobs into a new one, showing every block to <paramref name="observe"/>; null (and nothing kept)
    /// when one of them is gone: its part was uploaded again, or its upload completed or aborted, meanwhile.
    /// </summary>
    Task<StagedBlob?> ConcatenateAsync(IReadOnlyList<string> blobIds, Action<ReadOnlyMemory<byte>> observe, CancellationToken cancellationToken);

    /// <summary>
    /// Copies <paramref name="length"/> bytes of the open blob <paramref name="source"/> from <paramref name="offset"/>
    /// into a new blob, showing every block to <paramref name="observe"/>.
    /// </summary>
    Task<StagedBlob> StageRangeAsync(Stream source, long offset, long length, Action<ReadOnlyMemory<byte>> observe, CancellationToken cancellationToken);

    /// <summary>Deletes a staged blob no row refers to (a rejected upload).</summary>
    void Discard(StagedBlob blob);

    /// <summary>
    /// The object at a key with its blob open, so that its record and its bytes agree however the key changes while
    /// they are read (the blob of a replaced or deleted object is unlinked right after the commit); null when there
    /// is no such object. Read a blob only this way: a blob id from an earlier read may name a file already gone.
    /// </summary>
    Task<OpenObject?> OpenObjectAsync(string bucket, string key, CancellationToken cancellationToken);

    /// <summary>The object's record (no bytes): for HEAD-like answers and listings, never to open its blob later.</summary>
    Task<ObjectRecord?> GetObjectAsync(string bucket, string key, CancellationToken cancellationToken);

    /// <summary>
    /// Makes <paramref name="record"/> the object at its key with its notifications, in one transaction; the blob
    /// it replaces is deleted after the commit. <paramref name="ifNoneMatch"/> refuses to replace an existing key;
    /// <paramref name="completesUpload"/> removes that upload and its parts in the same transaction.
    /// </summary>
    Task<ObjectCommitOutcome> CommitObjectAsync(
        ObjectRecord record,
        IReadOnlyList<(string Kind, string Arn, byte[] Payload, string? TraceHeader)> notifications,
        bool ifNoneMatch,
        string? completesUpload,
        CancellationToken cancellationToken);

    /// <summary>Removes the object with its notifications in one transaction; null when there was none.</summary>
    Task<ObjectRecord?> DeleteObjectAsync(string bucket, string key, Func<ObjectRecord, IReadOnlyList<(string Kind, string Arn, byte[] Payload, string? TraceHeader)>> notifications, CancellationToken cancellationToken);

    /// <summary>
    /// Lists in key order the keys under <paramref name="prefix"/> after <paramref name="after"/>, rolling keys with
    /// <paramref name="delimiter"/> after the prefix up into common prefixes; reads the index in batches, never the
    /// whole bucket. Returns up to <paramref name="maxEntries"/> entries and whether more follow.
    /// </summary>
    Task<(IReadOnlyList<ListEntry> Entries, bool IsTruncated)> ListObjectsAsync(
        string bucket, string prefix, string? delimiter, string after, int maxEntries, CancellationToken cancellationToken);

    Task<UploadRecord> CreateUploadAsync(string bucket, string key, IReadOnlyDictionary<string, string> headers, CancellationToken cancellationToken);

    Task<UploadRecord?> GetUploadAsync(string bucket, string key, string uploadId, CancellationToken cancellationToken);

    /// <summary>False when the upload is gone (completed or aborted meanwhile); the blob is then discarded.</summary>
    Task<bool> PutPartAsync(string uploadId, PartRecord part, CancellationToken cancellationToken);

    Task<IReadOnlyList<PartRecord>> ListPartsAsync(string uploadId, int afterPartNumber, int max, CancellationToken cancellationToken);

    Task<bool> AbortUploadAsync(string bucket, string key, string uploadId, CancellationToken cancellationToken);

    Task<IReadOnlyList<UploadRecord>> ListUploadsAsync(string bucket, string prefix, string keyMarker, string uploadIdMarker, int max, CancellationToken cancellationToken);

    Task<IReadOnlyList<PendingNotification>> ListPendingNotificationsAsync(int max, CancellationToken cancellationToken);

    Task DeletePendingNotificationAsync(long id, CancellationToken cancellationToken);
}
