using System.Text.Json;

namespace Nimbus.IntegrationTests;

/// <summary>
/// Asynchronous invocation into queues: an SQS OnFailure/OnSuccess destination gets AWS's destination record, a
/// function's DeadLetterConfig queue gets the original event with RequestID, ErrorCode and ErrorMessage.
/// </summary>
public sealed class AsyncDlqTests(AsyncServerFixture fixture) : IClassFixture<AsyncServerFixture>
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);

    [Fact]
    public Task A_failing_event_lands_in_the_OnFailure_queue_as_a_record_and_in_the_dead_letter_queue_as_the_event() => fixture.RunAsync(async scope =>
    {
        var aws = scope.Cli(AwsCli.V1);
        var queues = new EventSourceMappingQueues(aws, scope.ScratchDirectory);
        var (destinationUrl, destinationArn) = await queues.CreateAsync($"dest-{Guid.NewGuid():N}");
        var (dlqUrl, dlqArn) = await queues.CreateAsync($"dlq-{Guid.NewGuid():N}");
        var function = scope.NewFunctionName();

        // The dead-letter queue must exist.
        (await aws.CreateFunctionAsync(function, FunctionZips.Build(FunctionZips.NodeRecorder), "nodejs20.x", "index.handler",
            "--environment", fixture.Recorder.EnvironmentJson, "--dead-letter-config", $"TargetArn={dlqArn}-missing")).ShouldFailWith("InvalidParameterValueException");
        var created = (await aws.CreateFunctionAsync(function, FunctionZips.Build(FunctionZips.NodeRecorder), "nodejs20.x", "index.handler",
            "--environment", fixture.Recorder.EnvironmentJson, "--dead-letter-config", $"TargetArn={dlqArn}")).Json();
        Assert.Equal(dlqArn, created.Str("DeadLetterConfig.TargetArn"));
        Assert.Equal(dlqArn, (await aws.LambdaAsync("get-function-configuration", "--function-name", function)).Json().Str("DeadLetterConfig.TargetArn"));
        (await aws.LambdaAsync("put-function-event-invoke-config", "--function-name", function, "--destination-config",
            $$$"""{"OnFailure":{"Destination":"{{{destinationArn}}}-missing"}}""")).ShouldFailWith("InvalidParameterValueException");
        var config = (await aws.LambdaAsync("put-function-event-invoke-config", "--function-name", function, "--maximum-retry-attempts", "1",
            "--destination-config", $$$"""{"OnFailure":{"Destination":"{{{destinationArn}}}"}}""")).Json();
        Assert.Equal(destinationArn, config.Str("DestinationConfig.OnFailure.Destination"));

        var tag = Guid.NewGuid().ToString("N");
        var payload = $$"""{"fail":true,"tag":"{{tag}}"}""";
        Assert.Equal(202, (await aws.InvokeAsync(function, payload, "--invocation-type", "Event")).StatusCode);

        var record = JsonAssert.Parse(Assert.Single(await queues.ReceiveAtLeastAsync(destinationUrl, 1, Deadline)).Str("Body"), "the destination record");
        Assert.Equal("1.0", record.Str("version"));
        Assert.Equal("RetriesExhausted", record.Str("requestContext.condition"));
        Assert.Equal(Aws.FunctionArn(function) + ":$LATEST", record.Str("requestContext.functionArn"));
        Assert.Equal(2, record.Num("requestContext.approximateInvokeCount"));
        JsonAssert.Equal(payload, record.GetProperty("requestPayload"));
        Assert.Equal("Unhandled", record.Str("responseContext.functionError"));
        Assert.Equal("async failure", record.Str("responsePayload.errorMessage"));

        var dead = Assert.Single(await queues.ReceiveAtLeastAsync(dlqUrl, 1, Deadline));
        JsonAssert.Equal(payload, JsonAssert.Parse(dead.Str("Body"), "the dead letter"));
        Assert.Equal(record.Str("requestContext.requestId"), dead.Str("MessageAttributes.RequestID.StringValue"));
        Assert.Equal("String", dead.Str("MessageAttributes.RequestID.DataType"));
        Assert.Equal("200", dead.Str("MessageAttributes.ErrorCode.StringValue"));
        Assert.Equal("Number", dead.Str("MessageAttributes.ErrorCode.DataType"));
        Assert.Equal("async failure", dead.Str("MessageAttributes.ErrorMessage.StringValue"));

        // An empty TargetArn removes the dead-letter queue.
        var cleared = (await aws.LambdaAsync("update-function-configuration", "--function-name", function, "--dead-letter-config", "TargetArn=")).Json();
        Assert.False(cleared.Has("DeadLetterConfig.TargetArn"), cleared.ToString());
    });

    [Fact]
    public Task A_succeeding_event_lands_in_the_OnSuccess_queue() => fixture.RunAsync(async scope =>
    {
        var aws = scope.Cli(AwsCli.V2);
        var queues = new EventSourceMappingQueues(aws, scope.ScratchDirectory);
        var (url, arn) = await queues.CreateAsync($"ok-{Guid.NewGuid():N}");
        var function = scope.NewFunctionName();
        (await aws.CreateFunctionAsync(function, FunctionZips.Build(FunctionZips.NodeRecorder), "nodejs20.x", "index.handler",
            "--environment", fixture.Recorder.EnvironmentJson)).ShouldSucceed();
        (await aws.LambdaAsync("put-function-event-invoke-config", "--function-name", function,
            "--destination-config", $$$"""{"OnSuccess":{"Destination":"{{{arn}}}"}}""")).ShouldSucceed();

        var payload = $$"""{"id":"{{Guid.NewGuid():N}}"}""";
        Assert.Equal(202, (await aws.InvokeAsync(function, payload, "--invocation-type", "Event")).StatusCode);

        var record = JsonAssert.Parse(Assert.Single(await queues.ReceiveAtLeastAsync(url, 1, Deadline)).Str("Body"), "the destination record");
        Assert.Equal("Success", record.Str("requestContext.condition"));
        Assert.Equal(1, record.Num("requestContext.approximateInvokeCount"));
        Assert.Equal(200, record.Num("responseContext.statusCode"));
        Assert.True(record.GetProperty("responsePayload").GetProperty("ok").GetBoolean(), record.ToString());
        Assert.Equal(JsonValueKind.Object, record.GetProperty("requestPayload").ValueKind);
    });
}
