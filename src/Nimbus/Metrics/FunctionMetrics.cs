using System.Collections.Concurrent;
using Nimbus.Invocation;
using Nimbus.Sandboxes;

namespace Nimbus.Metrics;

/// <summary>
/// The in-memory counters behind /metrics, per function and executed version, fed by the invoker's observer seam.
/// The warm path costs one dictionary lookup and a few Interlocked increments; nothing is locked.
/// </summary>
internal sealed class FunctionMetrics : IInvocationObserver, IAsyncEventObserver
{
    /// <summary>Upper bounds (ms) of the duration histogram's buckets, +Inf implied.</summary>
    public static readonly double[] DurationBucketsMs = [1, 2, 5, 10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 30_000, 60_000, 300_000, 900_000];

    private readonly ConcurrentDictionary<(string Function, string Version), Series> _series = new();

    public void OnCompleted(in InvocationRecord record)
    {
        var key = (record.FunctionName, record.ExecutedVersion);
        if (!_series.TryGetValue(key, out var series))
        {
            series = _series.GetOrAdd(key, static _ => new Series());
        }

        series.Add(record);
    }

    public IEnumerable<KeyValuePair<(string Function, string Version), Series>> Snapshot() => _series;

    private readonly ConcurrentDictionary<(string Function, string Version), AsyncSeries> _async = new();

    public void OnAsyncEvent(AsyncEventMetric metric, string functionName, string? qualifier, double value)
    {
        var key = (functionName, qualifier ?? Functions.FunctionRecord.Latest);
        if (!_async.TryGetValue(key, out var series))
        {
            series = _async.GetOrAdd(key, static _ => new AsyncSeries());
        }

        series.Add(metric, value);
    }

    /// <summary>The async event counters, by function and the qualifier the events were sent to ($LATEST: none).</summary>
    public IEnumerable<KeyValuePair<(string Function, string Version), AsyncSeries>> AsyncSnapshot() => _async;

    /// <summary>Async event counters of one function and qualifier. Fields are only touched with Interlocked.</summary>
    internal sealed class AsyncSeries
    {
        private readonly long[] _counts = new long[Enum.GetValues<AsyncEventMetric>().Length];
        private long _ageMillis;

        public long Count(AsyncEventMetric metric) => Interlocked.Read(ref _counts[(int)metric]);

        public long AgeSumMs => Interlocked.Read(ref _ageMillis);

        public void Add(AsyncEventMetric metric, double value)
        {
            Interlocked.Increment(ref _counts[(int)metric]);
            if (metric == AsyncEventMetric.Age)
            {
                Interlocked.Add(ref _ageMillis, (long)value);
            }
        }
    }

    /// <summary>Counters of one function version. Fields are only touched with Interlocked.</summary>
    internal sealed class Series
    {
        private long _invocations;
        private long _errors;
        private long _timeouts;
        private long _throttles;
        private long _coldStarts;
        private long _durationMicros;
        private long _billedMs;
        private long _initCount;
        private long _initMicros;
        private readonly long[] _buckets = new long[DurationBucketsMs.Length + 1];

        public long Invocations => Interlocked.Read(ref _invocations);

        public long Errors => Interlocked.Read(ref _errors);

        public long Timeouts => Interlocked.Read(ref _timeouts);

        public long Throttles => Interlocked.Read(ref _throttles);

        public long ColdStarts => Interlocked.Read(ref _coldStarts);

        public double DurationSumMs => Interlocked.Read(ref _durationMicros) / 1000.0;

        public long BilledMs => Interlocked.Read(ref _billedMs);

        public long InitCount => Interlocked.Read(ref _initCount);

        public double InitSumMs => Interlocked.Read(ref _initMicros) / 1000.0;

        /// <summary>Cumulative bucket counts, as Prometheus wants them, the last being +Inf.</summary>
        public long[] CumulativeBuckets()
        {
            var result = new long[_buckets.Length];
            long total = 0;
            for (var i = 0; i < _buckets.Length; i++)
            {
                total += Interlocked.Read(ref _buckets[i]);
                result[i] = total;
            }

            return result;
        }

        public void Add(in InvocationRecord record)
        {
            if (record.Outcome == InvocationOutcome.Throttled)
            {
                Interlocked.Increment(ref _throttles);
                return;
            }

            if (!record.Ran)
            {
                return;
            }

            Interlocked.Increment(ref _invocations);
            if (record.IsError)
            {
                Interlocked.Increment(ref _errors);
            }

            if (record.Outcome == InvocationOutcome.Timeout)
            {
                Interlocked.Increment(ref _timeouts);
            }

            if (record.InitDurationMs is { } initMs)
            {
                Interlocked.Increment(ref _coldStarts);
                Interlocked.Increment(ref _initCount);
                Interlocked.Add(ref _initMicros, (long)(initMs * 1000));
            }

            Interlocked.Add(ref _durationMicros, (long)(record.DurationMs * 1000));
            Interlocked.Add(ref _billedMs, record.BilledMs);
            var bucket = 0;
            while (bucket < DurationBucketsMs.Length && record.DurationMs > DurationBucketsMs[bucket])
            {
                bucket++;
            }

            Interlocked.Increment(ref _buckets[bucket]);
        }
    }
}
