namespace Nimbus.Tests;

public sealed class NimbusOptionsValidatorTests
{
    [Fact]
    public void Default_options_are_valid_and_size_the_account_concurrency_limit_to_the_node()
    {
        var options = new NimbusOptions();

        Assert.Null(options.ConcurrencyLimit);
        Assert.InRange(options.AccountConcurrencyLimit(), 1, 1_000);
        Assert.True(new NimbusOptionsValidator().Validate(null, options).Succeeded);
    }

    [Theory]
    [InlineData(128, 1)]
    [InlineData(4_096, 32)]
    [InlineData(18_079, 141)]
    [InlineData(128_000, 1_000)]
    [InlineData(1_000_000, 1_000)]
    public void The_default_account_concurrency_limit_is_one_128_MB_instance_per_128_MB_of_instance_memory_at_most_1000(int memoryMb, int limit)
    {
        var options = new NimbusOptions { InstanceMemoryLimitMb = memoryMb };

        Assert.Equal(limit, options.AccountConcurrencyLimit());
    }

    [Fact]
    public void A_configured_account_concurrency_limit_wins_over_the_memory_sized_default()
    {
        var options = new NimbusOptions { InstanceMemoryLimitMb = 1_024, ConcurrencyLimit = 500 };

        Assert.Equal(500, options.AccountConcurrencyLimit());
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-5)]
    public void A_concurrency_limit_below_1_is_rejected_with_what_to_do(int limit)
    {
        var result = new NimbusOptionsValidator().Validate(null, new NimbusOptions { ConcurrencyLimit = limit });

        Assert.True(result.Failed);
        Assert.Contains($"ConcurrencyLimit {limit} must be at least 1", result.FailureMessage, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("http://127.0.0.1:4566", true)]
    [InlineData("http://0.0.0.0:0", true)]
    [InlineData("http://localhost:4566", true)]
    [InlineData("http://[::1]:4566", true)]
    [InlineData("http://example.com:4566", false)]
    [InlineData("ftp://127.0.0.1:21", false)]
    public void Listen_must_be_an_http_URL_with_an_IP_address_or_localhost(string listen, bool valid)
    {
        var result = new NimbusOptionsValidator().Validate(null, new NimbusOptions { Listen = listen });

        Assert.True(result.Succeeded == valid, result.FailureMessage);
        if (!valid)
        {
            Assert.Contains($"Listen '{listen}' must", result.FailureMessage, StringComparison.Ordinal);
        }
    }
}
