namespace Nimbus.Storage;

/// <summary>Schema of queues.db (the SQS-compatible queues). Append only: the index + 1 is the schema version.</summary>
internal static class QueueMigrations
{
    public static readonly IReadOnlyList<string> All =
    [
        // 1: queues with their settable attributes and tags (JSON objects of strings), and messages with their
        // delivery state. seq orders messages (FIFO order, SequenceNumber). Times are Unix milliseconds.
        """
        CREATE TABLE queues (
            name TEXT NOT NULL PRIMARY KEY,
            created_at INTEGER NOT NULL,
            modified_at INTEGER NOT NULL,
            attributes TEXT NOT NULL,
            tags TEXT NOT NULL
        ) WITHOUT ROWID;
        CREATE TABLE messages (
            seq INTEGER NOT NULL PRIMARY KEY,
            queue_name TEXT NOT NULL,
            message_id TEXT NOT NULL,
            body TEXT NOT NULL,
            attributes TEXT,
            sent_at INTEGER NOT NULL,
            visible_at INTEGER NOT NULL,
            receive_count INTEGER NOT NULL,
            first_received_at INTEGER,
            receipt_token TEXT,
            group_id TEXT,
            deduplication_id TEXT,
            trace_header TEXT,
            dead_letter_source_arn TEXT
        );
        CREATE INDEX messages_by_queue ON messages (queue_name, seq);
        """,
    ];
}
