namespace Nimbus.Storage;

/// <summary>Schema of events.db (asynchronous invocations). Append only: the index + 1 is the schema version.</summary>
internal static class EventMigrations
{
    public static readonly IReadOnlyList<string> All =
    [
        // 1: accepted asynchronous events, one row from the 202 until the event's final outcome, with its retry
        // state; and the event invoke configs (PutFunctionEventInvokeConfig), per function and qualifier, as JSON
        // pinned by a golden test. Times are Unix milliseconds.
        """
        CREATE TABLE async_events (
            request_id TEXT NOT NULL PRIMARY KEY,
            function_name TEXT NOT NULL,
            qualifier TEXT,
            payload BLOB NOT NULL,
            accepted_at INTEGER NOT NULL,
            invoke_count INTEGER NOT NULL,
            throttle_count INTEGER NOT NULL,
            next_attempt_at INTEGER NOT NULL
        ) WITHOUT ROWID;
        CREATE TABLE event_invoke_configs (
            function_name TEXT NOT NULL,
            qualifier TEXT NOT NULL,
            record TEXT NOT NULL,
            PRIMARY KEY (function_name, qualifier)
        ) WITHOUT ROWID;
        """,

        // 2: the event's X-Ray trace header (Root and Sampled, the same on every attempt) and the W3C traceparent
        // of the span that accepted it.
        """
        ALTER TABLE async_events ADD COLUMN trace_header TEXT;
        ALTER TABLE async_events ADD COLUMN trace_parent TEXT;
        """,
    ];
}
