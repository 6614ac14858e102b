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

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!_enabled)
        {
            return;
        }

        var batch = new List<InvocationRecord>(BatchSize);
        var samples = new List<AsyncSample>();
        var reader = _pending.Reader;
        try
        {
            while (await reader.WaitToReadAsync(stoppingToken).ConfigureAwait(false))
            {
                if (reader.Count < BatchSize)
                {
                    await Task.Delay(BatchWindow, time, stoppingToken).ConfigureAwait(false);
                }

                while (batch.Count + samples.Count < BatchSize && reader.TryRead(out var item))
                {
                    Add(item, batch, samples);
                }

                await WriteAsync(batch, samples).ConfigureAwait(false);
                batch.Clear();
                samples.Clear();
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            while (reader.TryRead(out var item))
            {
                Add(item, batch, samples);
            }

            if (batch.Count + samples.Count > 0)
            {
                await WriteAsync(batch, samples).ConfigureAwait(false);
            }
        }
        finally
        {
            _writer?.Dispose();
            _writer = null;
        }
    }

    private static void Add(in MeterEntry entry, List<InvocationRecord> batch, List<AsyncSample> samples)
    {
        if (entry.Sample is { } sample)
        {
            samples.Add(sample);
        }
        else
        {
            batch.Add(entry.Invocation);
        }
    }

    internal Task WriteAsync(IReadOnlyList<InvocationRecord> batch) => WriteAsync(batch, []);

    internal async Task WriteAsync(IReadOnlyList<InvocationRecord> batch, IReadOnlyList<AsyncSample> samples)
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
            await UpsertRollupsAsync(connection, transaction, rollups.Values).ConfigureAwait(false);
            await UpsertAsyncRollupsAsync(connection, transaction, samples).ConfigureAwait(false);
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
    /// from, so a committed batch survives power loss) and the per-row insert prepared on it once, bound by position.
    /// </summary>
    private sealed class Writer : IDisposable
    {
        private const string InsertSql = """
            INSERT INTO invocations (request_id, function_name, resource, executed_version, start_ms, duration_ms, billed_ms,
                memory_mb, max_memory_mb, init_ms, cold_start, outcome, concurrency)
            VALUES ($id, $fn, $res, $ver, $start, $dur, $billed, $mem, $maxmem, $init, $cold, $outcome, $conc);
            """;

        private readonly PreparedStatement _insert;
        private readonly int _id;
        private readonly int _fn;
        private readonly int _res;
        private readonly int _ver;
        private readonly int _start;
        private readonly int _dur;
        private readonly int _billed;
        private readonly int _mem;
        private readonly int _maxmem;
        private readonly int _init;
        private readonly int _cold;
        private readonly int _outcome;
        private readonly int _conc;

        public Writer(SqliteDatabase database)
        {
            Connection = database.OpenWriter("FULL");
            try
            {
                _insert = new PreparedStatement(Connection, InsertSql);
            }
            catch
            {
                Connection.Dispose();
                throw;
            }

            _id = _insert.Index("$id");
            _fn = _insert.Index("$fn");
            _res = _insert.Index("$res");
            _ver = _insert.Index("$ver");
            _start = _insert.Index("$start");
            _dur = _insert.Index("$dur");
            _billed = _insert.Index("$billed");
            _mem = _insert.Index("$mem");
            _maxmem = _insert.Index("$maxmem");
            _init = _insert.Index("$init");
            _cold = _insert.Index("$cold");
            _outcome = _insert.Index("$outcome");
            _conc = _insert.Index("$conc");
        }

        public SqliteConnection Connection { get; }

        /// <summary>Inserts one row per record, inside the caller's transaction on <see cref="Connection"/>.</summary>
        public void InsertRows(IReadOnlyList<InvocationRecord> batch)
        {
            foreach (var record in batch)
            {
                _insert.Bind(_id, record.RequestId);
                _insert.Bind(_fn, record.FunctionName);
                _insert.Bind(_res, record.Resource);
                _insert.Bind(_ver, record.ExecutedVersion);
                _insert.Bind(_start, record.Start.ToUnixTimeMilliseconds());
                _insert.Bind(_dur, record.DurationMs);
                _insert.Bind(_billed, record.BilledMs);
                _insert.Bind(_mem, record.MemorySizeMb);
                _insert.Bind(_maxmem, record.MaxMemoryUsedMb);
                _insert.Bind(_init, record.InitDurationMs);
                _insert.Bind(_cold, record.ColdStart ? 1L : 0L);
                _insert.Bind(_outcome, (long)record.Outcome);
                _insert.Bind(_conc, record.ConcurrentExecutions);
                _insert.Run();
            }
        }

        public void Dispose()
        {
            _insert?.Dispose();
            Connection.Dispose();
        }
    }

    private static async Task UpsertRollupsAsync(SqliteConnection connection, SqliteTransaction transaction, IEnumerable<MinuteRollup> rollups)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;

        // In DO UPDATE, bare column names are the stored row's values, excluded.* the new ones.
        command.CommandText = """
            INSERT INTO minute_rollup (minute, function_name, resource, executed_version, invocations, errors, timeouts, throttles,
                cold_starts, duration_sum, duration_min, duration_max, init_sum, billed_ms, mb_ms, concurrency_sum, concurrency_min, concurrency_max)
            VALUES ($minute, $fn, $res, $ver, $inv, $err, $to, $thr, $cold, $dsum, $dmin, $dmax, $isum, $billed, $mbms, $csum, $cmin, $cmax)
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
        foreach (var r in rollups)
        {
            command.Parameters.Clear();
            command.Parameters.AddWithValue("$minute", r.Minute);
            command.Parameters.AddWithValue("$fn", r.FunctionName);
            command.Parameters.AddWithValue("$res", r.Resource);
            command.Parameters.AddWithValue("$ver", r.ExecutedVersion);
            command.Parameters.AddWithValue("$inv", r.Invocations);
            command.Parameters.AddWithValue("$err", r.Errors);
            command.Parameters.AddWithValue("$to", r.Timeouts);
            command.Parameters.AddWithValue("$thr", r.Throttles);
            command.Parameters.AddWithValue("$cold", r.ColdStarts);
            command.Parameters.AddWithValue("$dsum", r.DurationSum);
            command.Parameters.AddWithValue("$dmin", (object?)r.DurationMin ?? DBNull.Value);
            command.Parameters.AddWithValue("$dmax", (object?)r.DurationMax ?? DBNull.Value);
            command.Parameters.AddWithValue("$isum", r.InitSum);
            command.Parameters.AddWithValue("$billed", r.BilledMs);
            command.Parameters.AddWithValue("$mbms", r.MbMs);
            command.Parameters.AddWithValue("$csum", r.ConcurrencySum);
            command.Parameters.AddWithValue("$cmin", (object?)r.ConcurrencyMin ?? DBNull.Value);
            command.Parameters.AddWithValue("$cmax", (object?)r.ConcurrencyMax ?? DBNull.Value);
            await command.ExecuteNonQueryAsync().ConfigureAwait(false);
        }
    }

    private static async Task UpsertAsyncRollupsAsync(SqliteConnection connection, SqliteTransaction transaction, IReadOnlyList<AsyncSample> samples)
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

        await using var command = connection.CreateCommand();
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
            await command.ExecuteNonQueryAsync().ConfigureAwait(false);
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
            WHERE metric = $metric AND minute >= $from AND minute < $to{Where(command, filter)}
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

    public static long MinuteOf(DateTimeOffset time) => time.ToUnixTimeSeconds() / 60 * 60;

    private static string Where(SqliteCommand command, SeriesFilter filter)
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
