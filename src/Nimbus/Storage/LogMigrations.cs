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

        // 3: integer ids. Groups and streams get a rowid; events name their stream and group by it, so the two event
        // indexes hold (integer, timestamp, rowid) instead of repeating about 70 bytes of group and stream text per
        // event: the writer's per-line cost and its WAL pages shrink. A row holds event_count consecutive events of
        // one stream with one timestamp (END and REPORT, written back to back, share one): their messages joined by
        // U+001E (only messages without one are joined), their event ids id - event_count + 1 .. id. Event ids of
        // existing events are kept. The view log_events keeps the old shape, one row per event, for SQL readers.
        """
        ALTER TABLE log_groups RENAME TO log_groups_v2;
        CREATE TABLE log_groups (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            creation_time INTEGER NOT NULL,
            retention_days INTEGER
        );
        INSERT INTO log_groups (name, creation_time, retention_days)
            SELECT name, creation_time, retention_days FROM log_groups_v2 ORDER BY name;
        INSERT INTO log_groups (name, creation_time)
            SELECT log_group, MIN(ingestion_time) FROM log_events WHERE log_group NOT IN (SELECT name FROM log_groups) GROUP BY log_group;
        DROP TABLE log_groups_v2;

        ALTER TABLE log_streams RENAME TO log_streams_v2;
        DROP INDEX log_streams_by_last_event;
        CREATE TABLE log_streams (
            id INTEGER PRIMARY KEY,
            group_id INTEGER NOT NULL,
            name TEXT NOT NULL,
            creation_time INTEGER NOT NULL,
            first_event INTEGER,
            last_event INTEGER,
            last_ingestion INTEGER,
            stored_bytes INTEGER NOT NULL DEFAULT 0,
            UNIQUE (group_id, name)
        );
        CREATE INDEX log_streams_by_last_event ON log_streams (group_id, last_event, name);
        INSERT INTO log_streams (group_id, name, creation_time, first_event, last_event, last_ingestion, stored_bytes)
            SELECT g.id, s.name, s.creation_time, s.first_event, s.last_event, s.last_ingestion, s.stored_bytes
            FROM log_streams_v2 s JOIN log_groups g ON g.name = s.log_group ORDER BY s.log_group, s.name;
        INSERT INTO log_streams (group_id, name, creation_time, first_event, last_event, last_ingestion, stored_bytes)
            SELECT g.id, e.log_stream, MIN(e.ingestion_time), MIN(e.timestamp), MAX(e.timestamp), MAX(e.ingestion_time),
                   SUM(length(CAST(e.message AS BLOB))) + 26 * COUNT(*)
            FROM log_events e JOIN log_groups g ON g.name = e.log_group
            WHERE NOT EXISTS (SELECT 1 FROM log_streams s WHERE s.group_id = g.id AND s.name = e.log_stream)
            GROUP BY g.id, e.log_stream;
        DROP TABLE log_streams_v2;

        CREATE TABLE events (
            id INTEGER PRIMARY KEY,
            stream_id INTEGER NOT NULL,
            group_id INTEGER NOT NULL,
            timestamp INTEGER NOT NULL,
            ingestion_time INTEGER NOT NULL,
            message TEXT NOT NULL,
            event_count INTEGER NOT NULL DEFAULT 1
        );
        INSERT INTO events (id, stream_id, group_id, timestamp, ingestion_time, message)
            SELECT e.id, s.id, g.id, e.timestamp, e.ingestion_time, e.message
            FROM log_events e JOIN log_groups g ON g.name = e.log_group JOIN log_streams s ON s.group_id = g.id AND s.name = e.log_stream
            ORDER BY e.id;
        DROP TABLE log_events;
        CREATE INDEX events_by_stream ON events (stream_id, timestamp);
        CREATE INDEX events_by_group_time ON events (group_id, timestamp);
        CREATE VIEW log_events AS
            WITH RECURSIVE parts (id, stream_id, group_id, timestamp, ingestion_time, message, rest, remaining) AS (
                SELECT id - event_count + 1, stream_id, group_id, timestamp, ingestion_time,
                       CASE WHEN event_count = 1 THEN message ELSE substr(message, 1, instr(message, char(30)) - 1) END,
                       CASE WHEN event_count = 1 THEN NULL ELSE substr(message, instr(message, char(30)) + 1) END,
                       event_count - 1
                FROM events
                UNION ALL
                SELECT id + 1, stream_id, group_id, timestamp, ingestion_time,
                       CASE WHEN remaining = 1 THEN rest ELSE substr(rest, 1, instr(rest, char(30)) - 1) END,
                       CASE WHEN remaining = 1 THEN NULL ELSE substr(rest, instr(rest, char(30)) + 1) END,
                       remaining - 1
                FROM parts WHERE remaining > 0)
            SELECT p.id, g.name AS log_group, s.name AS log_stream, p.timestamp, p.ingestion_time, p.message
            FROM parts p JOIN log_streams s ON s.id = p.stream_id JOIN log_groups g ON g.id = p.group_id;
        """,

        // 4: event ids are never reused. Without AUTOINCREMENT a new row took MAX(id) + 1, so once the retention sweep
        // or a DeleteLogStream removed a table's newest rows, new events took ids clients had already seen (aws logs
        // tail de-duplicates on them and dropped the new lines). sqlite_sequence now keeps the highest id ever
        // assigned; existing events keep their ids. The view log_events is the same as in 3.
        """
        DROP VIEW log_events;
        CREATE TABLE events_v4 (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            stream_id INTEGER NOT NULL,
            group_id INTEGER NOT NULL,
            timestamp INTEGER NOT NULL,
            ingestion_time INTEGER NOT NULL,
            message TEXT NOT NULL,
            event_count INTEGER NOT NULL DEFAULT 1
        );
        INSERT INTO events_v4 (id, stream_id, group_id, timestamp, ingestion_time, message, event_count)
            SELECT id, stream_id, group_id, timestamp, ingestion_time, message, event_count FROM events ORDER BY id;
        DROP TABLE events;
        ALTER TABLE events_v4 RENAME TO events;
        CREATE INDEX events_by_stream ON events (stream_id, timestamp);
        CREATE INDEX events_by_group_time ON events (group_id, timestamp);
        CREATE VIEW log_events AS
            WITH RECURSIVE parts (id, stream_id, group_id, timestamp, ingestion_time, message, rest, remaining) AS (
                SELECT id - event_count + 1, stream_id, group_id, timestamp, ingestion_time,
                       CASE WHEN event_count = 1 THEN message ELSE substr(message, 1, instr(message, char(30)) - 1) END,
                       CASE WHEN event_count = 1 THEN NULL ELSE substr(message, instr(message, char(30)) + 1) END,
                       event_count - 1
                FROM events
                UNION ALL
                SELECT id + 1, stream_id, group_id, timestamp, ingestion_time,
                       CASE WHEN remaining = 1 THEN rest ELSE substr(rest, 1, instr(rest, char(30)) - 1) END,
                       CASE WHEN remaining = 1 THEN NULL ELSE substr(rest, instr(rest, char(30)) + 1) END,
                       remaining - 1
                FROM parts WHERE remaining > 0)
            SELECT p.id, g.name AS log_group, s.name AS log_stream, p.timestamp, p.ingestion_time, p.message
            FROM parts p JOIN log_streams s ON s.id = p.stream_id JOIN log_groups g ON g.id = p.group_id;
        """,
    ];
}
