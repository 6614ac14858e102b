using Nimbus.Functions;

namespace Nimbus.Tests.Functions;

public sealed class FunctionReferenceTests
{
    private const string Region = "us-east-1";
    private const string Account = "000000000000";

    [Theory]
    [InlineData("hello", "hello", null)]
    [InlineData("hello:$LATEST", "hello", "$LATEST")]
    [InlineData("arn:aws:lambda:us-east-1:000000000000:function:hello", "hello", null)]
    [InlineData("arn:aws:lambda:us-east-1:000000000000:function:hello:prod", "hello", "prod")]
    [InlineData("000000000000:function:hello", "hello", null)]
    [InlineData("my_fn-2", "my_fn-2", null)]
    public void A_function_can_be_named_by_name_full_arn_or_partial_arn(string raw, string name, string? qualifier)
    {
        var result = FunctionReference.Parse(raw, null, Region, Account);

        Assert.False(result.IsError, result.Error?.Message);
        Assert.Equal(name, result.Value.Name);
        Assert.Equal(qualifier, result.Value.Qualifier);
    }

    [Fact]
    public void The_Qualifier_parameter_applies_when_the_name_has_none()
    {
        var result = FunctionReference.Parse("hello", "7", Region, Account);

        Assert.Equal(new FunctionReference("hello", "7"), result.Value);
    }

    [Fact]
    public void A_qualifier_in_the_arn_that_conflicts_with_the_Qualifier_parameter_is_rejected()
    {
        var result = FunctionReference.Parse("hello:prod", "dev", Region, Account);

        Assert.Equal(LambdaError.InvalidParameterValue, result.Error?.Type);
        Assert.Equal(400, result.Error?.StatusCode);
    }

    [Theory]
    [InlineData("bad name!")]
    [InlineData("")]
    [InlineData("a/b")]
    public void A_name_outside_the_pattern_is_a_ValidationException(string raw)
    {
        var result = FunctionReference.Parse(raw, null, Region, Account);

        Assert.Equal(LambdaError.Validation, result.Error?.Type);
        Assert.StartsWith("1 validation error detected: Value '", result.Error?.Message, StringComparison.Ordinal);
        Assert.Contains("at 'functionName' failed to satisfy constraint", result.Error?.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_bare_name_over_64_characters_is_rejected_with_the_length_limit()
    {
        var result = FunctionReference.Parse(new string('a', 65), null, Region, Account);

        Assert.Equal(LambdaError.Validation, result.Error?.Type);
        Assert.EndsWith("Member must have length less than or equal to 64", result.Error?.Message, StringComparison.Ordinal);
    }

    // Bare names take a path without the regex; every form must still parse exactly as the documented pattern does.
    [Theory]
    [InlineData("hello")]
    [InlineData("a")]
    [InlineData("A-b_C-9")]
    [InlineData("function")]
    [InlineData("arn")]
    [InlineData("123456789012")]
    [InlineData("us-east-1")]
    [InlineData("-")]
    [InlineData("_")]
    [InlineData("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")]
    [InlineData("hello:7")]
    [InlineData("hello:$LATEST")]
    [InlineData("function:hello")]
    [InlineData("function:hello:prod")]
    [InlineData("000000000000:hello")]
    [InlineData("000000000000:function:hello:1")]
    [InlineData("us-east-1:000000000000:function:hello")]
    [InlineData("us-east-1:hello")]
    [InlineData("arn:aws:lambda:us-east-1:000000000000:function:hello:$LATEST")]
    [InlineData("arn:aws-us-gov:lambda:us-east-1:000000000000:function:hello")]
    public void Every_accepted_form_names_the_function_and_qualifier_the_pattern_captures(string raw)
    {
        var match = LambdaLimits.FunctionReferencePattern().Match(raw);

        var result = FunctionReference.Parse(raw, null, Region, Account);

        Assert.True(match.Success);
        Assert.False(result.IsError, result.Error?.Message);
        Assert.Equal(match.Groups[11].Value, result.Value.Name);
        Assert.Equal(match.Groups[13].Success ? match.Groups[13].Value : null, result.Value.Qualifier);
    }

    [Theory]
    [InlineData("hello world")]
    [InlineData("héllo")]
    [InlineData("hello:")]
    [InlineData(":hello")]
    [InlineData("hello:a:b")]
    [InlineData("hello.js")]
    [InlineData("arn:aws:lambda:us-east-1:000000000000:function:")]
    public void Every_refused_form_is_a_ValidationException(string raw)
    {
        var result = FunctionReference.Parse(raw, null, Region, Account);

        Assert.DoesNotMatch(LambdaLimits.FunctionReferencePattern(), raw);
        Assert.Equal(LambdaError.Validation, result.Error?.Type);
    }

    [Fact]
    public void A_bare_name_with_an_invalid_Qualifier_parameter_is_a_ValidationException()
    {
        var result = FunctionReference.Parse("hello", "not valid", Region, Account);

        Assert.Equal(LambdaError.Validation, result.Error?.Type);
        Assert.Contains("at 'qualifier' failed to satisfy constraint", result.Error?.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_arn_of_another_region_is_not_found()
    {
        var result = FunctionReference.Parse("arn:aws:lambda:eu-west-1:000000000000:function:hello", null, Region, Account);

        Assert.Equal(LambdaError.ResourceNotFound, result.Error?.Type);
    }

    [Fact]
    public void An_arn_of_another_account_is_not_found()
    {
        var result = FunctionReference.Parse("arn:aws:lambda:us-east-1:111111111111:function:hello", null, Region, Account);

        Assert.Equal(LambdaError.ResourceNotFound, result.Error?.Type);
        Assert.Equal(404, result.Error?.StatusCode);
    }
}
