using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Nimbus.Functions;
using Nimbus.Invocation;
using Nimbus.Sandboxes;
using Nimbus.Storage;

namespace Nimbus.Metrics;

/// <summary>
/// Samples the concurrency gauges CloudWatch publishes per minute (ProvisionedConcurrentExecutions,
/// ProvisionedConcurrencyUtilization, UnreservedConcurrentExecutions) once a second from the pools and the limiter,
/// off the invoke path, and hands the meter one per-minute aggregate per series every <see cref="FlushInterval"/>.
/// A provisioned version is sampled while it has provisioned concurrency configured (utilization 0 included), under
/// Resource <c>name:version</c> and, when the configuration was put on an alias, under <c>name:alias</c> too (as
/// Lambda publishes it, and as Application Auto Scaling reads it); the unreserved gauge only for flush windows in which
/// something ran (no rows from an idle node).
/// </summary>
internal sealed partial class ConcurrencySampler(
    SandboxManager sandboxes,
    IConcurrencyLimiter limiter,
    MeteringStore store,
    IMetadataStore metadata,
    FunctionService functions,
    TimeProvider time,
    ILogger<ConcurrencySampler> logger) : BackgroundService
{
    internal static readonly TimeSpan SampleInterval = TimeSpan.FromSeconds(1);

    internal static readonly TimeSpan FlushInterval = TimeSpan.FromSeconds(5);

    // Owned by the sampling loop only.
    private readonly Dictionary<(long Minute, int Metric, string Function, string Resource), Aggregate> _pending = [];

    // The aliases whose provisioned concurrency each (function, version) holds, refreshed every flush; owned by the loop.
    private Dictionary<(string Function, string Version), List<string>> _aliases = [];
    private string _provisionedSignature = "";

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
            var refreshAliases = true;
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                try
                {
                    // A version whose provisioned concurrency changed may be an alias's new target: look at once.
                    var provisioned = ProvisionedSignature();
                    if (refreshAliases || provisioned != _provisionedSignature)
                    {
                        _provisionedSignature = provisioned;
                        await RefreshAliasesAsync(stoppingToken).ConfigureAwait(false);
                        refreshAliases = false;
                    }

                    Sample(time.GetUtcNow());
                }
                catch (Exception e) when (e is InvalidOperationException or ObjectDisposedException or SqliteException)
                {
                    Log.SampleFailed(logger, e);
                }

                if (time.GetElapsedTime(lastFlush) >= FlushInterval)
                {
                    Flush();
                    lastFlush = time.GetTimestamp();
                    refreshAliases = true;
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

            var inUse = Math.Min(pool.BusyCount, ready);
            var name = pool.Function.Name;
            AddProvisioned(minute, name, $"{name}:{pool.Function.Version}", inUse, requested);
            if (_aliases.TryGetValue((name, pool.Function.Version), out var aliases))
            {
                foreach (var alias in aliases)
                {
                    AddProvisioned(minute, name, $"{name}:{alias}", inUse, requested);
                }
            }
        }

        // In cluster mode the limiter is another implementation; the account-wide gauge is then the cluster's to publish.
        if (limiter is ConcurrencyLimiter local)
        {
            Add(minute, LambdaMetricCatalog.UnreservedConcurrentExecutions, "", "", local.UnreservedInUse);
        }
    }

    private void AddProvisioned(long minute, string function, string resource, int inUse, int requested)
    {
        Add(minute, LambdaMetricCatalog.ProvisionedConcurrentExecutions, function, resource, inUse);
        Add(minute, LambdaMetricCatalog.ProvisionedConcurrencyUtilization, function, resource, (double)inUse / requested);
    }

    private string ProvisionedSignature() => string.Join('\n', sandboxes.Pools
        .Select(p => (p.Function.Name, p.Function.Version, p.ProvisionedStatus.Requested))
        .Where(p => p.Requested > 0)
        .Select(p => $"{p.Name}:{p.Version}={p.Requested}")
        .Order(StringComparer.Ordinal));

    /// <summary>
    /// Reads which aliases hold provisioned concurrency and the version each names now; nothing is read while no
    /// version has provisioned concurrency.
    /// </summary>
    internal async Task RefreshAliasesAsync(CancellationToken cancellationToken)
    {
        var aliases = new Dictionary<(string Function, string Version), List<string>>();
        if (sandboxes.Pools.Any(p => p.ProvisionedStatus.Requested > 0))
        {
            foreach (var row in await metadata.ListProvisionedConcurrencyAsync(null, cancellationToken).ConfigureAwait(false))
            {
                if (row.Qualifier.All(char.IsAsciiDigit)
                    || await functions.GetAsync(new FunctionReference(row.FunctionName, row.Qualifier), cancellationToken).ConfigureAwait(false) is not { IsError: false, Value: { } version })
                {
                    continue;
                }

                if (!aliases.TryGetValue((row.FunctionName, version.Version), out var list))
                {
                    aliases[(row.FunctionName, version.Version)] = list = [];
                }

                list.Add(row.Qualifier);
            }
        }

        _aliases = aliases;
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
