namespace Nimbus.Tests;

public sealed class NimbusOptionsValidatorTests
{
    [Fact]
    public void Default_options_are_valid_with_AWSs_account_concurrency_limit_of_1000()
    {
        var options = new NimbusOptions();

        Assert.Equal(1_000, options.ConcurrencyLimit);
        Assert.True(new NimbusOptionsValidator().Validate(null, options).Succeeded);
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
}
