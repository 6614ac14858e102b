using Microsoft.Data.Sqlite;

namespace Nimbus.Metrics;

// Each sample of the async metrics that have percentiles (LambdaMetricCatalog.KeepsEachSample: AsyncEventAge), in
// metrics.db's async_samples (migration 3), written in the same transaction as their per-minute rollup.
internal sealed partial class MeteringStore
{
    private static void InsertAsyncSamples(SqliteConnection connection, SqliteTransaction transaction, IReadOnlyList<AsyncSample> samples)
    {
        // Only single samples (one event's attempt) are kept; gauges arrive merged and are never kept.
        var kept = samples.Where(s => LambdaMetricCatalog.KeepsEachSample(s.Metric) && s.Value.SampleCount == 1).ToList();
        if (kept.Count == 0)
        {
            return;
        }

        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = """
            INSERT INTO async_samples (at_ms, function_name, resource, metric, value)
            VALUES ($at, $fn, $res, $metric, $value);
            """;
        var at = command.Parameters.Add("$at", SqliteType.Integer);
        var fn = command.Parameters.Add("$fn", SqliteType.Text);
        var res = command.Parameters.Add("$res", SqliteType.Text);
        var metric = command.Parameters.Add("$metric", SqliteType.Integer);
        var value = command.Parameters.Add("$value", SqliteType.Real);
        foreach (var sample in kept)
        {
            at.Value = sample.At.ToUnixTimeMilliseconds();
            fn.Value = sample.FunctionName;
            res.Value = sample.Resource;
            metric.Value = sample.Metric;
            value.Value = sample.Value.Sum;
            command.ExecuteNonQuery();
        }
    }

    /// <summary>
    /// Each kept sample of an async metric (its code), <paramref name="fromMs"/> ≤ time &lt; <paramref name="toMs"/>
    /// (unix milliseconds); the filter's ExecutedVersion matches nothing (these metrics have no such dimension).
    /// </summary>
    public async Task<List<(long AtMs, double Value)>> ReadAsyncSamplesAsync(int metric, long fromMs, long toMs, SeriesFilter filter, CancellationToken cancellationToken)
    {
        var samples = new List<(long, double)>();
        if (filter.ExecutedVersion is not null)
        {
            return samples;
        }

        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = $"""
            SELECT at_ms, value FROM async_samples
            WHERE metric = $metric AND at_ms >= $from AND at_ms < $to{Where(command, filter)};
            """;
        command.Parameters.AddWithValue("$metric", metric);
        command.Parameters.AddWithValue("$from", fromMs);
        command.Parameters.AddWithValue("$to", toMs);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            samples.Add((reader.GetInt64(0), reader.GetDouble(1)));
        }

        return samples;
    }

    /// <summary>
    /// Every async metric (its code) or gauge series with data since <paramref name="fromMinute"/>, for ListMetrics;
    /// the account-wide gauge's rows have an empty function name.
    /// </summary>
    public async Task<List<(int Metric, string FunctionName, string Resource)>> ListSampledSeriesAsync(long fromMinute, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT DISTINCT metric, function_name, resource FROM async_rollup WHERE minute >= $from ORDER BY 1, 2, 3;";
        command.Parameters.AddWithValue("$from", fromMinute);
        var series = new List<(int, string, string)>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            series.Add((reader.GetInt32(0), reader.GetString(1), reader.GetString(2)));
        }

        return series;
    }
}
