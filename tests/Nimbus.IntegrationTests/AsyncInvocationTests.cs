using System.Text.Json;

namespace Nimbus.IntegrationTests;

/// <summary>
/// Asynchronous invocation as on Lambda, driven with the real AWS CLIs: event invoke configs, retries of function
/// errors, and the destination records. The server runs with a 1 s retry delay (NIMBUS_ASYNC_RETRY_DELAY), so a
/// failing event's retries take 1 s and 2 s instead of 1 min and 2 min.
/// </summary>
public sealed class AsyncInvocationTests(AsyncServerFixture fixture) : IClassFixture<AsyncServerFixture>
{
    private const string NodeRuntime = "nodejs20.x";
    private static readonly TimeSpan AsyncDeadline = TimeSpan.FromSeconds(60);

    [Fact]
    public Task Event_invoke_that_fails_is_retried_twice_and_its_record_lands_in_the_OnFailure_function() => fixture.RunAsync(async scope =>
    {
        var aws = scope.Cli(AwsCli.V1);
        var recorder = fixture.Recorder;
        var failing = scope.NewFunctionName();
        var destination = scope.NewFunctionName();
        await CreateRecorderFunctionAsync(aws, failing);
        await CreateRecorderFunctionAsync(aws, destination);

        var config = (await aws.LambdaAsync(
            "put-function-event-invoke-config", "--function-name", failing,
            "--destination-config", $$$"""{"OnFailure":{"Destination":"{{{Aws.FunctionArn(destination)}}}"}}""")).Json();
        Assert.Equal(Aws.FunctionArn(failing) + ":$LATEST", config.Str("FunctionArn"));
        Assert.Equal(Aws.FunctionArn(destination), config.Str("DestinationConfig.OnFailure.Destination"));
        Assert.False(config.Has("MaximumRetryAttempts"));

        var tag = Guid.NewGuid().ToString("N");
        var payload = $$"""{"fail":true,"tag":"{{tag}}"}""";
        Assert.Equal(202, (await aws.InvokeAsync(failing, payload, "--invocation-type", "Event")).StatusCode);

        var reports = await recorder.WaitForAsync(
            $"the OnFailure destination {destination} gets the record of event {tag}",
            all => all.Any(r => r.Str("function") == destination),
            AsyncDeadline);
        var attempts = recorder.ReportsOf(failing);
        Assert.Equal(3, attempts.Count);
        Assert.Single(attempts.Select(a => a.Str("requestId")).Distinct());
        Assert.All(attempts, a => Assert.Equal(tag, a.Str("event.tag")));

        var record = reports.Single(r => r.Str("function") == destination).GetProperty("event");
        Assert.Equal("1.0", record.Str("version"));
        Assert.True(DateTimeOffset.TryParse(record.Str("timestamp"), out _), record.ToString());
        Assert.Equal(attempts[0].Str("requestId"), record.Str("requestContext.requestId"));
        Assert.Equal(Aws.FunctionArn(failing) + ":$LATEST", record.Str("requestContext.functionArn"));
        Assert.Equal("RetriesExhausted", record.Str("requestContext.condition"));
        Assert.Equal(3, record.Num("requestContext.approximateInvokeCount"));
        JsonAssert.Equal(payload, record.GetProperty("requestPayload"));
        Assert.Equal(200, record.Num("responseContext.statusCode"));
        Assert.Equal("$LATEST", record.Str("responseContext.executedVersion"));
        Assert.Equal("Unhandled", record.Str("responseContext.functionError"));
        Assert.Equal("async failure", record.Str("responsePayload.errorMessage"));
        Assert.Equal("Error", record.Str("responsePayload.errorType"));
    });

