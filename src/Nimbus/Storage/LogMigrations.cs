namespace Nimbus.Storage;

/// <summary>Schema of logs.db. Append only: the index + 1 is the schema version.</summary>
internal static class LogMigrations
{
    public static readonly IReadOnlyList<string> All =
    [
        // 1: one row per log event; the rowid is the stable event id clients de-duplicate on.
        """
        CREATE TABLE log_events (
            id INTEGER PRIMARY KEY,
            log_group TEXT NOT NULL,
            log_stream TEXT NOT NULL,
            timestamp INTEGER NOT NULL,
            ingestion_time INTEGER NOT NULL,
            message TEXT NOT NULL
        );
        CREATE INDEX log_events_by_stream ON log_events (log_group, log_stream, timestamp);
        CREATE INDEX log_events_by_group_time ON log_events (log_group, timestamp);
        """,
    ];
}
