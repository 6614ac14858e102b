namespace Nimbus.Storage;

/// <summary>Schema of buckets.db (the S3-compatible object store). Append only: the index + 1 is the schema version.</summary>
internal static class BucketMigrations
{
    public static readonly IReadOnlyList<string> All =
    [
        // 1: buckets (notification configuration as the XML we serialize), objects (key order = S3's UTF-8 binary
        // order, which SQLite's BINARY collation on UTF-8 text gives), multipart uploads and their parts, and the
        // bucket notifications accepted with an object change and not yet handed to their target. Object and part
        // bytes live in files under buckets/blobs/, named by blob id; headers is a JSON object of the response
        // headers replayed on GET (Content-Type, Cache-Control, x-amz-meta-*...). Times are Unix milliseconds.
        """
        CREATE TABLE buckets (
            name TEXT NOT NULL PRIMARY KEY,
            region TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            notification TEXT
        ) WITHOUT ROWID;
        CREATE TABLE objects (
            bucket TEXT NOT NULL,
            key TEXT NOT NULL,
            size INTEGER NOT NULL,
            etag TEXT NOT NULL,
            last_modified INTEGER NOT NULL,
            headers TEXT NOT NULL,
            checksum_algorithm TEXT,
            checksum TEXT,
            blob TEXT NOT NULL,
            PRIMARY KEY (bucket, key)
        ) WITHOUT ROWID;
        CREATE TABLE uploads (
            upload_id TEXT NOT NULL PRIMARY KEY,
            bucket TEXT NOT NULL,
            key TEXT NOT NULL,
            initiated INTEGER NOT NULL,
            headers TEXT NOT NULL
        ) WITHOUT ROWID;
        CREATE INDEX uploads_by_key ON uploads (bucket, key, upload_id);
        CREATE TABLE parts (
            upload_id TEXT NOT NULL,
            part_number INTEGER NOT NULL,
            size INTEGER NOT NULL,
            etag TEXT NOT NULL,
            last_modified INTEGER NOT NULL,
            blob TEXT NOT NULL,
            PRIMARY KEY (upload_id, part_number)
        ) WITHOUT ROWID;
        CREATE TABLE pending_notifications (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            target_kind TEXT NOT NULL,
            target_arn TEXT NOT NULL,
            payload BLOB NOT NULL
        );
        """,

        // 2: the Root and Sampled of the S3 request's X-Amzn-Trace-Id, carried into the invocation a notification
        // starts (null: the request had none).
        """
        ALTER TABLE pending_notifications ADD COLUMN trace_header TEXT;
        """,

        // 3: the bucket policy (PutBucketPolicy's JSON document as sent; null: none).
        """
        ALTER TABLE buckets ADD COLUMN policy TEXT;
        """,

        // 4: the parts of an object CompleteMultipartUpload assembled, for GetObject/HeadObject ?partNumber=: each
        // part's number and size in bytes, in order, as "number:size" joined by commas (ObjectParts.Format). Null: a
        // single-part object, and every object stored before this migration (its boundaries were never kept).
        """
        ALTER TABLE objects ADD COLUMN parts TEXT;
        """,
    ];
}
