using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Nimbus.Invocation;
using Nimbus.Sandboxes;

namespace Nimbus.Metrics;

/// <summary>
/// Samples the concurrency gauges CloudWatch publishes per minute (ProvisionedConcurrentExecutions,
/// ProvisionedConcurrencyUtilization, UnreservedConcurrentExecutions) once a second from the pools and the limiter,
/// off the invoke path, and hands the meter one per-minute aggregate per series every <see cref="FlushInterval"/>.
/// A provisioned version is sampled while it has provisioned concurrency configured (utilization 0 included); the
/// unreserved gauge only for flush windows in which something ran (no rows from an idle node).
/// </summary>
internal sealed partial class ConcurrencySampler(
    SandboxManager sandboxes,
    IConcurrencyLimiter limiter,
    MeteringStore store,
    TimeProvider time,
    ILogger<ConcurrencySampler> logger) : BackgroundService
{
    internal static readonly TimeSpan SampleInterval = TimeSpan.FromSeconds(1);

    internal static readonly TimeSpan FlushInterval = TimeSpan.FromSeconds(5);

    // Owned by the sampling loop only.
    private readonly Dictionary<(long Minute, int Metric, string Function, string Resource), Aggregate> _pending = [];

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!store.Enabled)
        {
            return;
        }

        using var timer = new PeriodicTimer(SampleInterval, time);
        var lastFlush = time.GetTimestamp();
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                try
                {
                    Sample(time.GetUtcNow());
                }
                catch (Exception e) when (e is InvalidOperationException or ObjectDisposedException)
                {
                    Log.SampleFailed(logger, e);
                }

                if (time.GetElapsedTime(lastFlush) >= FlushInterval)
                {
                    Flush();
                    lastFlush = time.GetTimestamp();
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            Flush();
        }
    }

    internal void Sample(DateTimeOffset now)
    {
        var minute = MeteringStore.MinuteOf(now);
        foreach (var pool in sandboxes.Pools)
        {
            var (requested, ready, _) = pool.ProvisionedStatus;
            if (requested <= 0)
            {
                continue;
            }

            var resource = $"{pool.Function.Name}:{pool.Function.Version}";
            var inUse = Math.Min(pool.BusyCount, ready);
            Add(minute, LambdaMetricCatalog.ProvisionedConcurrentExecutions, pool.Function.Name, resource, inUse);
            Add(minute, LambdaMetricCatalog.ProvisionedConcurrencyUtilization, pool.Function.Name, resource, (double)inUse / requested);
        }

        // In cluster mode the limiter is another implementation; the account-wide gauge is then the cluster's to publish.
        if (limiter is ConcurrencyLimiter local)
        {
            Add(minute, LambdaMetricCatalog.UnreservedConcurrentExecutions, "", "", local.UnreservedInUse);
        }
    }

    private void Add(long minute, string metric, string function, string resource, double value)
    {
        var key = (minute, LambdaMetricCatalog.GaugeMetrics[metric], function, resource);
        var one = new Aggregate(1, value, value, value);
        _pending[key] = _pending.TryGetValue(key, out var seen) ? seen.Merge(one) : one;
    }

    internal void Flush()
    {
        var unreserved = LambdaMetricCatalog.GaugeMetrics[LambdaMetricCatalog.UnreservedConcurrentExecutions];
        var samples = new List<AsyncSample>(_pending.Count);
        foreach (var ((minute, metric, function, resource), aggregate) in _pending)
        {
            if (metric == unreserved && aggregate.Maximum == 0)
            {
                continue;
            }

            samples.Add(new AsyncSample(DateTimeOffset.FromUnixTimeSeconds(minute), metric, function, resource, aggregate));
        }

        _pending.Clear();
        if (samples.Count > 0)
        {
            store.OnGaugeSamples(samples);
        }
    }
}
