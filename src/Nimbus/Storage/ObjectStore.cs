using System.Buffers;
using System.Globalization;
using System.Text.Json;
using Microsoft.Data.Sqlite;

namespace Nimbus.Storage;

/// <summary>
/// The object store of one node: buckets.db for metadata, <c>buckets/blobs/xx/&lt;id&gt;</c> for bytes. Blobs
/// are immutable and named by a fresh id, so a reader holding one open is never disturbed by an overwrite, and a
/// crash can only leave an unreferenced blob (or a file in <c>buckets/tmp</c>, cleared at start), never a torn one.
/// </summary>
internal sealed class ObjectStore : IObjectStore
{
    /// <summary>The upper bound of every key with a given prefix: U+10FFFF sorts after any UTF-8 character.</summary>
    private const string MaxCharacter = "\U0010FFFF";
    private const int CopyBufferBytes = 256 * 1024;
    private const int ListBatch = 1_000;
    private const int MaxOpenAttempts = 64;

    private static readonly IReadOnlyDictionary<string, string> NoHeaders = new Dictionary<string, string>();

    private readonly SqliteDatabase _database;
    private readonly string _blobs;
    private readonly string _temporary;
    private readonly TimeProvider _time;

    public ObjectStore(SqliteDatabase database, string directory, TimeProvider time)
    {
        _database = database;
        _time = time;
        _blobs = Path.Combine(directory, "blobs");
        _temporary = Path.Combine(directory, "tmp");
        if (Directory.Exists(_temporary))
        {
            Directory.Delete(_temporary, recursive: true);
        }

        Directory.CreateDirectory(_temporary);
        for (var i = 0; i < 256; i++)
        {
            Directory.CreateDirectory(Path.Combine(_blobs, i.ToString("x2", CultureInfo.InvariantCulture)));
        }

        DirectorySync.Flush(_blobs);
        RemoveUnreferencedBlobs();
    }

    public async Task<BucketRecord?> GetBucketAsync(string name, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT name, region, created_at, notification, policy FROM buckets WHERE name = $name;";
        command.Parameters.AddWithValue("$name", name);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        return await reader.ReadAsync(cancellationToken).ConfigureAwait(false) ? ReadBucket(reader) : null;
    }

