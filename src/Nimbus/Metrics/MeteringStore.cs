using System.Threading.Channels;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Nimbus.Invocation;
using Nimbus.Storage;

namespace Nimbus.Metrics;

/// <summary>Which rows a query covers: null parts match every value.</summary>
internal sealed record SeriesFilter(string? FunctionName, string? Resource, string? ExecutedVersion);

/// <summary>
/// The meter (metrics.db): every invocation, and its per-minute rollup, written off the invoke path. The invoker's
/// observer call only writes to a bounded channel; one background writer commits batches (the rows and the rollup
/// upserts in one transaction, so the two never disagree). Shutdown commits everything queued.
/// </summary>
internal sealed partial class MeteringStore(
    SqliteDatabase database,
    IOptions<MetricsOptions> options,
    TimeProvider time,
    ILogger<MeteringStore> logger) : BackgroundService, IInvocationObserver, IAsyncEventObserver
{
    public const int Capacity = 65_536;
    private const int BatchSize = 2_048;

    /// <summary>How long records gather before a batch that is not full is committed: one WAL sync per window.</summary>
    internal static readonly TimeSpan BatchWindow = TimeSpan.FromMilliseconds(100);

    private readonly MetricsOptions _options = options.Value;
    private readonly bool _enabled = options.Value.Metering;
    private readonly Channel<MeterEntry> _pending = Channel.CreateBounded<MeterEntry>(new BoundedChannelOptions(Capacity)
    {
        FullMode = BoundedChannelFullMode.Wait,
        SingleReader = true,
    });

    /// <summary>The background writer's connection and insert; only the writer loop touches it.</summary>
    private Writer? _writer;

    public bool Enabled => _enabled;

    public string Path => database.Path;

    public void OnCompleted(in InvocationRecord record)
    {
        if (!_enabled)
        {
            return;
        }

        // A full channel (the writer behind by 65,536 records) parks the record on a waiting write instead of
        // blocking the invocation or dropping it; at most one such write per invocation in flight.
        var entry = new MeterEntry(record, null);
        if (!_pending.Writer.TryWrite(entry))
        {
            _ = _pending.Writer.WriteAsync(entry).AsTask();
        }
    }

    public void OnAsyncEvent(AsyncEventMetric metric, string functionName, string? qualifier, double value)
    {
        if (!_enabled)
        {
            return;
        }

        var resource = qualifier is null ? functionName : $"{functionName}:{qualifier}";
        var entry = new MeterEntry(default, new AsyncSample(time.GetUtcNow(), (int)metric, functionName, resource, new Aggregate(1, value, value, value)));
        if (!_pending.Writer.TryWrite(entry))
        {
            _ = _pending.Writer.WriteAsync(entry).AsTask();
        }
    }

    /// <summary>
    /// Per-minute statistics of sampled gauges (<see cref="LambdaMetricCatalog.GaugeMetrics"/> codes), merged into
    /// the same table as the async metrics.
    /// </summary>
    public void OnGaugeSamples(IEnumerable<AsyncSample> samples)
    {
        if (!_enabled)
        {
            return;
        }

        foreach (var sample in samples)
        {
            var entry = new MeterEntry(default, sample);
            if (!_pending.Writer.TryWrite(entry))
            {
                _ = _pending.Writer.WriteAsync(entry).AsTask();
            }
        }
    }

    /// <summary>
    /// The writer loop on a thread of its own (<see cref="BatchingThread{T}"/>): the records of a window, up to
    /// <see cref="BatchSize"/>, in one transaction, and the retention sweep when one is due; on stop, everything queued.
    /// </summary>
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!_enabled)
        {
            return;
        }

        var invocations = new List<InvocationRecord>(BatchSize);
        var samples = new List<AsyncSample>();
        void WriteEntries(List<MeterEntry> entries)
        {
            foreach (var entry in entries)
            {
                if (entry.Sample is { } sample)
                {
                    samples.Add(sample);
                }
                else
                {
                    invocations.Add(entry.Invocation);
                }
            }

            Write(invocations, samples);
            invocations.Clear();
            samples.Clear();
        }

        try
        {
            await new BatchingThread<MeterEntry>("nimbus-meter-writer", _pending.Reader, BatchSize, BatchWindow, WriteEntries, SweepIfDue)
                .Run(stoppingToken).ConfigureAwait(false);
        }
        finally
        {
            // The writer thread has ended: nothing else touches the connection.
            _writer?.Dispose();
            _writer = null;
        }
    }

    internal Task WriteAsync(IReadOnlyList<InvocationRecord> batch) => WriteAsync(batch, []);

    /// <summary>Commits one batch (synchronously); for tests and bench/writer_cpu_harness.cs.</summary>
    internal Task WriteAsync(IReadOnlyList<InvocationRecord> batch, IReadOnlyList<AsyncSample> samples)
    {
        Write(batch, samples);
        return Task.CompletedTask;
    }

    /// <summary>Commits one batch: the rows, their rollups and the async samples in one transaction; only the writer loop calls it.</summary>
    internal void Write(IReadOnlyList<InvocationRecord> batch, IReadOnlyList<AsyncSample> samples)
    {
        var rollups = new Dictionary<(long, string, string, string), MinuteRollup>();
        foreach (var record in batch)
        {
            var minute = MinuteOf(record.Start);
            var key = (minute, record.FunctionName, record.Resource, record.ExecutedVersion);
            if (!rollups.TryGetValue(key, out var rollup))
            {
                rollup = new MinuteRollup(minute, record.FunctionName, record.Resource, record.ExecutedVersion);
                rollups.Add(key, rollup);
            }

            rollup.Add(record);
        }

        try
        {
            _writer ??= new Writer(database);
            var connection = _writer.Connection;
            using var transaction = connection.BeginTransaction();
            _writer.InsertRows(batch);
            _writer.UpsertRollups(rollups.Values);
            UpsertAsyncRollups(connection, transaction, samples);
            InsertAsyncSamples(connection, transaction, samples);
            transaction.Commit();
        }
        catch (SqliteException e)
        {
            // The next batch starts over on a fresh connection.
            _writer?.Dispose();
            _writer = null;
            Log.BatchFailed(logger, batch.Count + samples.Count, database.Path, e);
        }
    }

    /// <summary>
    /// The writer loop's own connection to metrics.db (<c>synchronous=FULL</c>: these rows are what usage is billed
    /// from, so a committed batch survives power loss) and the per-row insert and rollup upsert prepared on it once,
    /// bound by position.
    /// </summary>
    private sealed class Writer : IDisposable
    {
        private const string InsertSql = """
            INSERT INTO invocations (request_id, function_name, resource, executed_version, start_ms, duration_ms, billed_ms,
                memory_mb, max_memory_mb, init_ms, cold_start, outcome, concurrency)
            VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13);
            """;

        // In DO UPDATE, bare column names are the stored row's values, excluded.* the new ones.
        private const string UpsertRollupSql = """
            INSERT INTO minute_rollup (minute, function_name, resource, executed_version, invocations, errors, timeouts, throttles,
                cold_starts, duration_sum, duration_min, duration_max, init_sum, billed_ms, mb_ms, concurrency_sum, concurrency_min, concurrency_max)
            VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)
            ON CONFLICT (minute, function_name, resource, executed_version) DO UPDATE SET
                invocations = invocations + excluded.invocations,
                errors = errors + excluded.errors,
                timeouts = timeouts + excluded.timeouts,
                throttles = throttles + excluded.throttles,
                cold_starts = cold_starts + excluded.cold_starts,
                duration_sum = duration_sum + excluded.duration_sum,
                duration_min = MIN(COALESCE(duration_min, excluded.duration_min), COALESCE(excluded.duration_min, duration_min)),
                duration_max = MAX(COALESCE(duration_max, excluded.duration_max), COALESCE(excluded.duration_max, duration_max)),
                init_sum = init_sum + excluded.init_sum,
                billed_ms = billed_ms + excluded.billed_ms,
                mb_ms = mb_ms + excluded.mb_ms,
                concurrency_sum = concurrency_sum + excluded.concurrency_sum,
                concurrency_min = MIN(COALESCE(concurrency_min, excluded.concurrency_min), COALESCE(excluded.concurrency_min, concurrency_min)),
                concurrency_max = MAX(COALESCE(concurrency_max, excluded.concurrency_max), COALESCE(excluded.concurrency_max, concurrency_max));
            """;

        private readonly SqliteWriter _sqlite;
        private readonly PreparedStatement _insert;
        private readonly PreparedStatement _rollup;

        public Writer(SqliteDatabase database)
        {
            _sqlite = new SqliteWriter(database, "FULL");
            _insert = _sqlite.Prepare(InsertSql);
            _rollup = _sqlite.Prepare(UpsertRollupSql);
        }

        public SqliteConnection Connection => _sqlite.Connection;

        /// <summary>Inserts one row per record, inside the caller's transaction on <see cref="Connection"/>.</summary>
        public void InsertRows(IReadOnlyList<InvocationRecord> batch)
        {
            // Bindings stay between runs: a run of one function's records binds its names once.
            string? fn = null, resource = null, version = null;
            foreach (var record in batch)
            {
                if (!ReferenceEquals(record.FunctionName, fn))
                {
                    _insert.Bind(2, fn = record.FunctionName);
                }

                if (!ReferenceEquals(record.Resource, resource))
                {
                    _insert.Bind(3, resource = record.Resource);
                }

                if (!ReferenceEquals(record.ExecutedVersion, version))
                {
                    _insert.Bind(4, version = record.ExecutedVersion);
                }

                _insert.BindUtf8(1, record.RequestId);
                _insert.Bind(5, record.Start.ToUnixTimeMilliseconds());
                _insert.Bind(6, record.DurationMs);
                _insert.Bind(7, record.BilledMs);
                _insert.Bind(8, record.MemorySizeMb);
                _insert.Bind(9, record.MaxMemoryUsedMb);
                _insert.Bind(10, record.InitDurationMs);
                _insert.Bind(11, record.ColdStart ? 1L : 0L);
                _insert.Bind(12, (long)record.Outcome);
                _insert.Bind(13, record.ConcurrentExecutions);
                _insert.Run();
            }
        }

        /// <summary>Adds each rollup to its minute's row, inside the caller's transaction on <see cref="Connection"/>.</summary>
        public void UpsertRollups(IEnumerable<MinuteRollup> rollups)
        {
            foreach (var r in rollups)
            {
                _rollup.Bind(1, r.Minute);
                _rollup.Bind(2, r.FunctionName);
                _rollup.Bind(3, r.Resource);
                _rollup.Bind(4, r.ExecutedVersion);
                _rollup.Bind(5, r.Invocations);
                _rollup.Bind(6, r.Errors);
                _rollup.Bind(7, r.Timeouts);
                _rollup.Bind(8, r.Throttles);
                _rollup.Bind(9, r.ColdStarts);
                _rollup.Bind(10, r.DurationSum);
                _rollup.Bind(11, r.DurationMin);
                _rollup.Bind(12, r.DurationMax);
                _rollup.Bind(13, r.InitSum);
                _rollup.Bind(14, r.BilledMs);
                _rollup.Bind(15, r.MbMs);
                _rollup.Bind(16, r.ConcurrencySum);
                _rollup.Bind(17, r.ConcurrencyMin);
                _rollup.Bind(18, r.ConcurrencyMax);
                _rollup.Run();
            }
        }

        public void Dispose() => _sqlite.Dispose();
    }

    private static void UpsertAsyncRollups(SqliteConnection connection, SqliteTransaction transaction, IReadOnlyList<AsyncSample> samples)
    {
        if (samples.Count == 0)
        {
            return;
        }

        var rows = new Dictionary<(long, string, string, int), Aggregate>();
        foreach (var sample in samples)
        {
            var key = (MinuteOf(sample.At), sample.FunctionName, sample.Resource, sample.Metric);
            rows[key] = rows.TryGetValue(key, out var seen) ? seen.Merge(sample.Value) : sample.Value;
        }

        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = """
            INSERT INTO async_rollup (minute, function_name, resource, metric, samples, sum, min, max)
            VALUES ($minute, $fn, $res, $metric, $n, $sum, $min, $max)
            ON CONFLICT (minute, function_name, resource, metric) DO UPDATE SET
                samples = samples + excluded.samples,
                sum = sum + excluded.sum,
                min = MIN(min, excluded.min),
                max = MAX(max, excluded.max);
            """;
        var minute = command.Parameters.Add("$minute", SqliteType.Integer);
        var fn = command.Parameters.Add("$fn", SqliteType.Text);
        var res = command.Parameters.Add("$res", SqliteType.Text);
        var metric = command.Parameters.Add("$metric", SqliteType.Integer);
        var n = command.Parameters.Add("$n", SqliteType.Integer);
        var sum = command.Parameters.Add("$sum", SqliteType.Real);
        var min = command.Parameters.Add("$min", SqliteType.Real);
        var max = command.Parameters.Add("$max", SqliteType.Real);
        foreach (var ((m, function, resource, name), aggregate) in rows)
        {
            minute.Value = m;
            fn.Value = function;
            res.Value = resource;
            metric.Value = name;
            n.Value = (long)aggregate.SampleCount;
            sum.Value = aggregate.Sum;
            min.Value = aggregate.Minimum;
            max.Value = aggregate.Maximum;
            command.ExecuteNonQuery();
        }
    }

    /// <summary>
    /// Per-minute statistics of one async event metric or sampled gauge (its code in the table),
    /// <paramref name="fromMinute"/> ≤ minute &lt; <paramref name="toMinute"/>; the filter's ExecutedVersion matches
    /// nothing (these metrics have no such dimension).
    /// </summary>
    public async Task<List<(long Minute, Aggregate Aggregate)>> ReadAsyncRollupsAsync(int metric, long fromMinute, long toMinute, SeriesFilter filter, CancellationToken cancellationToken)
    {
        var rows = new List<(long, Aggregate)>();
        if (filter.ExecutedVersion is not null)
        {
            return rows;
        }

        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = $"""
            SELECT minute, samples, sum, min, max FROM async_rollup
            WHERE metric = $metric AND minute >= $from AND minute < $to{Where(command, filter)}{VersionRowsOnly(metric, filter)}
            ORDER BY minute;
            """;
        command.Parameters.AddWithValue("$metric", metric);
        command.Parameters.AddWithValue("$from", fromMinute);
        command.Parameters.AddWithValue("$to", toMinute);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            rows.Add((reader.GetInt64(0), new Aggregate(reader.GetInt64(1), reader.GetDouble(2), reader.GetDouble(3), reader.GetDouble(4))));
        }

        return rows;
    }

    /// <summary>Rollup rows with <paramref name="fromMinute"/> ≤ minute &lt; <paramref name="toMinute"/> (unix seconds).</summary>
    public async Task<List<MinuteRollup>> ReadRollupsAsync(long fromMinute, long toMinute, SeriesFilter filter, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = $"""
            SELECT minute, function_name, resource, executed_version, invocations, errors, timeouts, throttles, cold_starts,
                duration_sum, duration_min, duration_max, init_sum, billed_ms, mb_ms, concurrency_sum, concurrency_min, concurrency_max
            FROM minute_rollup WHERE minute >= $from AND minute < $to{Where(command, filter)}
            ORDER BY minute, function_name, resource, executed_version;
            """;
        command.Parameters.AddWithValue("$from", fromMinute);
        command.Parameters.AddWithValue("$to", toMinute);
        var rows = new List<MinuteRollup>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            rows.Add(new MinuteRollup(reader.GetInt64(0), reader.GetString(1), reader.GetString(2), reader.GetString(3))
            {
                Invocations = reader.GetInt64(4),
                Errors = reader.GetInt64(5),
                Timeouts = reader.GetInt64(6),
                Throttles = reader.GetInt64(7),
                ColdStarts = reader.GetInt64(8),
                DurationSum = reader.GetDouble(9),
                DurationMin = reader.IsDBNull(10) ? null : reader.GetDouble(10),
                DurationMax = reader.IsDBNull(11) ? null : reader.GetDouble(11),
                InitSum = reader.GetDouble(12),
                BilledMs = reader.GetInt64(13),
                MbMs = reader.GetInt64(14),
                ConcurrencySum = reader.GetInt64(15),
                ConcurrencyMin = reader.IsDBNull(16) ? null : reader.GetInt64(16),
                ConcurrencyMax = reader.IsDBNull(17) ? null : reader.GetInt64(17),
            });
        }

        return rows;
    }

    /// <summary>
    /// One value per invocation that ran, for percentiles: <paramref name="column"/> is duration_ms or concurrency.
    /// Times are unix milliseconds, <paramref name="fromMs"/> ≤ start &lt; <paramref name="toMs"/>.
    /// </summary>
    public async Task<List<(long StartMs, double Value)>> ReadSamplesAsync(string column, long fromMs, long toMs, SeriesFilter filter, CancellationToken cancellationToken)
    {
        if (column is not ("duration_ms" or "concurrency"))
        {
            throw new ArgumentOutOfRangeException(nameof(column), column, "Only duration_ms and concurrency have samples.");
        }

        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = $"""
            SELECT start_ms, {column} FROM invocations
            WHERE start_ms >= $from AND start_ms < $to AND outcome IN ({(int)InvocationOutcome.Success}, {(int)InvocationOutcome.FunctionError}, {(int)InvocationOutcome.Timeout}){Where(command, filter)};
            """;
        command.Parameters.AddWithValue("$from", fromMs);
        command.Parameters.AddWithValue("$to", toMs);
        var samples = new List<(long, double)>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            samples.Add((reader.GetInt64(0), reader.GetDouble(1)));
        }

        return samples;
    }

    /// <summary>Every function/resource/version that has data since <paramref name="fromMinute"/>.</summary>
    public async Task<List<(string FunctionName, string Resource, string ExecutedVersion)>> ListSeriesAsync(long fromMinute, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT DISTINCT function_name, resource, executed_version FROM minute_rollup WHERE minute >= $from ORDER BY 1, 2, 3;";
        command.Parameters.AddWithValue("$from", fromMinute);
        var series = new List<(string, string, string)>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            series.Add((reader.GetString(0), reader.GetString(1), reader.GetString(2)));
        }

        return series;
    }

    /// <summary>
    /// The provisioned-concurrency gauges of a version whose configuration is on an alias are published under both
    /// Resource name:version and name:alias (<see cref="ConcurrencySampler"/>): a query without Resource reads only
    /// the name:version rows, so each instance counts once. An alias name is never all digits, a version always is.
    /// </summary>
    private static string VersionRowsOnly(int metric, SeriesFilter filter) =>
        filter.Resource is null && LambdaMetricCatalog.IsProvisionedGauge(metric) ? " AND resource NOT GLOB '*:*[^0-9]*'" : "";

    public static long MinuteOf(DateTimeOffset time) => time.ToUnixTimeSeconds() / 60 * 60;

    internal static string Where(SqliteCommand command, SeriesFilter filter)
    {
        var clause = "";
        if (filter.FunctionName is { } fn)
        {
            clause += " AND function_name = $fnFilter";
            command.Parameters.AddWithValue("$fnFilter", fn);
        }

        if (filter.Resource is { } res)
        {
            clause += " AND resource = $resFilter";
            command.Parameters.AddWithValue("$resFilter", res);
        }

        if (filter.ExecutedVersion is { } ver)
        {
            clause += " AND executed_version = $verFilter";
            command.Parameters.AddWithValue("$verFilter", ver);
        }

        return clause;
    }
}

/// <summary>
/// Samples of one async event metric (its <see cref="AsyncEventMetric"/> value) or gauge (its
/// <see cref="LambdaMetricCatalog.GaugeMetrics"/> code) in the minute of <see cref="At"/>, waiting for the writer.
/// </summary>
internal sealed record AsyncSample(DateTimeOffset At, int Metric, string FunctionName, string Resource, Aggregate Value);

/// <summary>What the meter's channel carries: an invocation, or (when <see cref="Sample"/> is set) an async event sample.</summary>
internal readonly record struct MeterEntry(InvocationRecord Invocation, AsyncSample? Sample);
