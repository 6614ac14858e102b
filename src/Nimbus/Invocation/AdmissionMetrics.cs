using System.Collections.Concurrent;
using Microsoft.Extensions.DependencyInjection;
using Nimbus.Metrics;
using Nimbus.Sandboxes;

namespace Nimbus.Invocation;

/// <summary>
/// Admission on /metrics: callers waiting for an instance now, per function version, and invocations given up
/// because their caller hung up before they started.
/// </summary>
internal sealed class AdmissionMetrics(SandboxManager sandboxes) : IMetricsSource
{
    public const string Waiting = "nimbus_lambda_waiting_invocations";
    public const string Abandoned = "nimbus_lambda_abandoned_invocations_total";
    public const string ScaleOutWaits = "nimbus_lambda_scale_out_waits_total";
    public const string Instances = "nimbus_lambda_instances";
    public const string AverageDuration = "nimbus_lambda_average_duration_seconds";
    public const string ScaleOutTarget = "nimbus_scale_out_target_instances";
    public const string CpuBusy = "nimbus_node_cpu_busy_ratio";

    private readonly ConcurrentDictionary<(string Function, string Version), StrongBox> _abandoned = new();

    /// <summary>An invocation whose caller hung up while it waited for admission or for its instance's init.</summary>
    public void OnAbandoned(string functionName, string version) =>
        Interlocked.Increment(ref _abandoned.GetOrAdd((functionName, version), _ => new StrongBox()).Value);

    public void Collect(PrometheusWriter writer)
    {
        writer.Family(Waiting, "gauge", "Invocations waiting for an instance of the function version (a start slot, room on the node, or one to come back).");
        foreach (var pool in sandboxes.Pools.OrderBy(p => p.Function.Name, StringComparer.Ordinal).ThenBy(p => p.Function.Version, StringComparer.Ordinal))
        {
            writer.Sample(Waiting, pool.WaitingCount, ("function", pool.Function.Name), ("version", pool.Function.Version));
        }

        var pools = sandboxes.Pools.OrderBy(p => p.Function.Name, StringComparer.Ordinal).ThenBy(p => p.Function.Version, StringComparer.Ordinal).ToList();
        writer.Family(ScaleOutWaits, "counter", "Invocations that waited for an instance of the function version to come back instead of taking an idle one or starting another (NIMBUS_SCALE_OUT_WAIT).");
        foreach (var pool in pools)
        {
            writer.Sample(ScaleOutWaits, pool.ScaleOutWaits, ("function", pool.Function.Name), ("version", pool.Function.Version));
        }

        // Why a version has the instances it has: how many, how long its invocations take (short ones are held at the
        // target on a saturated node), the target, and how busy the node's CPUs are as scale-out sees them.
        writer.Family(Instances, "gauge", "Instances of the function version on this node: busy, idle (frozen) and starting.");
        foreach (var pool in pools)
        {
            writer.Sample(Instances, pool.InstanceCount, ("function", pool.Function.Name), ("version", pool.Function.Version));
        }

        writer.Family(AverageDuration, "gauge", "Moving average of the function version's invocation durations, which NIMBUS_SCALE_OUT_WAIT compares with its value.");
        foreach (var pool in pools.Where(p => !double.IsNaN(p.AverageDurationMs)))
        {
            writer.Sample(AverageDuration, pool.AverageDurationMs / 1000, ("function", pool.Function.Name), ("version", pool.Function.Version));
        }

        writer.Family(ScaleOutTarget, "gauge", "Busy and starting instances a function version of short invocations keeps on a saturated node before its callers wait for one to come back (0: NIMBUS_SCALE_OUT_WAIT is off).");
        writer.Sample(ScaleOutTarget, sandboxes.ScaleOutWait > TimeSpan.Zero ? sandboxes.ScaleOutTarget : 0);
        if (!double.IsNaN(sandboxes.CpuBusyRatio))
        {
            writer.Family(CpuBusy, "gauge", "Share of the node's CPU time spent busy over the last ~200 ms (/proc/stat); at 0.85 and above scale-out holds short functions at their target.");
            writer.Sample(CpuBusy, sandboxes.CpuBusyRatio);
        }

        writer.Family(Abandoned, "counter", "Invocations not run because their caller hung up while they waited for admission or for their instance's init.");
        foreach (var (key, count) in _abandoned.OrderBy(a => a.Key.Function, StringComparer.Ordinal).ThenBy(a => a.Key.Version, StringComparer.Ordinal))
        {
            writer.Sample(Abandoned, Interlocked.Read(ref count.Value), ("function", key.Function), ("version", key.Version));
        }
    }

    private sealed class StrongBox
    {
        public long Value;
    }
}

/// <summary>Registers admission's metrics.</summary>
internal static class AdmissionServiceCollectionExtensions
{
    public static IServiceCollection AddNimbusAdmission(this IServiceCollection services)
    {
        services.AddSingleton<AdmissionMetrics>();
        services.AddSingleton<IMetricsSource>(sp => sp.GetRequiredService<AdmissionMetrics>());
        return services;
    }
}
