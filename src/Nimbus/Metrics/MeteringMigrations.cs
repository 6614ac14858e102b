namespace Nimbus.Metrics;

/// <summary>
/// Schema of metrics.db: every invocation (the meter) and its per-minute rollup (what the CloudWatch API and the
/// usage report read); the async metrics' per-minute rollup, and (3) each AsyncEventAge sample for its percentiles. Append-only: never edit a shipped migration, add one.
/// </summary>
internal static class MeteringMigrations
{
    public static readonly IReadOnlyList<string> All =
    [
        """
        CREATE TABLE invocations (
            request_id TEXT NOT NULL,
            function_name TEXT NOT NULL,
            resource TEXT NOT NULL,
            executed_version TEXT NOT NULL,
            start_ms INTEGER NOT NULL,
            duration_ms REAL NOT NULL,
            billed_ms INTEGER NOT NULL,
            memory_mb INTEGER NOT NULL,
            max_memory_mb INTEGER NOT NULL,
            init_ms REAL,
            cold_start INTEGER NOT NULL,
            outcome INTEGER NOT NULL,
            concurrency INTEGER NOT NULL);
        CREATE INDEX invocations_by_function ON invocations (function_name, start_ms);
        CREATE TABLE minute_rollup (
            minute INTEGER NOT NULL,
            function_name TEXT NOT NULL,
            resource TEXT NOT NULL,
            executed_version TEXT NOT NULL,
            invocations INTEGER NOT NULL,
            errors INTEGER NOT NULL,
            timeouts INTEGER NOT NULL,
            throttles INTEGER NOT NULL,
            cold_starts INTEGER NOT NULL,
            duration_sum REAL NOT NULL,
            duration_min REAL,
            duration_max REAL,
            init_sum REAL NOT NULL,
            billed_ms INTEGER NOT NULL,
            mb_ms INTEGER NOT NULL,
            concurrency_sum INTEGER NOT NULL,
            concurrency_min INTEGER,
            concurrency_max INTEGER,
            PRIMARY KEY (minute, function_name, resource, executed_version)) WITHOUT ROWID;
        CREATE INDEX minute_rollup_by_function ON minute_rollup (function_name, minute);
        """,
        """
        CREATE TABLE async_rollup (
            minute INTEGER NOT NULL,
            function_name TEXT NOT NULL,
            resource TEXT NOT NULL,
            metric INTEGER NOT NULL,
            samples INTEGER NOT NULL,
            sum REAL NOT NULL,
            min REAL NOT NULL,
            max REAL NOT NULL,
            PRIMARY KEY (minute, function_name, resource, metric)) WITHOUT ROWID;
        """,
        """
        CREATE TABLE async_samples (
            at_ms INTEGER NOT NULL,
            function_name TEXT NOT NULL,
            resource TEXT NOT NULL,
            metric INTEGER NOT NULL,
            value REAL NOT NULL);
        CREATE INDEX async_samples_by_function ON async_samples (metric, function_name, at_ms);
        """,
    ];
}