    public async Task<IReadOnlyList<BucketRecord>> ListBucketsAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT name, region, created_at, notification, policy FROM buckets ORDER BY name;";
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var buckets = new List<BucketRecord>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            buckets.Add(ReadBucket(reader));
        }

        return buckets;
    }

    public async Task<bool> CreateBucketAsync(BucketRecord bucket, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = "INSERT INTO buckets (name, region, created_at) VALUES ($name, $region, $created) ON CONFLICT (name) DO NOTHING;";
        command.Parameters.AddWithValue("$name", bucket.Name);
        command.Parameters.AddWithValue("$region", bucket.Region);
        command.Parameters.AddWithValue("$created", bucket.CreatedAt.ToUnixTimeMilliseconds());
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) > 0;
    }

    public async Task<BucketDeleteOutcome> DeleteBucketAsync(string name, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await using (var exists = connection.CreateCommand())
        {
            exists.Transaction = transaction;
            exists.CommandText = "SELECT (SELECT COUNT(*) FROM buckets WHERE name = $name), EXISTS (SELECT 1 FROM objects WHERE bucket = $name), EXISTS (SELECT 1 FROM uploads WHERE bucket = $name);";
            exists.Parameters.AddWithValue("$name", name);
            await using var reader = await exists.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            if (reader.GetInt64(0) == 0)
            {
                return BucketDeleteOutcome.NotFound;
            }

            if (reader.GetInt64(1) != 0 || reader.GetInt64(2) != 0)
            {
                return BucketDeleteOutcome.NotEmpty;
            }
        }

        await using (var delete = connection.CreateCommand())
        {
            delete.Transaction = transaction;
            delete.CommandText = "DELETE FROM buckets WHERE name = $name;";
            delete.Parameters.AddWithValue("$name", name);
            await delete.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return BucketDeleteOutcome.Deleted;
    }

    public async Task<bool> SetNotificationAsync(string bucket, string? notificationXml, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = "UPDATE buckets SET notification = $xml WHERE name = $name;";
        command.Parameters.AddWithValue("$name", bucket);
        command.Parameters.AddWithValue("$xml", (object?)notificationXml ?? DBNull.Value);
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) > 0;
    }

    public async Task<bool> SetPolicyAsync(string bucket, string? policy, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = "UPDATE buckets SET policy = $policy WHERE name = $name;";
        command.Parameters.AddWithValue("$name", bucket);
        command.Parameters.AddWithValue("$policy", (object?)policy ?? DBNull.Value);
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) > 0;
    }

    public Task<StagedBlob?> StageAsync(Stream source, Action<ReadOnlyMemory<byte>> observe, long maxBytes, CancellationToken cancellationToken) =>
        WriteBlobAsync(async (file, buffer) =>
        {
            long length = 0;
            int read;
            while ((read = await source.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
            {
                length += read;
                if (length > maxBytes)
                {
                    return null;
                }

                await WriteBlockAsync(file, buffer[..read], observe, cancellationToken).ConfigureAwait(false);
            }

            return length;
        });

    public Task<StagedBlob?> ConcatenateAsync(IReadOnlyList<string> blobIds, Action<ReadOnlyMemory<byte>> observe, CancellationToken cancellationToken) =>
        WriteBlobAsync(async (file, buffer) =>
        {
            long length = 0;
            foreach (var blobId in blobIds)
            {
                // A part's blob is unlinked when the part is uploaded again or its upload ends: the caller reads the parts anew.
                if (TryOpenBlob(blobId) is not { } part)
                {
                    return null;
                }

                await using (part)
                {
                    int read;
                    while ((read = await part.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
                    {
                        length += read;
                        await WriteBlockAsync(file, buffer[..read], observe, cancellationToken).ConfigureAwait(false);
                    }
                }
            }

            return length;
        });

    public async Task<StagedBlob> StageRangeAsync(Stream source, long offset, long length, Action<ReadOnlyMemory<byte>> observe, CancellationToken cancellationToken) =>
        (await WriteBlobAsync(async (file, buffer) =>
        {
            source.Seek(offset, SeekOrigin.Begin);
            var left = length;
            while (left > 0)
            {
                var read = await source.ReadAsync(buffer[..(int)Math.Min(buffer.Length, left)], cancellationToken).ConfigureAwait(false);
                if (read == 0)
                {
                    throw new InvalidOperationException($"A blob ended {left} bytes before the range asked for: the object's size and its blob disagree.");
                }

                left -= read;
                await WriteBlockAsync(file, buffer[..read], observe, cancellationToken).ConfigureAwait(false);
            }

            return length;
        }).ConfigureAwait(false))!;

    public void Discard(StagedBlob blob) => DeleteBlob(blob.BlobId);

    public async Task<OpenObject?> OpenObjectAsync(string bucket, string key, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        for (var attempt = 1; ; attempt++)
        {
            if (await GetObjectAsync(connection, null, bucket, key, cancellationToken).ConfigureAwait(false) is not { } record)
            {
                return null;
            }

            // The row read names a blob that an overwrite or delete committed since may already have unlinked: the row
            // has changed, read it again. Each retry needs another commit to the same key within microseconds.
            if (TryOpenBlob(record.BlobId) is { } blob)
            {
                return new OpenObject(record, blob);
            }

            if (attempt == MaxOpenAttempts)
            {
                throw new IOException($"The blob of {bucket}/{key} was replaced {MaxOpenAttempts} times in a row while being opened; the key is overwritten faster than it can be read.");
            }
        }
    }

    public async Task<ObjectRecord?> GetObjectAsync(string bucket, string key, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        return await GetObjectAsync(connection, null, bucket, key, cancellationToken).ConfigureAwait(false);
    }

    private FileStream? TryOpenBlob(string blobId)
    {
        try
        {
            return new FileStream(BlobPath(blobId), FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 0, FileOptions.Asynchronous);
        }
        catch (FileNotFoundException)
        {
            return null;
        }
    }

    private string BlobPath(string blobId) => Path.Combine(_blobs, blobId[..2], blobId);

    public async Task<ObjectCommitOutcome> CommitObjectAsync(
        ObjectRecord record,
        IReadOnlyList<(string Kind, string Arn, byte[] Payload, string? TraceHeader)> notifications,
        bool ifNoneMatch,
        string? completesUpload,
        CancellationToken cancellationToken)
    {
        string? replaced;
        var partBlobs = new List<string>();
        await using (var connection = await OpenAsync(cancellationToken).ConfigureAwait(false))
        {
            // BEGIN IMMEDIATE (Microsoft.Data.Sqlite's default): the read of the key being replaced and the write are one step for concurrent PUTs.
            await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
            if (!await BucketExistsAsync(connection, transaction, record.Bucket, cancellationToken).ConfigureAwait(false))
            {
                return ObjectCommitOutcome.NoSuchBucket;
            }

            var existing = await GetObjectAsync(connection, transaction, record.Bucket, record.Key, cancellationToken).ConfigureAwait(false);
            if (existing is not null && ifNoneMatch)
            {
                return ObjectCommitOutcome.PreconditionFailed;
            }

            replaced = existing?.BlobId;
            if (completesUpload is not null)
            {
                await using var parts = connection.CreateCommand();
                parts.Transaction = transaction;
                parts.CommandText = "SELECT blob FROM parts WHERE upload_id = $id;";
                parts.Parameters.AddWithValue("$id", completesUpload);
                await using (var reader = await parts.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
                {
                    while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                    {
                        partBlobs.Add(reader.GetString(0));
                    }
                }

                await using var remove = connection.CreateCommand();
                remove.Transaction = transaction;
                remove.CommandText = "DELETE FROM parts WHERE upload_id = $id; DELETE FROM uploads WHERE upload_id = $id;";
                remove.Parameters.AddWithValue("$id", completesUpload);
                if (await remove.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 0)
                {
                    return ObjectCommitOutcome.NoSuchUpload;
                }
            }

            await using (var upsert = connection.CreateCommand())
            {
                upsert.Transaction = transaction;
                upsert.CommandText = """
                    INSERT INTO objects (bucket, key, size, etag, last_modified, headers, checksum_algorithm, checksum, blob, parts)
                    VALUES ($bucket, $key, $size, $etag, $modified, $headers, $algorithm, $checksum, $blob, $parts)
                    ON CONFLICT (bucket, key) DO UPDATE SET size = excluded.size, etag = excluded.etag,
                        last_modified = excluded.last_modified, headers = excluded.headers,
                        checksum_algorithm = excluded.checksum_algorithm, checksum = excluded.checksum, blob = excluded.blob,
                        parts = excluded.parts;
                    """;
                upsert.Parameters.AddWithValue("$bucket", record.Bucket);
                upsert.Parameters.AddWithValue("$key", record.Key);
                upsert.Parameters.AddWithValue("$size", record.Size);
                upsert.Parameters.AddWithValue("$etag", record.ETag);
                upsert.Parameters.AddWithValue("$modified", record.LastModified.ToUnixTimeMilliseconds());
                upsert.Parameters.AddWithValue("$headers", SerializeHeaders(record.Headers));
                upsert.Parameters.AddWithValue("$algorithm", (object?)record.ChecksumAlgorithm ?? DBNull.Value);
                upsert.Parameters.AddWithValue("$checksum", (object?)record.Checksum ?? DBNull.Value);
                upsert.Parameters.AddWithValue("$blob", record.BlobId);
                upsert.Parameters.AddWithValue("$parts", record.Parts is { } parts ? ObjectParts.Format(parts) : DBNull.Value);
                await upsert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }

            await AddNotificationsAsync(connection, transaction, notifications, cancellationToken).ConfigureAwait(false);
            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        }

        if (replaced is not null && replaced != record.BlobId)
        {
            DeleteBlob(replaced);
        }

        foreach (var blob in partBlobs)
        {
            DeleteBlob(blob);
        }

        return ObjectCommitOutcome.Committed;
    }

    public async Task<ObjectRecord?> DeleteObjectAsync(
        string bucket, string key, Func<ObjectRecord, IReadOnlyList<(string Kind, string Arn, byte[] Payload, string? TraceHeader)>> notifications, CancellationToken cancellationToken)
    {
        ObjectRecord? existing;
        await using (var connection = await OpenAsync(cancellationToken).ConfigureAwait(false))
        {
            await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
            existing = await GetObjectAsync(connection, transaction, bucket, key, cancellationToken).ConfigureAwait(false);
            if (existing is null)
            {
                return null;
            }

            await using (var delete = connection.CreateCommand())
            {
                delete.Transaction = transaction;
                delete.CommandText = "DELETE FROM objects WHERE bucket = $bucket AND key = $key;";
                delete.Parameters.AddWithValue("$bucket", bucket);
                delete.Parameters.AddWithValue("$key", key);
                await delete.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }

            await AddNotificationsAsync(connection, transaction, notifications(existing), cancellationToken).ConfigureAwait(false);
            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        }

        DeleteBlob(existing.BlobId);
        return existing;
    }

    public async Task<(IReadOnlyList<ListEntry> Entries, bool IsTruncated)> ListObjectsAsync(
        string bucket, string prefix, string? delimiter, string after, int maxEntries, CancellationToken cancellationToken)
    {
        var entries = new List<ListEntry>(Math.Min(maxEntries, ListBatch));
        // Keys sort as SQLite's BINARY collation compares UTF-8, which is not UTF-16's ordinal order.
        var inclusive = System.Text.Encoding.UTF8.GetBytes(after).AsSpan().SequenceCompareTo(System.Text.Encoding.UTF8.GetBytes(prefix)) < 0;
        var cursor = inclusive ? prefix : after;
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = """
            SELECT key, size, etag, last_modified, checksum_algorithm, checksum, blob FROM objects
            WHERE bucket = $bucket AND (key > $cursor OR (key = $cursor AND $inclusive)) ORDER BY key LIMIT $limit;
            """;
        command.Parameters.AddWithValue("$bucket", bucket);
        var cursorParameter = command.Parameters.AddWithValue("$cursor", cursor);
        var inclusiveParameter = command.Parameters.AddWithValue("$inclusive", inclusive);
        command.Parameters.AddWithValue("$limit", ListBatch);

        // Keyset pagination on the (bucket, key) primary key: each batch is one index seek from the cursor, and the
        // listing ends at the first key outside the prefix. A common prefix moves the cursor past all its keys, so
        // rolling up 100,000 keys under one prefix costs one seek, not 100,000 rows. Listed objects carry no
        // headers (a listing never shows them), so a page allocates per entry, never per key in the bucket.
        while (true)
        {
            cursorParameter.Value = cursor;
            inclusiveParameter.Value = inclusive;
            inclusive = false;
            var rolledUp = false;
            var rows = 0;
            await using (var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
            {
                while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    rows++;
                    var key = reader.GetString(0);
                    if (!key.StartsWith(prefix, StringComparison.Ordinal))
                    {
                        return (entries, false);
                    }

                    if (entries.Count == maxEntries)
                    {
                        return (entries, true);
                    }

                    if (delimiter is { Length: > 0 })
                    {
                        var at = key.IndexOf(delimiter, prefix.Length, StringComparison.Ordinal);
                        if (at >= 0)
                        {
                            var common = key[..(at + delimiter.Length)];
                            entries.Add(new ListEntry(null, common));
                            cursor = common + MaxCharacter;
                            rolledUp = true;
                            break;
                        }
                    }

                    entries.Add(new ListEntry(new ObjectRecord(
                        bucket,
                        key,
                        reader.GetInt64(1),
                        reader.GetString(2),
                        DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(3)),
                        NoHeaders,
                        reader.IsDBNull(4) ? null : reader.GetString(4),
                        reader.IsDBNull(5) ? null : reader.GetString(5),
                        reader.GetString(6)), null));
                    cursor = key;
                }
            }

            if (!rolledUp && rows < ListBatch)
            {
                return (entries, false);
            }
        }
    }

    public async Task<UploadRecord> CreateUploadAsync(string bucket, string key, IReadOnlyDictionary<string, string> headers, CancellationToken cancellationToken)
    {
        var upload = new UploadRecord(Convert.ToBase64String(Guid.NewGuid().ToByteArray()).TrimEnd('=').Replace('+', '-').Replace('/', '_'),
            bucket, key, _time.GetUtcNow(), headers);
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = "INSERT INTO uploads (upload_id, bucket, key, initiated, headers) VALUES ($id, $bucket, $key, $initiated, $headers);";
        command.Parameters.AddWithValue("$id", upload.UploadId);
        command.Parameters.AddWithValue("$bucket", bucket);
        command.Parameters.AddWithValue("$key", key);
        command.Parameters.AddWithValue("$initiated", upload.Initiated.ToUnixTimeMilliseconds());
        command.Parameters.AddWithValue("$headers", SerializeHeaders(headers));
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        return upload;
    }

    public async Task<UploadRecord?> GetUploadAsync(string bucket, string key, string uploadId, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT upload_id, bucket, key, initiated, headers FROM uploads WHERE upload_id = $id AND bucket = $bucket AND key = $key;";
        command.Parameters.AddWithValue("$id", uploadId);
        command.Parameters.AddWithValue("$bucket", bucket);
        command.Parameters.AddWithValue("$key", key);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        return await reader.ReadAsync(cancellationToken).ConfigureAwait(false) ? ReadUpload(reader) : null;
    }

    public async Task<bool> PutPartAsync(string uploadId, PartRecord part, CancellationToken cancellationToken)
    {
        string? replaced = null;
        await using (var connection = await OpenAsync(cancellationToken).ConfigureAwait(false))
        {
            await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
            await using (var find = connection.CreateCommand())
            {
                find.Transaction = transaction;
                find.CommandText = "SELECT EXISTS (SELECT 1 FROM uploads WHERE upload_id = $id), (SELECT blob FROM parts WHERE upload_id = $id AND part_number = $n);";
                find.Parameters.AddWithValue("$id", uploadId);
                find.Parameters.AddWithValue("$n", part.PartNumber);
                await using var reader = await find.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
                if (reader.GetInt64(0) == 0)
                {
                    DeleteBlob(part.BlobId);
                    return false;
                }

                replaced = reader.IsDBNull(1) ? null : reader.GetString(1);
            }

            await using (var upsert = connection.CreateCommand())
            {
                upsert.Transaction = transaction;
                upsert.CommandText = """
                    INSERT INTO parts (upload_id, part_number, size, etag, last_modified, blob) VALUES ($id, $n, $size, $etag, $modified, $blob)
                    ON CONFLICT (upload_id, part_number) DO UPDATE SET size = excluded.size, etag = excluded.etag,
                        last_modified = excluded.last_modified, blob = excluded.blob;
                    """;
                upsert.Parameters.AddWithValue("$id", uploadId);
                upsert.Parameters.AddWithValue("$n", part.PartNumber);
                upsert.Parameters.AddWithValue("$size", part.Size);
                upsert.Parameters.AddWithValue("$etag", part.ETag);
                upsert.Parameters.AddWithValue("$modified", part.LastModified.ToUnixTimeMilliseconds());
                upsert.Parameters.AddWithValue("$blob", part.BlobId);
                await upsert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }

            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        }

        if (replaced is not null)
        {
            DeleteBlob(replaced);
        }

        return true;
    }

    public async Task<IReadOnlyList<PartRecord>> ListPartsAsync(string uploadId, int afterPartNumber, int max, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT part_number, size, etag, last_modified, blob FROM parts WHERE upload_id = $id AND part_number > $after ORDER BY part_number LIMIT $max;";
        command.Parameters.AddWithValue("$id", uploadId);
        command.Parameters.AddWithValue("$after", afterPartNumber);
        command.Parameters.AddWithValue("$max", max);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var parts = new List<PartRecord>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            parts.Add(new PartRecord(reader.GetInt32(0), reader.GetInt64(1), reader.GetString(2),
                DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(3)), reader.GetString(4)));
        }

        return parts;
    }

    public async Task<bool> AbortUploadAsync(string bucket, string key, string uploadId, CancellationToken cancellationToken)
    {
        var blobs = new List<string>();
        await using (var connection = await OpenAsync(cancellationToken).ConfigureAwait(false))
        {
            await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
            await using (var parts = connection.CreateCommand())
            {
                parts.Transaction = transaction;
                parts.CommandText = "SELECT blob FROM parts WHERE upload_id = $id;";
                parts.Parameters.AddWithValue("$id", uploadId);
                await using var reader = await parts.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    blobs.Add(reader.GetString(0));
                }
            }

            await using var remove = connection.CreateCommand();
            remove.Transaction = transaction;
            remove.CommandText = "DELETE FROM uploads WHERE upload_id = $id AND bucket = $bucket AND key = $key;";
            remove.Parameters.AddWithValue("$id", uploadId);
            remove.Parameters.AddWithValue("$bucket", bucket);
            remove.Parameters.AddWithValue("$key", key);
            if (await remove.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 0)
            {
                return false;
            }

            remove.CommandText = "DELETE FROM parts WHERE upload_id = $id;";
            await remove.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        }

        foreach (var blob in blobs)
        {
            DeleteBlob(blob);
        }

        return true;
    }

    public async Task<IReadOnlyList<UploadRecord>> ListUploadsAsync(string bucket, string prefix, string keyMarker, string uploadIdMarker, int max, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = """
            SELECT upload_id, bucket, key, initiated, headers FROM uploads
            WHERE bucket = $bucket AND key >= $prefix AND key < $upper AND (key > $marker OR (key = $marker AND upload_id > $idMarker))
            ORDER BY key, upload_id LIMIT $max;
            """;
        command.Parameters.AddWithValue("$bucket", bucket);
        command.Parameters.AddWithValue("$prefix", prefix);
        command.Parameters.AddWithValue("$upper", prefix + MaxCharacter);
        command.Parameters.AddWithValue("$marker", keyMarker);
        command.Parameters.AddWithValue("$idMarker", uploadIdMarker);
        command.Parameters.AddWithValue("$max", max);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var uploads = new List<UploadRecord>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            uploads.Add(ReadUpload(reader));
        }

        return uploads;
    }

    public async Task<IReadOnlyList<PendingNotification>> ListPendingNotificationsAsync(int max, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT id, target_kind, target_arn, payload, trace_header FROM pending_notifications ORDER BY id LIMIT $max;";
        command.Parameters.AddWithValue("$max", max);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var pending = new List<PendingNotification>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            pending.Add(new PendingNotification(reader.GetInt64(0), reader.GetString(1), reader.GetString(2), (byte[])reader.GetValue(3), reader.IsDBNull(4) ? null : reader.GetString(4)));
        }

        return pending;
    }

    public async Task DeletePendingNotificationAsync(long id, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = "DELETE FROM pending_notifications WHERE id = $id;";
        command.Parameters.AddWithValue("$id", id);
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    private static async Task AddNotificationsAsync(
        SqliteConnection connection, SqliteTransaction transaction, IReadOnlyList<(string Kind, string Arn, byte[] Payload, string? TraceHeader)> notifications, CancellationToken cancellationToken)
    {
        foreach (var (kind, arn, payload, traceHeader) in notifications)
        {
            await using var insert = connection.CreateCommand();
            insert.Transaction = transaction;
            insert.CommandText = "INSERT INTO pending_notifications (target_kind, target_arn, payload, trace_header) VALUES ($kind, $arn, $payload, $trace);";
            insert.Parameters.AddWithValue("$kind", kind);
            insert.Parameters.AddWithValue("$arn", arn);
            insert.Parameters.AddWithValue("$payload", payload);
            insert.Parameters.AddWithValue("$trace", (object?)traceHeader ?? DBNull.Value);
            await insert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    private static async Task<bool> BucketExistsAsync(SqliteConnection connection, SqliteTransaction transaction, string bucket, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "SELECT EXISTS (SELECT 1 FROM buckets WHERE name = $name);";
        command.Parameters.AddWithValue("$name", bucket);
        return Convert.ToInt64(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false), CultureInfo.InvariantCulture) != 0;
    }

    private static async Task<ObjectRecord?> GetObjectAsync(SqliteConnection connection, SqliteTransaction? transaction, string bucket, string key, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "SELECT key, size, etag, last_modified, headers, checksum_algorithm, checksum, blob, parts FROM objects WHERE bucket = $bucket AND key = $key;";
        command.Parameters.AddWithValue("$bucket", bucket);
        command.Parameters.AddWithValue("$key", key);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        return await reader.ReadAsync(cancellationToken).ConfigureAwait(false) ? ReadObject(reader, bucket, key, 1) : null;
    }

    private static ObjectRecord ReadObject(SqliteDataReader reader, string bucket, string key, int first) => new(
        bucket,
        key,
        reader.GetInt64(first),
        reader.GetString(first + 1),
        DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(first + 2)),
        DeserializeHeaders(reader.GetString(first + 3)),
        reader.IsDBNull(first + 4) ? null : reader.GetString(first + 4),
        reader.IsDBNull(first + 5) ? null : reader.GetString(first + 5),
        reader.GetString(first + 6))
    {
        Parts = reader.IsDBNull(first + 7) ? null : ObjectParts.Parse(reader.GetString(first + 7)),
    };

    private static BucketRecord ReadBucket(SqliteDataReader reader) => new(
        reader.GetString(0), reader.GetString(1), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(2)), reader.IsDBNull(3) ? null : reader.GetString(3))
    {
        Policy = reader.IsDBNull(4) ? null : reader.GetString(4),
    };

    private static UploadRecord ReadUpload(SqliteDataReader reader) => new(
        reader.GetString(0), reader.GetString(1), reader.GetString(2), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(3)), DeserializeHeaders(reader.GetString(4)));

    private static string SerializeHeaders(IReadOnlyDictionary<string, string> headers) =>
        JsonSerializer.Serialize(new Dictionary<string, string>(headers, StringComparer.OrdinalIgnoreCase), BucketsJsonContext.Default.DictionaryStringString);

    private static Dictionary<string, string> DeserializeHeaders(string json) =>
        new(JsonSerializer.Deserialize(json, BucketsJsonContext.Default.DictionaryStringString) ?? [], StringComparer.OrdinalIgnoreCase);

    private async Task<SqliteConnection> OpenAsync(CancellationToken cancellationToken)
    {
        var connection = await _database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var pragma = connection.CreateCommand();
        pragma.CommandText = "PRAGMA synchronous=FULL;";
        await pragma.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        return connection;
    }

    /// <summary>
    /// Deletes the blobs no object or part names: left by a crash between a blob's rename and its row's commit, or
    /// between an overwrite's commit and the old blob's deletion. Runs once, before the store serves anything.
    /// </summary>
    private void RemoveUnreferencedBlobs()
    {
        var referenced = new HashSet<string>(StringComparer.Ordinal);
        using (var connection = OpenAsync(CancellationToken.None).GetAwaiter().GetResult())
        using (var command = connection.CreateCommand())
        {
            command.CommandText = "SELECT blob FROM objects UNION ALL SELECT blob FROM parts;";
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                referenced.Add(reader.GetString(0));
            }
        }

        foreach (var file in Directory.EnumerateFiles(_blobs, "*", SearchOption.AllDirectories))
        {
            if (!referenced.Contains(Path.GetFileName(file)))
            {
                File.Delete(file);
            }
        }
    }

    /// <summary>
    /// Writes a new blob: <paramref name="fill"/> copies its bytes into the temporary file through the buffer it is
    /// given and returns the blob's length (null abandons it); the file is then fsynced and renamed into place under a
    /// fresh id, so a crash never leaves a torn blob. An abandoned or failed blob leaves no file behind.
    /// </summary>
    private async Task<StagedBlob?> WriteBlobAsync(Func<FileStream, Memory<byte>, Task<long?>> fill)
    {
        var id = Guid.NewGuid().ToString("N");
        var temporary = Path.Combine(_temporary, id);
        var buffer = ArrayPool<byte>.Shared.Rent(CopyBufferBytes);
        var kept = false;
        try
        {
            long length;
            await using (var file = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, 0, FileOptions.Asynchronous))
            {
                if (await fill(file, buffer.AsMemory(0, CopyBufferBytes)).ConfigureAwait(false) is not { } filled)
                {
                    return null;
                }

                length = filled;
                file.Flush(flushToDisk: true);
            }

            Publish(temporary, id);
            kept = true;
            return new StagedBlob(id, length);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
            if (!kept)
            {
                File.Delete(temporary);
            }
        }
    }

    private static async Task WriteBlockAsync(FileStream file, Memory<byte> block, Action<ReadOnlyMemory<byte>> observe, CancellationToken cancellationToken)
    {
        observe(block);
        await file.WriteAsync(block, cancellationToken).ConfigureAwait(false);
    }

    private void Publish(string temporary, string id)
    {
        var target = BlobPath(id);
        File.Move(temporary, target);
        DirectorySync.Flush(Path.GetDirectoryName(target)!);
    }

    private void DeleteBlob(string blobId)
    {
        try
        {
            File.Delete(BlobPath(blobId));
        }
        catch (IOException)
        {
            // An unreferenced blob left behind wastes space, nothing else.
        }
    }
}
