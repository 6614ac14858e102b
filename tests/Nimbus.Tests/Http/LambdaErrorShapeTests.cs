using System.Text.Json;
using Nimbus.Functions;
using Nimbus.Http;

namespace Nimbus.Tests.Http;

public sealed class LambdaErrorShapeTests
{
    [Fact]
    public void ResourceNotFound_uses_capital_Message_as_AWS_does()
    {
        var error = LambdaError.FunctionNotFound("arn:aws:lambda:us-east-1:000000000000:function:x");

        Assert.Equal("""{"Type":"User","Message":"Function not found: arn:aws:lambda:us-east-1:000000000000:function:x"}""", Serialize(error));
    }

    [Fact]
    public void ResourceConflict_uses_lower_case_message_as_AWS_does()
    {
        Assert.Equal("""{"Type":"User","message":"Function already exist: x"}""", Serialize(LambdaError.FunctionExists("x")));
    }

    [Fact]
    public void Oversize_invoke_payload_is_a_413_RequestTooLargeException_with_AWSs_message()
    {
        var error = LambdaError.InvokePayloadTooLarge();

        Assert.Equal(413, error.StatusCode);
        Assert.Equal("RequestTooLargeException", error.Type);
        Assert.Equal("Request must be smaller than 6291456 bytes for the InvokeFunction operation", error.Message);
    }

    [Fact]
    public void Messages_are_not_html_escaped()
    {
        var json = Serialize(LambdaError.ValidationFailed("a+b", "functionName", "x"));

        Assert.Contains("Value 'a+b' at 'functionName'", json, StringComparison.Ordinal);
    }

    [Fact]
    public void Throttle_over_a_reservation_is_a_429_with_Reason_ReservedFunctionConcurrentInvocationLimitExceeded()
    {
        var error = LambdaError.ReservedConcurrencyExceeded();

        Assert.Equal(429, error.StatusCode);
        Assert.Equal("TooManyRequestsException", error.Type);
        Assert.Equal("""{"Type":"User","message":"Rate Exceeded.","Reason":"ReservedFunctionConcurrentInvocationLimitExceeded"}""", Serialize(error));
    }

    [Fact]
    public void Throttle_over_the_account_pool_has_Reason_ConcurrentInvocationLimitExceeded()
    {
        Assert.Equal("""{"Type":"User","message":"Rate Exceeded.","Reason":"ConcurrentInvocationLimitExceeded"}""", Serialize(LambdaError.AccountConcurrencyExceeded()));
    }

    [Fact]
    public void Reserving_below_the_unreserved_minimum_uses_AWSs_message()
    {
        var error = LambdaError.UnreservedConcurrencyBelowMinimum(100);

        Assert.Equal(400, error.StatusCode);
        Assert.Equal("InvalidParameterValueException", error.Type);
        Assert.Equal("""{"Type":"User","message":"Specified ReservedConcurrentExecutions for function decreases account's UnreservedConcurrentExecution below its minimum value of [100]."}""", Serialize(error));
    }

    private static string Serialize(LambdaError error) => JsonSerializer.Serialize(LambdaHttp.ErrorBody(error), LambdaJson.Context.ErrorResponse);
}
