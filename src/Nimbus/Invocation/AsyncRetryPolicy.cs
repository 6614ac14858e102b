namespace Nimbus.Invocation;

/// <summary>
/// When an asynchronous event is tried again, as Lambda does it. A throttled event (or one that met a system
/// error) backs off from 1 s doubling up to 5 min, for as long as it is younger than its maximum age
/// (<c>MaximumEventAgeInSeconds</c>, default and maximum 6 h). A function error is retried up to
/// <c>MaximumRetryAttempts</c> times (default 2), the n-th retry after n × the retry delay (1 min on Lambda, so
/// about 1 min and then 2 min; <see cref="NimbusOptions.AsyncRetryDelay"/>).
/// </summary>
internal static class AsyncRetryPolicy
{
    public static readonly TimeSpan FirstThrottleDelay = TimeSpan.FromSeconds(1);
    public static readonly TimeSpan MaxThrottleDelay = TimeSpan.FromMinutes(5);
    public static readonly TimeSpan MaxEventAge = TimeSpan.FromHours(6);
    public const int DefaultMaximumRetryAttempts = 2;

    /// <summary>The wait before the next attempt after <paramref name="throttledAttempts"/> throttled ones (1 or more).</summary>
    public static TimeSpan ThrottleDelay(int throttledAttempts)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(throttledAttempts, 1);

        // 2^9 s already exceeds the cap; clamping the exponent keeps the shift from overflowing.
        var seconds = FirstThrottleDelay.TotalSeconds * (1L << Math.Min(throttledAttempts - 1, 10));
        return TimeSpan.FromSeconds(Math.Min(seconds, MaxThrottleDelay.TotalSeconds));
    }

    /// <summary>The next attempt's time, or null when the event would be older than its maximum age by then.</summary>
    public static DateTimeOffset? NextThrottleAttempt(DateTimeOffset acceptedAt, DateTimeOffset now, int throttledAttempts) =>
        NextThrottleAttempt(acceptedAt, now, throttledAttempts, MaxEventAge);

    /// <inheritdoc cref="NextThrottleAttempt(DateTimeOffset, DateTimeOffset, int)"/>
    public static DateTimeOffset? NextThrottleAttempt(DateTimeOffset acceptedAt, DateTimeOffset now, int throttledAttempts, TimeSpan maxEventAge)
    {
        var next = now + ThrottleDelay(throttledAttempts);
        return next - acceptedAt > maxEventAge ? null : next;
    }

    /// <summary>
    /// When a function error is retried after <paramref name="invokeCount"/> invocations (1 or more): null when the
    /// retries are used up (<see cref="AsyncOutcome.RetriesExhausted"/>). The caller checks the event's age.
    /// </summary>
    public static DateTimeOffset? NextFunctionErrorAttempt(DateTimeOffset now, int invokeCount, int maximumRetryAttempts, TimeSpan retryDelay)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(invokeCount, 1);
        return invokeCount > maximumRetryAttempts ? null : now + (retryDelay * invokeCount);
    }
}

/// <summary>How an asynchronous event ended: AWS's destination record <c>condition</c> values, plus success.</summary>
internal enum AsyncOutcome
{
    Success,
    RetriesExhausted,
    EventAgeExceeded,
}
