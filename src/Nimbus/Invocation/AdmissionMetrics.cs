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

        writer.Family(ScaleOutWaits, "counter", "Invocations that waited for an instance of the function version to come back instead of starting another (NIMBUS_SCALE_OUT_WAIT).");
        foreach (var pool in sandboxes.Pools.OrderBy(p => p.Function.Name, StringComparer.Ordinal).ThenBy(p => p.Function.Version, StringComparer.Ordinal))
        {
            writer.Sample(ScaleOutWaits, pool.ScaleOutWaits, ("function", pool.Function.Name), ("version", pool.Function.Version));
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
