using Microsoft.Extensions.Options;
using Nimbus.Security;

namespace Nimbus.Tests.Security;

public sealed class AccessKeyRateLimiterTests
{
    [Fact]
    public void A_key_gets_a_burst_of_twice_its_rate_then_its_rate_per_second_and_other_keys_are_not_affected()
    {
        var time = new ManualTime();
        var limiter = new AccessKeyRateLimiter(Options.Create(new SecurityOptions { RequestsPerSecondPerKey = 5 }), time);

        Assert.Equal(10, Enumerable.Range(0, 20).Count(_ => limiter.TryAcquire("AKIDA")));
        Assert.True(limiter.TryAcquire("AKIDB"));
        time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(5, Enumerable.Range(0, 20).Count(_ => limiter.TryAcquire("AKIDA")));
    }

    [Fact]
    public void Zero_means_unlimited()
    {
        var limiter = new AccessKeyRateLimiter(Options.Create(new SecurityOptions()), new ManualTime());

        Assert.All(Enumerable.Range(0, 1000), _ => Assert.True(limiter.TryAcquire("AKID")));
    }

    [Fact]
    public void Throttles_have_each_services_own_error()
    {
        Assert.Equal(("TooManyRequestsException", 429), AwsAuthErrors.LambdaCode(AuthFailureKind.Throttled));
        Assert.Equal("RequestThrottled", AwsAuthErrors.SqsQueryCode(AuthFailureKind.Throttled));
        Assert.Equal(("SlowDown", 503), AwsAuthErrors.S3Code(AuthFailureKind.Throttled, presigned: false));
        Assert.Equal(("ThrottlingException", 400), AwsAuthErrors.JsonCode(AuthFailureKind.Throttled));
        Assert.Equal(("InvalidSignatureException", 403), AwsAuthErrors.LambdaCode(AuthFailureKind.SignatureMismatch));
    }

    private sealed class ManualTime : TimeProvider
    {
        private long _ticks;

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;

        public override long GetTimestamp() => _ticks;

        public void Advance(TimeSpan by) => _ticks += by.Ticks;
    }
}
