using System.Text.Json;

namespace Nimbus.IntegrationTests;

/// <summary>
/// Reserved concurrency (Put/Get/DeleteFunctionConcurrency) and throttling with Lambda's semantics: a reservation
/// caps its function and is carved out of the account limit, 0 throttles everything, and a throttled caller gets
/// 429 TooManyRequestsException with the Reason AWS gives.
/// </summary>
public sealed class ConcurrencyTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private const string NodeRuntime = "nodejs20.x";
    private const string ReservedLimitReason = "ReservedFunctionConcurrentInvocationLimitExceeded";
    private const string BelowMinimumMessage =
        "Specified ReservedConcurrentExecutions for function decreases account's UnreservedConcurrentExecution below its minimum value of [100].";

    private static readonly TimeSpan AsyncDeadline = TimeSpan.FromSeconds(60);

    [Theory]
    [InlineData(AwsCli.V1)]
    [InlineData(AwsCli.V2)]
    public Task Put_get_and_delete_function_concurrency_with_the_CLI(string cli) => fixture.RunAsync(async scope =>
    {
        var aws = scope.Cli(cli);
        var name = scope.NewFunctionName();
        await scope.Lambda.CreateFunctionAsync(name, FunctionZips.Build(FunctionZips.NodeCjs), NodeRuntime, "index.handler");

        var unset = await aws.LambdaAsync("get-function-concurrency", "--function-name", name);
        var put = await aws.LambdaAsync("put-function-concurrency", "--function-name", name, "--reserved-concurrent-executions", "1");
        var get = await aws.LambdaAsync("get-function-concurrency", "--function-name", name);
        var function = (await aws.LambdaAsync("get-function", "--function-name", name)).Json();
        var delete = await aws.LambdaAsync("delete-function-concurrency", "--function-name", name);
        var afterDelete = await aws.LambdaAsync("get-function-concurrency", "--function-name", name);
        var functionAfterDelete = (await aws.LambdaAsync("get-function", "--function-name", name)).Json();

        Assert.Null(ReservedConcurrency(unset));
        Assert.Equal(1, put.Json().Num("ReservedConcurrentExecutions"));
        Assert.Equal(1, ReservedConcurrency(get));
        Assert.Equal(1, function.Num("Concurrency.ReservedConcurrentExecutions"));
        Assert.Equal("", delete.ShouldSucceed().Stdout.Trim());
        Assert.Null(ReservedConcurrency(afterDelete));
        Assert.False(functionAfterDelete.Has("Concurrency"), functionAfterDelete.GetRawText());
    });

    [Fact]
    public Task Concurrency_operations_answer_with_AWSs_exact_paths_statuses_and_shapes() => fixture.RunAsync(async scope =>
    {
        var name = scope.NewFunctionName();
        await scope.Lambda.CreateFunctionAsync(name, FunctionZips.Build(FunctionZips.NodeCjs), NodeRuntime, "index.handler");

        var unset = await scope.Lambda.GetFunctionConcurrencyAsync(name);
        var put = await scope.Lambda.PutFunctionConcurrencyAsync(name, """{"ReservedConcurrentExecutions":7}""");
        var get = await scope.Lambda.GetFunctionConcurrencyAsync(name);
        var delete = await scope.Lambda.DeleteFunctionConcurrencyAsync(name);
        var deleteAgain = await scope.Lambda.DeleteFunctionConcurrencyAsync(name);

        Assert.True(unset.StatusCode == 200, unset.ToString());
        JsonAssert.Equal("{}", unset.Json());
        Assert.True(put.StatusCode == 200, put.ToString());
        JsonAssert.Equal("""{"ReservedConcurrentExecutions":7}""", put.Json());
        Assert.True(get.StatusCode == 200, get.ToString());
        JsonAssert.Equal("""{"ReservedConcurrentExecutions":7}""", get.Json());
        Assert.True(delete.StatusCode == 204 && delete.Body.Length == 0, delete.ToString());
        Assert.True(deleteAgain.StatusCode == 204, deleteAgain.ToString());
    });

    [Fact]
    public Task Put_function_concurrency_validates_the_value_and_the_function_as_AWS_does() => fixture.RunAsync(async scope =>
    {
        var name = scope.NewFunctionName();
        var missing = scope.NewFunctionName();
        await scope.Lambda.CreateFunctionAsync(name, FunctionZips.Build(FunctionZips.NodeCjs), NodeRuntime, "index.handler");

        var negative = await scope.Lambda.PutFunctionConcurrencyAsync(name, """{"ReservedConcurrentExecutions":-1}""");
        var absent = await scope.Lambda.PutFunctionConcurrencyAsync(name, "{}");
        var unknownPut = await scope.Lambda.PutFunctionConcurrencyAsync(missing, """{"ReservedConcurrentExecutions":1}""");
        var unknownGet = await scope.Lambda.GetFunctionConcurrencyAsync(missing);
        var unknownDelete = await scope.Lambda.DeleteFunctionConcurrencyAsync(missing);

        Assert.Contains("Member must have value greater than or equal to 0", negative.ShouldBeError(400, "ValidationException").Str("message"), StringComparison.Ordinal);
        Assert.Contains("Member must not be null", absent.ShouldBeError(400, "ValidationException").Str("message"), StringComparison.Ordinal);
        foreach (var notFound in new[] { unknownPut, unknownGet, unknownDelete })
        {
            Assert.Equal(Aws.FunctionNotFound(missing), notFound.ShouldBeError(404, "ResourceNotFoundException").Str("Message"));
        }
    });

    [Fact]
    public Task Invoke_returns_TooManyRequests_when_reserved_concurrency_is_zero() => fixture.RunAsync(async scope =>
    {
        var name = scope.NewFunctionName();
        await scope.Lambda.CreateFunctionAsync(name, FunctionZips.Build(FunctionZips.NodeCjs), NodeRuntime, "index.handler");
        await scope.Lambda.PutFunctionConcurrencyAsync(name, 0);

        var response = await scope.Lambda.InvokeAsync(name, """{"name":"throttled"}""");

        var body = response.ShouldBeError(429, "TooManyRequestsException");
        JsonAssert.Equal($$"""{"Type":"User","message":"Rate Exceeded.","Reason":"{{ReservedLimitReason}}"}""", body);
        Assert.True(int.TryParse(response.Header("Retry-After"), out var retryAfter) && retryAfter >= 1, $"A throttle should carry Retry-After.{Environment.NewLine}{response}");
    });

    [Theory]
    [InlineData(AwsCli.V1)]
    [InlineData(AwsCli.V2)]
    public Task Invoke_with_the_CLI_fails_with_TooManyRequestsException_when_reserved_concurrency_is_zero(string cli) => fixture.RunAsync(async scope =>
    {
        var aws = scope.Cli(cli);
        var name = scope.NewFunctionName();
        await scope.Lambda.CreateFunctionAsync(name, FunctionZips.Build(FunctionZips.NodeCjs), NodeRuntime, "index.handler");
        (await aws.LambdaAsync("put-function-concurrency", "--function-name", name, "--reserved-concurrent-executions", "0")).ShouldSucceed();

        var message = (await aws.InvokeCommandAsync(name, """{"name":"throttled"}""")).ShouldFailWith("TooManyRequestsException");

        Assert.Equal("Rate Exceeded.", message);
    });

    [Fact]
    public Task Reserved_concurrency_1_runs_one_of_two_overlapping_invokes_and_throttles_the_other_until_it_is_deleted() => fixture.RunAsync(async scope =>
    {
        var name = scope.NewFunctionName();
        await scope.Lambda.CreateFunctionAsync(name, FunctionZips.Build(FunctionZips.NodeBehaviours), NodeRuntime, "sleep.handler", timeout: 30);
        await scope.Lambda.PutFunctionConcurrencyAsync(name, 1);

        var limited = await Task.WhenAll(scope.Lambda.InvokeAsync(name, """{"ms":1500}"""), scope.Lambda.InvokeAsync(name, """{"ms":1500}"""));

        var succeeded = Assert.Single(limited, r => r.StatusCode == 200);
        Assert.True(succeeded.Header("X-Amz-Function-Error") is null, succeeded.ToString());
        Assert.Equal(1500, succeeded.Json().Num("slept"));
        var throttled = Assert.Single(limited, r => r.StatusCode != 200);
        Assert.Equal(ReservedLimitReason, throttled.ShouldBeError(429, "TooManyRequestsException").Str("Reason"));

        var delete = await scope.Lambda.DeleteFunctionConcurrencyAsync(name);
        Assert.True(delete.StatusCode == 204, delete.ToString());
        var unlimited = await Task.WhenAll(scope.Lambda.InvokeAsync(name, """{"ms":1500}"""), scope.Lambda.InvokeAsync(name, """{"ms":1500}"""));

        Assert.All(unlimited, r => Assert.True(r.StatusCode == 200 && r.Header("X-Amz-Function-Error") is null, r.ToString()));
    });

    [Theory]
    [InlineData(AwsCli.V1)]
    [InlineData(AwsCli.V2)]
    public Task Get_account_settings_reports_the_limit_minus_every_reservation_as_unreserved(string cli) => fixture.RunAsync(async scope =>
    {
        var aws = scope.Cli(cli);
        var name = scope.NewFunctionName();
        await scope.Lambda.CreateFunctionAsync(name, FunctionZips.Build(FunctionZips.NodeCjs), NodeRuntime, "index.handler");
        var before = (await aws.LambdaAsync("get-account-settings")).Json();

        (await aws.LambdaAsync("put-function-concurrency", "--function-name", name, "--reserved-concurrent-executions", "25")).ShouldSucceed();
        var reserved = (await aws.LambdaAsync("get-account-settings")).Json();
        (await aws.LambdaAsync("delete-function-concurrency", "--function-name", name)).ShouldSucceed();
        var after = (await aws.LambdaAsync("get-account-settings")).Json();

        Assert.Equal(await scope.Lambda.MemorySizedConcurrencyLimitAsync(), reserved.Num("AccountLimit.ConcurrentExecutions"));
        Assert.Equal(before.Num("AccountLimit.UnreservedConcurrentExecutions") - 25, reserved.Num("AccountLimit.UnreservedConcurrentExecutions"));
        Assert.Equal(before.Num("AccountLimit.UnreservedConcurrentExecutions"), after.Num("AccountLimit.UnreservedConcurrentExecutions"));
    });

    [Theory]
    [InlineData(AwsCli.V1)]
    [InlineData(AwsCli.V2)]
    public Task Put_function_concurrency_that_leaves_fewer_than_100_unreserved_fails_with_InvalidParameterValueException(string cli) => fixture.RunAsync(async scope =>
    {
        var aws = scope.Cli(cli);
        var name = scope.NewFunctionName();
        await scope.Lambda.CreateFunctionAsync(name, FunctionZips.Build(FunctionZips.NodeCjs), NodeRuntime, "index.handler");
        var unreserved = (await aws.LambdaAsync("get-account-settings")).Json().Num("AccountLimit.UnreservedConcurrentExecutions");

        var tooMuch = await aws.LambdaAsync("put-function-concurrency", "--function-name", name, "--reserved-concurrent-executions", $"{unreserved - 99}");
        var justEnough = await aws.LambdaAsync("put-function-concurrency", "--function-name", name, "--reserved-concurrent-executions", $"{unreserved - 100}");
        var settings = (await aws.LambdaAsync("get-account-settings")).Json();
        (await aws.LambdaAsync("delete-function-concurrency", "--function-name", name)).ShouldSucceed();

        Assert.Equal(BelowMinimumMessage, tooMuch.ShouldFailWith("InvalidParameterValueException"));
        Assert.Equal(unreserved - 100, justEnough.Json().Num("ReservedConcurrentExecutions"));
        Assert.Equal(100, settings.Num("AccountLimit.UnreservedConcurrentExecutions"));
    });

    [Fact]
    public Task Deleting_a_function_deletes_its_reservation() => fixture.RunAsync(async scope =>
    {
        var name = scope.NewFunctionName();
        var zip = FunctionZips.Build(FunctionZips.NodeCjs);
        await scope.Lambda.CreateFunctionAsync(name, zip, NodeRuntime, "index.handler");
        var unreserved = (await scope.Lambda.GetAccountSettingsAsync()).Json().Num("AccountLimit.UnreservedConcurrentExecutions");
        await scope.Lambda.PutFunctionConcurrencyAsync(name, 0);

        var delete = await scope.Lambda.DeleteFunctionAsync(name);
        await scope.Lambda.CreateFunctionAsync(name, zip, NodeRuntime, "index.handler");
        var concurrency = await scope.Lambda.GetFunctionConcurrencyAsync(name);
        var settings = (await scope.Lambda.GetAccountSettingsAsync()).Json();
        var invoke = await scope.Lambda.InvokeAsync(name, """{"name":"recreated"}""");

        Assert.True(delete.StatusCode == 204, delete.ToString());
        JsonAssert.Equal("{}", concurrency.Json());
        Assert.Equal(unreserved, settings.Num("AccountLimit.UnreservedConcurrentExecutions"));
        Assert.True(invoke.StatusCode == 200 && invoke.Header("X-Amz-Function-Error") is null, invoke.ToString());
    });

    [Fact]
    public Task Event_invokes_throttled_by_reserved_concurrency_stay_queued_and_all_run() => fixture.RunAsync(async scope =>
    {
        const int Events = 3;
        var name = scope.NewFunctionName();
        await scope.Lambda.CreateFunctionAsync(name, FunctionZips.Build(FunctionZips.NodeBehaviours), NodeRuntime, "pid.handler", timeout: 30);
        await scope.Lambda.PutFunctionConcurrencyAsync(name, 1);

        var accepted = await Task.WhenAll(Enumerable.Range(0, Events).Select(_ => scope.Lambda.InvokeAsync(name, """{"ms":500}""", invocationType: "Event")));
        Assert.All(accepted, r => Assert.True(r.StatusCode == 202, r.ToString()));

        // Reserved concurrency 1 means one instance, and pid.handler counts every invocation it ran. The events ran
        // once a synchronous invoke's count exceeds the synchronous invokes that succeeded so far by Events.
        var synchronous = 0;
        var deadline = DateTime.UtcNow + AsyncDeadline;
        HttpResult? last = null;
        while (DateTime.UtcNow < deadline)
        {
            last = await scope.Lambda.InvokeAsync(name, """{"ms":0}""");
            if (last.StatusCode == 200)
            {
                synchronous++;
                if (last.Json().Num("count") - synchronous == Events)
                {
                    return;
                }
            }
            else
            {
                Assert.Equal(ReservedLimitReason, last.ShouldBeError(429, "TooManyRequestsException").Str("Reason"));
            }

            await Task.Delay(TimeSpan.FromMilliseconds(250));
        }

        Assert.Fail($"{Events} throttled events did not all run within {AsyncDeadline.TotalSeconds:0} s.{Environment.NewLine}Last invoke: {last}");
    });

    [Fact]
    public Task Event_invokes_of_a_function_with_reserved_concurrency_zero_are_dropped_with_a_warning() => fixture.RunAsync(async scope =>
    {
        var name = scope.NewFunctionName();
        await scope.Lambda.CreateFunctionAsync(name, FunctionZips.Build(FunctionZips.NodeCjs), NodeRuntime, "index.handler");
        await scope.Lambda.PutFunctionConcurrencyAsync(name, 0);

        var accepted = await scope.Lambda.InvokeAsync(name, """{"name":"dropped"}""", invocationType: "Event");

        Assert.True(accepted.StatusCode == 202, accepted.ToString());
        var warning = $"An asynchronous event for {name} was dropped: the function's reserved concurrency is 0";
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (!scope.Server.DescribeOutput(lines: 2_000).Contains(warning, StringComparison.Ordinal))
        {
            Assert.True(DateTime.UtcNow < deadline, $"The server should log \"{warning}...\" within 10 s.");
            await Task.Delay(TimeSpan.FromMilliseconds(100));
        }
    });

    /// <summary>GetFunctionConcurrency's value as a CLI printed it: nothing at all (or {}) when the function has none.</summary>
    private static long? ReservedConcurrency(CliResult result)
    {
        result.ShouldSucceed();
        if (result.Stdout.Trim().Length == 0)
        {
            return null;
        }

        var json = result.Json();
        return json.ValueKind == JsonValueKind.Object && json.Has("ReservedConcurrentExecutions") ? json.Num("ReservedConcurrentExecutions") : null;
    }
}
