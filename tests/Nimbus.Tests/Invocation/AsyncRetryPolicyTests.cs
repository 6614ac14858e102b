using Nimbus.Invocation;

namespace Nimbus.Tests.Invocation;

public sealed class AsyncRetryPolicyTests
{
    [Fact]
    public void Throttled_events_back_off_from_1_second_doubling_up_to_5_minutes()
    {
        var delays = Enumerable.Range(1, 12).Select(attempt => AsyncRetryPolicy.ThrottleDelay(attempt).TotalSeconds);

        Assert.Equal([1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300, 300], delays);
        Assert.Equal(TimeSpan.FromMinutes(5), AsyncRetryPolicy.ThrottleDelay(int.MaxValue));
    }

    [Fact]
    public void A_throttled_event_is_tried_again_until_it_would_be_older_than_6_hours()
    {
        var accepted = new DateTimeOffset(2026, 11, 22, 0, 0, 0, TimeSpan.Zero);

        Assert.Equal(accepted.AddSeconds(1), AsyncRetryPolicy.NextThrottleAttempt(accepted, accepted, throttledAttempts: 1));
        Assert.Equal(accepted.AddHours(6), AsyncRetryPolicy.NextThrottleAttempt(accepted, accepted.AddHours(6).AddMinutes(-5), throttledAttempts: 20));
        Assert.Null(AsyncRetryPolicy.NextThrottleAttempt(accepted, accepted.AddHours(6).AddMinutes(-4), throttledAttempts: 20));
    }

    [Fact]
    public void A_function_error_is_retried_MaximumRetryAttempts_times_after_1_then_2_retry_delays()
    {
        var now = new DateTimeOffset(2026, 12, 1, 0, 0, 0, TimeSpan.Zero);
        var delay = TimeSpan.FromMinutes(1);

        Assert.Equal(now.AddMinutes(1), AsyncRetryPolicy.NextFunctionErrorAttempt(now, invokeCount: 1, maximumRetryAttempts: 2, delay));
        Assert.Equal(now.AddMinutes(2), AsyncRetryPolicy.NextFunctionErrorAttempt(now, invokeCount: 2, maximumRetryAttempts: 2, delay));
        Assert.Null(AsyncRetryPolicy.NextFunctionErrorAttempt(now, invokeCount: 3, maximumRetryAttempts: 2, delay));
        Assert.Null(AsyncRetryPolicy.NextFunctionErrorAttempt(now, invokeCount: 1, maximumRetryAttempts: 0, delay));
    }
}
