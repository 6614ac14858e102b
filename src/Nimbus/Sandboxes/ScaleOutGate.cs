namespace Nimbus.Sandboxes;

/// <summary>
/// Whether a pool of short invocations at its scale-out target holds its other callers back, with hysteresis: held
/// while the node's CPUs are saturated, and still held until they have been free without a break for
/// <see cref="FreeFor"/> while the pool was at its target. A dip of the CPU signal (a pause between bursts, a GC, a
/// sample that straddles one) therefore lets no caller start or wake a surplus instance, which would then stay warm;
/// a short function that waits on I/O (the CPUs stay free at the target) scales out after <see cref="FreeFor"/>. A
/// burst on an idle node counts from when the pool reached its target, not from when the CPUs went idle, so its
/// callers wait for the CPU signal to catch up instead of starting instances past the target. Not thread-safe: the
/// pool calls it under its lock.
/// </summary>
internal sealed class ScaleOutGate(TimeProvider time)
{
    /// <summary>How long the CPUs must stay free, with the pool at its target, before its callers scale out again.</summary>
    public static readonly TimeSpan FreeFor = TimeSpan.FromSeconds(1);

    // When the pool last reached its target (busy and starting instances) after being below it; 0 while below.
    private long _atTargetSince;

    /// <summary>
    /// True when a caller of the pool should wait for an instance to come back. <paramref name="atTarget"/>: busy and
    /// starting instances number the target; <paramref name="cpuFreeSince"/>: <see cref="NodeCpu.FreeSince"/> (0 while
    /// saturated, <see cref="NodeCpu.Unknown"/> when unknown, which never holds); <paramref name="now"/>: a timestamp.
    /// </summary>
    public bool Holds(bool atTarget, long cpuFreeSince, long now)
    {
        if (!atTarget)
        {
            _atTargetSince = 0;
            return false;
        }

        if (_atTargetSince == 0)
        {
            _atTargetSince = now;
        }

        if (cpuFreeSince == NodeCpu.Unknown)
        {
            return false;
        }

        if (cpuFreeSince == 0)
        {
            return true;
        }

        return time.GetElapsedTime(Math.Max(cpuFreeSince, _atTargetSince), now) < FreeFor;
    }
}
