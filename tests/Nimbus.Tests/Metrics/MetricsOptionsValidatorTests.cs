using Nimbus.Metrics;

namespace Nimbus.Tests.Metrics;

public sealed class MetricsOptionsValidatorTests
{
    [Fact]
    public void Defaults_are_AWSs_x86_prices_and_valid()
    {
        var options = new MetricsOptions();

        Assert.True(new MetricsOptionsValidator().Validate(null, options).Succeeded);
        Assert.Equal(0.20m, options.PricePerMillionRequests);
        Assert.Equal(0.0000166667m, options.PricePerGbSecond);
        Assert.True(options.Metering);
    }

    [Fact]
    public void Every_bad_setting_is_reported_at_once()
    {
        var result = new MetricsOptionsValidator().Validate(null, new MetricsOptions { PricePerGbSecond = -1, PricePerMillionRequests = -1, OtlpEndpoint = "ftp://x" });

        Assert.True(result.Failed);
        Assert.Equal(3, result.Failures!.Count());
    }
}
