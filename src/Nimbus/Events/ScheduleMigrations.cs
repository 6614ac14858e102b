namespace Nimbus.Events;

/// <summary>Schema of schedules.db. Append only: the index + 1 is the schema version.</summary>
internal static class ScheduleMigrations
{
    public static readonly IReadOnlyList<string> All =
    [
        // 1: schedule groups other than "default", and schedules as JSON (ScheduleRecord, pinned by a golden test)
        // with the scheduled time of the last run fired into the async queue. Times are Unix milliseconds.
        """
        CREATE TABLE schedule_groups (
            name TEXT NOT NULL PRIMARY KEY,
            created_at INTEGER NOT NULL,
            modified_at INTEGER NOT NULL
        ) WITHOUT ROWID;
        CREATE TABLE schedules (
            group_name TEXT NOT NULL,
            name TEXT NOT NULL,
            record TEXT NOT NULL,
            last_fired INTEGER,
            PRIMARY KEY (group_name, name)
        ) WITHOUT ROWID;
        """,

        // 2: tags of schedule groups (TagResource, CreateScheduleGroup's Tags), deleted with their group.
        """
        CREATE TABLE schedule_group_tags (
            group_name TEXT NOT NULL,
            key TEXT NOT NULL,
            value TEXT NOT NULL,
            PRIMARY KEY (group_name, key)
        ) WITHOUT ROWID;
        """,
    ];
}
