using System.Text;
using System.Text.Json;
using Nimbus.Invocation;
using Nimbus.Storage;

namespace Nimbus.Tests.Invocation;

public sealed class DestinationRecordTests
{
    private static readonly DateTimeOffset Accepted = new(2026, 12, 1, 20, 0, 0, TimeSpan.Zero);

    [Fact]
    public void A_failed_event_record_has_AWS_shape_with_the_function_error_and_both_payloads()
    {
        var item = new StoredEvent("req-1", "f", null, """{"a":1}"""u8.ToArray(), Accepted, InvokeCount: 3, ThrottleCount: 0, Accepted);
        var result = new InvocationResult(InvocationStatus.FunctionError, """{"errorMessage":"boom","errorType":"Error"}"""u8.ToArray(), "$LATEST", null);

        var record = DestinationRecord.Build(item, "arn:aws:lambda:us-east-1:000000000000:function:f:$LATEST", AsyncOutcome.RetriesExhausted, result, Accepted.AddSeconds(3.5));

        Assert.Equal(
            """{"version":"1.0","timestamp":"2026-12-01T20:00:03.500Z","requestContext":{"requestId":"req-1","functionArn":"arn:aws:lambda:us-east-1:000000000000:function:f:$LATEST","condition":"RetriesExhausted","approximateInvokeCount":3},"requestPayload":{"a":1},"responseContext":{"statusCode":200,"executedVersion":"$LATEST","functionError":"Unhandled"},"responsePayload":{"errorMessage":"boom","errorType":"Error"}}""",
            Encoding.UTF8.GetString(record));
    }

    [Fact]
    public void An_expired_event_that_never_ran_has_no_response_context_and_a_non_JSON_response_becomes_a_string()
    {
        var item = new StoredEvent("req-2", "f", "live", """{"a":1}"""u8.ToArray(), Accepted, InvokeCount: 0, ThrottleCount: 9, Accepted);

        using var expired = JsonDocument.Parse(DestinationRecord.Build(item, "arn", AsyncOutcome.EventAgeExceeded, null, Accepted));
        using var text = JsonDocument.Parse(DestinationRecord.Build(item, "arn", AsyncOutcome.Success,
            new InvocationResult(InvocationStatus.Success, "plain"u8.ToArray(), "2", null), Accepted));

        Assert.Equal("EventAgeExceeded", expired.RootElement.GetProperty("requestContext").GetProperty("condition").GetString());
        Assert.False(expired.RootElement.TryGetProperty("responseContext", out _));
        Assert.Equal("plain", text.RootElement.GetProperty("responsePayload").GetString());
        Assert.Equal("2", text.RootElement.GetProperty("responseContext").GetProperty("executedVersion").GetString());
        Assert.False(text.RootElement.GetProperty("responseContext").TryGetProperty("functionError", out _));
    }
}
