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

    private static string Serialize(LambdaError error) => JsonSerializer.Serialize(
        new ErrorResponse
        {
            CapitalMessage = error.CapitalMessageKey ? error.Message : null,
            Message = error.CapitalMessageKey ? null : error.Message,
        },
        LambdaJson.Context.ErrorResponse);
}
