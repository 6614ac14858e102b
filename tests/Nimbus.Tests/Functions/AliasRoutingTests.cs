using Nimbus.Functions;

namespace Nimbus.Tests.Functions;

public sealed class AliasRoutingTests
{
    private static AliasRecord Alias(string version, Dictionary<string, double>? weights = null) => new()
    {
        FunctionName = "f",
        Name = "live",
        FunctionVersion = version,
        AdditionalVersionWeights = weights,
        RevisionId = "r",
    };

    [Theory]
    [InlineData(0.0, "2")]
    [InlineData(0.0999, "2")]
    [InlineData(0.1, "1")]
    [InlineData(0.9999, "1")]
    public void A_weighted_alias_runs_the_additional_version_when_the_sample_falls_below_its_weight(double sample, string expected)
    {
        Assert.Equal(expected, AliasRouting.Choose(Alias("1", new() { ["2"] = 0.1 }), sample));
    }

    [Fact]
    public void An_alias_without_weights_always_runs_its_version()
    {
        Assert.Equal("$LATEST", AliasRouting.Choose(Alias("$LATEST"), 0.0));
        Assert.Equal("4", AliasRouting.Choose(Alias("4", []), 0.5));
    }

    [Fact]
    public void Weights_of_0_and_1_send_nothing_or_everything_to_the_additional_version()
    {
        Assert.Equal("1", AliasRouting.Choose(Alias("1", new() { ["2"] = 0.0 }), 0.0));
        Assert.Equal("2", AliasRouting.Choose(Alias("1", new() { ["2"] = 1.0 }), 0.99999));
    }

    [Fact]
    public void Uniform_samples_split_in_proportion_to_the_weight()
    {
        var random = new Random(42);
        var alias = Alias("1", new() { ["2"] = 0.25 });
        var additional = Enumerable.Range(0, 100_000).Count(_ => AliasRouting.Choose(alias, random.NextDouble()) == "2");
        Assert.InRange(additional, 24_000, 26_000);
    }

    [Theory]
    [InlineData(1.5, "1 validation error detected: Value '{2=1.5}' at 'routingConfig.additionalVersionWeights' failed to satisfy constraint: Map value must satisfy constraint: [Member must have value less than or equal to 1.0, Member must have value greater than or equal to 0.0, Member must not be null]")]
    [InlineData(-1.0, "1 validation error detected: Value '{2=-1.0}' at 'routingConfig.additionalVersionWeights' failed to satisfy constraint: Map value must satisfy constraint: [Member must have value less than or equal to 1.0, Member must have value greater than or equal to 0.0, Member must not be null]")]
    public void A_weight_outside_0_to_1_is_a_ValidationException(double weight, string message)
    {
        var error = AliasRouting.ValidateWeights(new Dictionary<string, double> { ["2"] = weight }, "1");

        Assert.Equal(LambdaError.Validation, error?.Type);
        Assert.Equal(message, error?.Message);
    }

    [Fact]
    public void Routing_rules_are_checked_in_AWS_order_with_AWS_messages()
    {
        Assert.Null(AliasRouting.ValidateWeights(null, "$LATEST"));
        Assert.Null(AliasRouting.ValidateWeights(new Dictionary<string, double>(), "$LATEST"));
        Assert.Null(AliasRouting.ValidateWeights(new Dictionary<string, double> { ["2"] = 1.0 }, "1"));
        Assert.Equal("Number of items in AdditionalVersionWeights cannot be greater than 1",
            AliasRouting.ValidateWeights(new Dictionary<string, double> { ["2"] = 0.1, ["3"] = 0.1 }, "1")?.Message);
        Assert.Equal("Invalid function version 1. Function version 1 is already included in routing configuration.",
            AliasRouting.ValidateWeights(new Dictionary<string, double> { ["1"] = 0.1 }, "1")?.Message);
        Assert.Equal("$LATEST is not supported for an alias pointing to more than 1 version",
            AliasRouting.ValidateWeights(new Dictionary<string, double> { ["1"] = 0.1 }, "$LATEST")?.Message);
        var key = AliasRouting.ValidateWeights(new Dictionary<string, double> { ["beta"] = 0.1 }, "1");
        Assert.Equal(LambdaError.Validation, key?.Type);
        Assert.Contains("Value '{beta=0.1}' at 'routingConfig.additionalVersionWeights'", key?.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("live", true)]
    [InlineData("prod-2_a", true)]
    [InlineData("12", false)]
    [InlineData("has space", false)]
    [InlineData("$LATEST", false)]
    [InlineData("", false)]
    public void Alias_names_follow_AWS_pattern_and_may_not_be_all_digits(string name, bool valid)
    {
        Assert.Equal(valid, AliasRouting.ValidateName(name) is null);
    }

    [Theory]
    [InlineData("$LATEST", true)]
    [InlineData("1", true)]
    [InlineData("42", true)]
    [InlineData("live", false)]
    [InlineData("1a", false)]
    public void An_alias_points_to_LATEST_or_a_version_number(string version, bool valid)
    {
        Assert.Equal(valid, AliasRouting.ValidateFunctionVersion(version) is null);
    }
}