    [Fact]
    public Task Event_invoke_that_succeeds_lands_in_the_OnSuccess_function_and_MaximumRetryAttempts_0_stops_retries() => fixture.RunAsync(async scope =>
    {
        var aws = scope.Cli(AwsCli.V1);
        var recorder = fixture.Recorder;
        var function = scope.NewFunctionName();
        var onSuccess = scope.NewFunctionName();
        var onFailure = scope.NewFunctionName();
        await CreateRecorderFunctionAsync(aws, function);
        await CreateRecorderFunctionAsync(aws, onSuccess);
        await CreateRecorderFunctionAsync(aws, onFailure);
        (await aws.LambdaAsync(
            "put-function-event-invoke-config", "--function-name", function, "--maximum-retry-attempts", "0",
            "--destination-config", $$$"""{"OnSuccess":{"Destination":"{{{Aws.FunctionArn(onSuccess)}}}"},"OnFailure":{"Destination":"{{{Aws.FunctionArn(onFailure)}}}"}}""")).ShouldSucceed();

        var tag = Guid.NewGuid().ToString("N");
        Assert.Equal(202, (await aws.InvokeAsync(function, $$"""{"id":"{{tag}}"}""", "--invocation-type", "Event")).StatusCode);
        Assert.Equal(202, (await aws.InvokeAsync(function, $$"""{"id":"{{tag}}-fail","fail":true}""", "--invocation-type", "Event")).StatusCode);

        var reports = await recorder.WaitForAsync(
            "both destinations get their record",
            all => all.Any(r => r.Str("function") == onSuccess) && all.Any(r => r.Str("function") == onFailure),
            AsyncDeadline);
        var success = reports.Single(r => r.Str("function") == onSuccess).GetProperty("event");
        Assert.Equal("Success", success.Str("requestContext.condition"));
        Assert.Equal(1, success.Num("requestContext.approximateInvokeCount"));
        Assert.Equal(Aws.FunctionArn(function) + ":$LATEST", success.Str("requestContext.functionArn"));
        Assert.Equal(tag, success.Str("requestPayload.id"));
        Assert.Equal(200, success.Num("responseContext.statusCode"));
        Assert.False(success.Has("responseContext.functionError"));
        Assert.True(success.Bool("responsePayload.ok"));
        Assert.Equal(tag, success.Str("responsePayload.id"));

        var failure = reports.Single(r => r.Str("function") == onFailure).GetProperty("event");
        Assert.Equal("RetriesExhausted", failure.Str("requestContext.condition"));
        Assert.Equal(1, failure.Num("requestContext.approximateInvokeCount"));
        Assert.Equal(2, recorder.ReportsOf(function).Count);
    });

