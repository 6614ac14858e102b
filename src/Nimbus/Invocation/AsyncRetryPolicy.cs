namespace Nimbus.Invocation;

/// <summary>
/// When an asynchronous event that was throttled is tried again, as Lambda does it: backoff from 1 s doubling
/// up to 5 min, for as long as the event is younger than its maximum age (6 h, Lambda's default and maximum
/// <c>MaximumEventAgeInSeconds</c>).
/// </summary>
internal static class AsyncRetryPolicy
{
    public static readonly TimeSpan FirstThrottleDelay = TimeSpan.FromSeconds(1);
    public static readonly TimeSpan MaxThrottleDelay = TimeSpan.FromMinutes(5);
    public static readonly TimeSpan MaxEventAge = TimeSpan.FromHours(6);

    /// <summary>The wait before the next attempt after <paramref name="throttledAttempts"/> throttled ones (1 or more).</summary>
    public static TimeSpan ThrottleDelay(int throttledAttempts)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(throttledAttempts, 1);

        // 2^9 s already exceeds the cap; clamping the exponent keeps the shift from overflowing.
        var seconds = FirstThrottleDelay.TotalSeconds * (1L << Math.Min(throttledAttempts - 1, 10));
        return TimeSpan.FromSeconds(Math.Min(seconds, MaxThrottleDelay.TotalSeconds));
    }

    /// <summary>The next attempt's time, or null when the event would be older than its maximum age by then.</summary>
    public static DateTimeOffset? NextThrottleAttempt(DateTimeOffset acceptedAt, DateTimeOffset now, int throttledAttempts)
    {
        var next = now + ThrottleDelay(throttledAttempts);
        return next - acceptedAt > MaxEventAge ? null : next;
    }
}
