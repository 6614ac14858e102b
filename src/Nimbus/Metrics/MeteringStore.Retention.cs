using Microsoft.Data.Sqlite;

namespace Nimbus.Metrics;

// Retention of metrics.db (MetricsOptions.MeteringRetentionDays, MetricSampleRetentionDays): the writer loop deletes
// expired rows on its own connection between batches, so deletes never contend with its inserts.
internal sealed partial class MeteringStore
{
    /// <summary>How often the writer loop looks for expired rows.</summary>
    internal static readonly TimeSpan RetentionSweepInterval = TimeSpan.FromMinutes(1);

    // invocations and async_samples have no index on time: rows arrive in (nearly) time order, so each step looks at
    // the oldest rows by rowid only, and a sweep stops at the first step that finds a row still kept. A sweep deletes
    // at most MaxChunks × ChunkRows rows of each table, a chunk per transaction, so a large backlog never stalls the
    // writer for long; the next sweep goes on.
    private const int ChunkRows = 5_000;
    private const int MaxChunks = 100;

    private DateTimeOffset _nextSweep = DateTimeOffset.MinValue;

    /// <summary>Runs a sweep when one is due; only the writer loop calls it.</summary>
    private void SweepIfDue()
    {
        var now = time.GetUtcNow();
        if (now < _nextSweep)
        {
            return;
        }

        _nextSweep = now + RetentionSweepInterval;
        try
        {
            var deleted = SweepRetention(now);
            if (deleted > 0)
            {
                Log.ExpiredRowsDeleted(logger, deleted, database.Path);
            }
        }
        catch (SqliteException e)
        {
            _writer?.Dispose();
            _writer = null;
            Log.RetentionSweepFailed(logger, database.Path, e);
        }
    }

    /// <summary>
    /// Deletes invocations and rollups older than <see cref="MetricsOptions.MeteringRetentionDays"/> and AsyncEventAge
    /// samples older than <see cref="MetricsOptions.MetricSampleRetentionDays"/>; returns how many rows went.
    /// </summary>
    internal long SweepRetention(DateTimeOffset now)
    {
        var metering = now.AddDays(-_options.MeteringRetentionDays);
        var samples = now.AddDays(-_options.MetricSampleRetentionDays);
        _writer ??= new Writer(database);
        var connection = _writer.Connection;
        var deleted = DeleteOldest(connection, "invocations", "start_ms", metering.ToUnixTimeMilliseconds())
            + DeleteOldest(connection, "async_samples", "at_ms", samples.ToUnixTimeMilliseconds());

        // The rollups' primary keys start with the minute: a range delete.
        using var transaction = connection.BeginTransaction();
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "DELETE FROM minute_rollup WHERE minute < $cutoff; DELETE FROM async_rollup WHERE minute < $cutoff;";
        command.Parameters.AddWithValue("$cutoff", MinuteOf(metering));
        deleted += command.ExecuteNonQuery();
        transaction.Commit();
        return deleted;
    }

    private static long DeleteOldest(SqliteConnection connection, string table, string timeColumn, long cutoffMs)
    {
        long deleted = 0;
        for (var chunk = 0; chunk < MaxChunks; chunk++)
        {
            using var transaction = connection.BeginTransaction();
            using var command = connection.CreateCommand();
            command.Transaction = transaction;
            command.CommandText = $"""
                DELETE FROM {table} WHERE rowid IN (
                    SELECT rowid FROM (SELECT rowid, {timeColumn} AS t FROM {table} ORDER BY rowid LIMIT {ChunkRows}) WHERE t < $cutoff);
                """;
            command.Parameters.AddWithValue("$cutoff", cutoffMs);
            var rows = command.ExecuteNonQuery();
            transaction.Commit();
            deleted += rows;
            if (rows < ChunkRows)
            {
                break;
            }
        }

        return deleted;
    }
}
