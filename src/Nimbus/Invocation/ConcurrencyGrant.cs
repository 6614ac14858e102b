namespace Nimbus.Invocation;

/// <summary>What <see cref="IConcurrencyLimiter.TryAcquire"/> decided: a lease, or why the invocation is throttled.</summary>
internal readonly record struct ConcurrencyGrant(ConcurrencyLease? Lease, ConcurrencyThrottle Throttle)
{
    public static ConcurrencyGrant Throttled(ConcurrencyThrottle throttle) => new(null, throttle);
}