    /// <summary>
    /// Through both CLIs: the retry and destination flows above are the server's alone, so they run on v1 only; the
    /// configuration calls here are where v2's own request building and parsing could differ.
    /// </summary>
    [Theory]
    [InlineData(AwsCli.V1)]
    [InlineData(AwsCli.V2)]
    public Task Event_invoke_configs_put_get_update_list_delete_per_qualifier_with_AWS_validation(string cli) => fixture.RunAsync(async scope =>
    {
        var aws = scope.Cli(cli);
        var function = scope.NewFunctionName();
        var destination = scope.NewFunctionName();
        await CreateRecorderFunctionAsync(aws, function);
        Assert.Equal("1", (await aws.LambdaAsync("publish-version", "--function-name", function)).Json().Str("Version"));
        var before = DateTimeOffset.UtcNow.ToUnixTimeSeconds() - 1;

        Assert.Contains("doesn't have an EventInvokeConfig", (await aws.LambdaAsync("get-function-event-invoke-config", "--function-name", function))
            .ShouldFailWith("ResourceNotFoundException"), StringComparison.Ordinal);
        Assert.Contains("doesn't have an EventInvokeConfig", (await aws.LambdaAsync("update-function-event-invoke-config", "--function-name", function, "--maximum-retry-attempts", "1"))
            .ShouldFailWith("ResourceNotFoundException"), StringComparison.Ordinal);

        var put = (await aws.LambdaAsync(
            "put-function-event-invoke-config", "--function-name", function, "--maximum-retry-attempts", "1", "--maximum-event-age-in-seconds", "120",
            "--destination-config", $$$"""{"OnFailure":{"Destination":"{{{Aws.FunctionArn(destination)}}}"}}""")).Json();
        Assert.Equal(1, put.Num("MaximumRetryAttempts"));
        Assert.Equal(120, put.Num("MaximumEventAgeInSeconds"));
        Assert.InRange(EpochSeconds(put.GetProperty("LastModified")), before, DateTimeOffset.UtcNow.ToUnixTimeSeconds() + 1);

        // On the wire LastModified is epoch seconds, a JSON number (the CLIs print it as a date).
        using (var raw = await scope.Server.Http.GetAsync(new Uri($"/2019-09-25/functions/{function}/event-invoke-config", UriKind.Relative)))
        {
            var wire = JsonAssert.Parse(await raw.Content.ReadAsStringAsync(), "GetFunctionEventInvokeConfig over HTTP");
            Assert.InRange(wire.GetProperty("LastModified").GetDouble(), before, DateTimeOffset.UtcNow.ToUnixTimeSeconds() + 1);
        }

        // Update merges: the age and the destination stay.
        var updated = (await aws.LambdaAsync("update-function-event-invoke-config", "--function-name", function, "--maximum-retry-attempts", "0")).Json();
        Assert.Equal(0, updated.Num("MaximumRetryAttempts"));
        Assert.Equal(120, updated.Num("MaximumEventAgeInSeconds"));
        Assert.Equal(Aws.FunctionArn(destination), updated.Str("DestinationConfig.OnFailure.Destination"));

        // Put replaces: what it does not name is gone.
        (await aws.LambdaAsync("put-function-event-invoke-config", "--function-name", function, "--qualifier", "1", "--maximum-event-age-in-seconds", "60")).ShouldSucceed();
        var version = (await aws.LambdaAsync("get-function-event-invoke-config", "--function-name", function, "--qualifier", "1")).Json();
        Assert.Equal(Aws.FunctionArn(function) + ":1", version.Str("FunctionArn"));
        Assert.Equal(60, version.Num("MaximumEventAgeInSeconds"));
        Assert.False(version.Has("MaximumRetryAttempts"));
        var latest = (await aws.LambdaAsync("get-function-event-invoke-config", "--function-name", function)).Json();
        Assert.Equal(0, latest.Num("MaximumRetryAttempts"));

        var list = (await aws.LambdaAsync("list-function-event-invoke-configs", "--function-name", function)).Json().Array("FunctionEventInvokeConfigs");
        Assert.Equal([Aws.FunctionArn(function) + ":$LATEST", Aws.FunctionArn(function) + ":1"], list.Select(c => c.Str("FunctionArn")).Order(StringComparer.Ordinal));

        Assert.Contains("Member must have value less than or equal to 2", (await aws.LambdaAsync("put-function-event-invoke-config", "--function-name", function, "--maximum-retry-attempts", "3"))
            .ShouldFailWith("ValidationException"), StringComparison.Ordinal);

        // The CLIs check minimums themselves, so the server's check is seen over raw HTTP.
        using (var tooYoung = await scope.Server.Http.PutAsync(
            new Uri($"/2019-09-25/functions/{function}/event-invoke-config", UriKind.Relative),
            new StringContent("""{"MaximumEventAgeInSeconds":59}""", System.Text.Encoding.UTF8, "application/json")))
        {
            Assert.Equal(400, (int)tooYoung.StatusCode);
            Assert.Equal("ValidationException", tooYoung.Headers.GetValues("x-amzn-ErrorType").Single());
            Assert.Contains("Member must have value greater than or equal to 60", await tooYoung.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        Assert.Contains("Member must have value less than or equal to 21600", (await aws.LambdaAsync("update-function-event-invoke-config", "--function-name", function, "--maximum-event-age-in-seconds", "21601"))
            .ShouldFailWith("ValidationException"), StringComparison.Ordinal);
        (await aws.LambdaAsync("put-function-event-invoke-config", "--function-name", function,
            "--destination-config", """{"OnFailure":{"Destination":"arn:aws:sqs:us-east-1:000000000000:dlq"}}""")).ShouldFailWith("InvalidParameterValueException");
        (await aws.LambdaAsync("put-function-event-invoke-config", "--function-name", function, "--qualifier", "7", "--maximum-retry-attempts", "1"))
            .ShouldFailWith("ResourceNotFoundException");

        (await aws.LambdaAsync("delete-function-event-invoke-config", "--function-name", function, "--qualifier", "1")).ShouldSucceed();
        (await aws.LambdaAsync("delete-function-event-invoke-config", "--function-name", function, "--qualifier", "1")).ShouldFailWith("ResourceNotFoundException");
        Assert.Single((await aws.LambdaAsync("list-function-event-invoke-configs", "--function-name", function)).Json().Array("FunctionEventInvokeConfigs"));
    });

    [Fact]
    public Task Event_invoke_accepts_a_1MB_payload_and_refuses_a_bigger_one_with_RequestTooLargeException() => fixture.RunAsync(async scope =>
    {
        var function = scope.NewFunctionName();
        await scope.Lambda.CreateFunctionAsync(function, FunctionZips.Build(FunctionZips.NodeCjs), NodeRuntime, "index.handler");
        var padding = new string('x', 1_048_576 - """{"p":""}""".Length);

        var accepted = await scope.Lambda.InvokeAsync(function, $$"""{"p":"{{padding}}"}""", invocationType: "Event");
        var refused = await scope.Lambda.InvokeAsync(function, $$"""{"p":"{{padding}}x"}""", invocationType: "Event");

        Assert.True(accepted.StatusCode == 202, accepted.ToString());
        Assert.Contains("1048576 bytes", refused.ShouldBeError(413, "RequestTooLargeException").ToString(), StringComparison.Ordinal);
    });

    /// <summary>A timestamp as a CLI printed it: v1 prints the epoch seconds, v2 an ISO 8601 date.</summary>
    private static double EpochSeconds(JsonElement value) =>
        value.ValueKind == JsonValueKind.Number
            ? value.GetDouble()
            : DateTimeOffset.Parse(value.GetString()!, System.Globalization.CultureInfo.InvariantCulture).ToUnixTimeMilliseconds() / 1000.0;

    private async Task CreateRecorderFunctionAsync(AwsCli aws, string name) =>
        (await aws.CreateFunctionAsync(name, FunctionZips.Build(FunctionZips.NodeRecorder), NodeRuntime, "index.handler",
            "--environment", fixture.Recorder.EnvironmentJson)).ShouldSucceed();
}

/// <summary>
/// A server with a 1 s async retry delay and an <see cref="EventRecorder"/>, one per class (AsyncInvocationTests,
/// AsyncDlqTests, EventSourceMappingTests): the classes run in parallel, not one after another on a shared server.
/// </summary>
public sealed class AsyncServerFixture : IAsyncLifetime
{
    private TempDirectory? _data;
    private NimbusServer? _server;

    internal EventRecorder Recorder { get; } = new();

    public async Task InitializeAsync()
    {
        _data = new TempDirectory("nimbus-it-async");
        _server = await NimbusServer.StartAsync(_data.Path, new Dictionary<string, string> { ["NIMBUS_ASYNC_RETRY_DELAY"] = "00:00:01" });
    }

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }

        Recorder.Dispose();
        _data?.Dispose();
    }

    internal Task RunAsync(Func<TestScope, Task> test) =>
        Failures.WithContextAsync(
            async () =>
            {
                await using var scope = new TestScope(_server!);
                await test(scope);
            },
            () => _server!.DescribeOutput());
}
