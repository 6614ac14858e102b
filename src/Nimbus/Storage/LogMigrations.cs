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

        // 2: the CloudWatch Logs API's groups and streams. A stream's first/last event and stored bytes are kept up
        // to date by every write, so DescribeLogStreams never scans events. Existing events get their rows here.
        """
        CREATE TABLE log_groups (
            name TEXT PRIMARY KEY,
            creation_time INTEGER NOT NULL,
            retention_days INTEGER
        ) WITHOUT ROWID;
        CREATE TABLE log_streams (
            log_group TEXT NOT NULL,
            name TEXT NOT NULL,
            creation_time INTEGER NOT NULL,
            first_event INTEGER,
            last_event INTEGER,
            last_ingestion INTEGER,
            stored_bytes INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (log_group, name)
        ) WITHOUT ROWID;
        CREATE INDEX log_streams_by_last_event ON log_streams (log_group, last_event, name);
        INSERT INTO log_groups (name, creation_time)
            SELECT log_group, MIN(ingestion_time) FROM log_events GROUP BY log_group;
        INSERT INTO log_streams (log_group, name, creation_time, first_event, last_event, last_ingestion, stored_bytes)
            SELECT log_group, log_stream, MIN(ingestion_time), MIN(timestamp), MAX(timestamp), MAX(ingestion_time), SUM(length(CAST(message AS BLOB))) + 26 * COUNT(*)
            FROM log_events GROUP BY log_group, log_stream;
        """,
    ];
}
