namespace Nimbus.Storage;

/// <summary>One bucket as buckets.db holds it.</summary>
internal sealed record BucketRecord(string Name, string Region, DateTimeOffset CreatedAt, string? NotificationXml)
{
    /// <summary>The bucket policy (PutBucketPolicy's JSON, as sent); null when it has none.</summary>
    public string? Policy { get; init; }
}

/// <summary>
/// One object's metadata; its bytes are the blob file <see cref="BlobId"/>. <see cref="Headers"/> are the response
/// headers replayed on GET and HEAD (Content-Type, Cache-Control, x-amz-meta-*...).
/// </summary>
internal sealed record ObjectRecord(
    string Bucket,
    string Key,
    long Size,
    string ETag,
    DateTimeOffset LastModified,
    IReadOnlyDictionary<string, string> Headers,
    string? ChecksumAlgorithm,
    string? Checksum,
    string BlobId)
{
    /// <summary>The parts CompleteMultipartUpload assembled it from, in order; null for a single-part object.</summary>
    public IReadOnlyList<ObjectPart>? Parts { get; init; }
}

/// <summary>One part of an object assembled by CompleteMultipartUpload: its number (as uploaded) and its size.</summary>
internal readonly record struct ObjectPart(int Number, long Size);

/// <summary>One multipart upload in progress.</summary>
internal sealed record UploadRecord(string UploadId, string Bucket, string Key, DateTimeOffset Initiated, IReadOnlyDictionary<string, string> Headers);

/// <summary>One uploaded part of a multipart upload; <see cref="ETag"/> is the part's MD5 in hex, unquoted.</summary>
internal sealed record PartRecord(int PartNumber, long Size, string ETag, DateTimeOffset LastModified, string BlobId);

/// <summary>A notification accepted with an object change, waiting to be handed to its target.</summary>
internal sealed record PendingNotification(long Id, string TargetKind, string TargetArn, byte[] Payload, string? TraceHeader);

/// <summary>
/// An object with its blob open: the bytes are this record's even when the key is overwritten or deleted meanwhile,
/// since an open file outlives its unlink. The holder disposes it.
/// </summary>
internal sealed class OpenObject(ObjectRecord record, Stream blob) : IAsyncDisposable
{
    public ObjectRecord Record { get; } = record;

    /// <summary>The blob, positioned at its start; seekable.</summary>
    public Stream Blob { get; } = blob;

    public ValueTask DisposeAsync() => Blob.DisposeAsync();
}

/// <summary>A blob written, fsynced and renamed into place, not yet referenced by any row.</summary>
internal sealed record StagedBlob(string BlobId, long Length);

/// <summary>One entry of a listing page: an object, or (with a delimiter) a common prefix.</summary>
internal readonly record struct ListEntry(ObjectRecord? Object, string? CommonPrefix);

internal enum BucketDeleteOutcome
{
    Deleted,
    NotFound,
    NotEmpty,
}

internal enum ObjectCommitOutcome
{
    Committed,
    NoSuchBucket,
    PreconditionFailed,
    NoSuchUpload,
}
