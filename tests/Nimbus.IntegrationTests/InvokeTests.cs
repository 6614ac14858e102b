using System.Text;
using System.Text.Json;

namespace Nimbus.IntegrationTests;

/// <summary>Synchronous, asynchronous and dry-run invokes; logs; warm reuse; scaling out under load.</summary>
public sealed class InvokeTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private const string NodeRuntime = "nodejs20.x";

    [Theory]
    [InlineData(AwsCli.V1)]
    [InlineData(AwsCli.V2)]
    public Task Invoke_with_log_type_Tail_returns_START_END_REPORT_with_Init_Duration_only_when_cold(string cli) => fixture.RunAsync(async scope =>
    {
        var aws = scope.Cli(cli);
        var name = scope.NewFunctionName();
        (await aws.CreateFunctionAsync(name, FunctionZips.Build(FunctionZips.NodeCjs), NodeRuntime, "index.handler")).ShouldSucceed();

        var cold = await aws.InvokeAsync(name, """{"name":"first"}""", "--log-type", "Tail");
        var warm = await aws.InvokeAsync(name, """{"name":"second"}""", "--log-type", "Tail");

        Assert.Equal(1, cold.ShouldReturn().Num("count"));
        Assert.Equal("$LATEST", cold.ExecutedVersion);
        LambdaLog.ShouldDescribeInvocation(cold.ShouldHaveLog(), memorySize: 128, coldStart: true, "hello from node");
        Assert.Equal(2, warm.ShouldReturn().Num("count"));
        LambdaLog.ShouldDescribeInvocation(warm.ShouldHaveLog(), memorySize: 128, coldStart: false, "hello from node");
    });

    [Theory]
    [InlineData(AwsCli.V1)]
    [InlineData(AwsCli.V2)]
    public Task Invoke_reuses_the_warm_instance_so_module_state_counts_1_2_3(string cli) => fixture.RunAsync(async scope =>
    {
        var aws = scope.Cli(cli);
        var name = scope.NewFunctionName();
        (await aws.CreateFunctionAsync(name, FunctionZips.Build(FunctionZips.NodeCjs), NodeRuntime, "index.handler")).ShouldSucceed();

        var counts = new List<long>();
        for (var i = 0; i < 3; i++)
        {
            counts.Add((await aws.InvokeAsync(name, """{"name":"warm"}""")).ShouldReturn().Num("count"));
        }

        Assert.Equal([1L, 2L, 3L], counts);
    });

    [Fact]
    public Task Back_to_back_invokes_all_run_on_one_warm_instance_without_a_runtime_error() => fixture.RunAsync(async scope =>
    {
        // A runtime asks for its next event right after answering; that request may race the next dispatch.
        const int Invokes = 200;
        var name = scope.NewFunctionName();
        await scope.Lambda.CreateFunctionAsync(name, FunctionZips.Build(FunctionZips.NodeCjs), NodeRuntime, "index.handler");

        for (var i = 1; i <= Invokes; i++)
        {
            var response = await scope.Lambda.InvokeAsync(name, """{"name":"loop"}""");
            Assert.True(response.StatusCode == 200 && response.Header("X-Amz-Function-Error") is null, $"invoke {i}: {response}");
            Assert.Equal(i, response.Json().Num("count"));
        }
    });

    [Fact]
    public Task Parallel_invokes_start_several_instances_and_a_later_invoke_reuses_a_warm_one() => fixture.RunAsync(async scope =>
    {
        const int Parallel = 6;
        var name = scope.NewFunctionName();
        await scope.Lambda.CreateFunctionAsync(name, FunctionZips.Build(FunctionZips.NodeBehaviours), NodeRuntime, "pid.handler", timeout: 30);

        var responses = await Task.WhenAll(Enumerable.Range(0, Parallel).Select(_ => scope.Lambda.InvokeAsync(name, """{"ms":1500}""")));

        var instances = new HashSet<string>();
        foreach (var response in responses)
        {
            Assert.True(response.StatusCode == 200 && response.Header("X-Amz-Function-Error") is null, response.ToString());
            instances.Add(response.Json().Str("instance"));
        }

        // Sandboxes may live in their own PID namespace, where every instance has the same pid; the
        // fixture's per-module random id tells instances apart either way.
        Assert.True(instances.Count > 1, $"{Parallel} overlapping invokes of 1.5 s should run on more than one instance; all ran on {string.Join(", ", instances)}.");

        var later = await scope.Lambda.InvokeAsync(name, """{"ms":0}""");
        Assert.True(later.StatusCode == 200 && later.Header("X-Amz-Function-Error") is null, later.ToString());
        Assert.Contains(later.Json().Str("instance"), instances);
        Assert.True(later.Json().Num("count") >= 2, $"The later invoke should run on a warm instance.{Environment.NewLine}{later}");
    });

    [Theory]
    [InlineData(AwsCli.V1)]
    [InlineData(AwsCli.V2)]
    public Task Invoke_with_invocation_type_DryRun_returns_204_without_running_the_handler(string cli) => fixture.RunAsync(async scope =>
    {
        var aws = scope.Cli(cli);
        var name = scope.NewFunctionName();
        (await aws.CreateFunctionAsync(name, FunctionZips.Build(FunctionZips.NodeCjs), NodeRuntime, "index.handler")).ShouldSucceed();

        var dryRun = await aws.InvokeAsync(name, payload: null, "--invocation-type", "DryRun");

        Assert.Equal(204, dryRun.StatusCode);
        Assert.Equal(1, (await aws.InvokeAsync(name, """{"name":"real"}""")).ShouldReturn().Num("count"));
    });

    [Theory]
    [InlineData(AwsCli.V1)]
    [InlineData(AwsCli.V2)]
    public Task Invoke_with_invocation_type_Event_returns_202(string cli) => fixture.RunAsync(async scope =>
    {
        var aws = scope.Cli(cli);
        var name = scope.NewFunctionName();
        (await aws.CreateFunctionAsync(name, FunctionZips.Build(FunctionZips.NodeCjs), NodeRuntime, "index.handler")).ShouldSucceed();

        var queued = await aws.InvokeAsync(name, """{"name":"async"}""", "--invocation-type", "Event");

        Assert.Equal(202, queued.StatusCode);
        Assert.Equal("", queued.PayloadText);
    });

    [Fact]
    public Task Invoke_over_http_returns_the_payload_with_executed_version_and_log_result_headers() => fixture.RunAsync(async scope =>
    {
        var name = scope.NewFunctionName();
        await scope.Lambda.CreateFunctionAsync(name, FunctionZips.Build(FunctionZips.NodeCjs), NodeRuntime, "index.handler");

        var response = await scope.Lambda.InvokeAsync(name, """{"name":"raw"}""", logType: "Tail");

        Assert.True(response.StatusCode == 200, response.ToString());
        Assert.Null(response.Header("X-Amz-Function-Error"));
        Assert.Equal("$LATEST", response.Header("X-Amz-Executed-Version"));
        Assert.Equal("raw", response.Json().Str("name"));
        var log = Encoding.UTF8.GetString(Convert.FromBase64String(response.Header("X-Amz-Log-Result") ?? ""));
        LambdaLog.ShouldDescribeInvocation(log, memorySize: 128, coldStart: true, "hello from node");
    });

    [Fact]
    public Task Invoke_returns_a_1MB_response_intact() => fixture.RunAsync(async scope =>
    {
        const int Bytes = 1024 * 1024;
        var name = scope.NewFunctionName();
        await scope.Lambda.CreateFunctionAsync(name, FunctionZips.Build(FunctionZips.NodeBehaviours), NodeRuntime, "big.handler");

        var response = await scope.Lambda.InvokeAsync(name, $$"""{"bytes":{{Bytes}}}""");

        Assert.True(response.StatusCode == 200 && response.Header("X-Amz-Function-Error") is null, response.ToString());
        var text = response.Json();
        Assert.Equal(JsonValueKind.String, text.ValueKind);
        Assert.Equal(new string('x', Bytes), text.GetString());
    });

    [Fact]
    public Task Invoke_reaches_the_function_by_every_path_form_the_Lambda_API_accepts() => fixture.RunAsync(async scope =>
    {
        // The exact form takes Invoke's direct route; the others (an escaped ARN aside) go through the general matcher.
        var name = scope.NewFunctionName();
        await scope.Lambda.CreateFunctionAsync(name, FunctionZips.Build(FunctionZips.NodeCjs), NodeRuntime, "index.handler");
        var arn = Uri.EscapeDataString($"arn:aws:lambda:us-east-1:000000000000:function:{name}");
        string[] paths =
        [
            $"/2015-03-31/functions/{name}/invocations",
            $"/2015-03-31/functions/{arn}/invocations",
            $"/2015-03-31/functions/{name}:$LATEST/invocations",
            $"/2015-03-31/FUNCTIONS/{name}/Invocations",
            $"/2015-03-31/functions/{name}/invocations/",
        ];

        var count = 0;
        foreach (var path in paths)
        {
            var response = await scope.Lambda.SendAsync(HttpMethod.Post, path, new StringContent("""{"name":"path"}""", Encoding.UTF8, "application/json"));
            Assert.True(response.StatusCode == 200 && response.Header("X-Amz-Function-Error") is null, response.ToString());
            Assert.Equal("$LATEST", response.Header("X-Amz-Executed-Version"));
            Assert.Equal(++count, response.Json().Num("count"));
        }

        var missing = await scope.Lambda.SendAsync(HttpMethod.Post, $"/2015-03-31/functions/{name}-missing/invocations", new StringContent("{}", Encoding.UTF8, "application/json"));
        Assert.Equal(404, missing.StatusCode);
        Assert.Equal("ResourceNotFoundException", missing.Header("x-amzn-ErrorType"));
        var get = await scope.Lambda.SendAsync(HttpMethod.Get, $"/2015-03-31/functions/{name}/invocations");
        Assert.NotEqual(200, get.StatusCode);
    });

    [Fact]
    public Task Invoke_returns_a_1MB_response_intact_to_a_caller_that_reads_it_slowly() =>
        // A small receive window fills the server's socket buffer: the response's sends stop part-way and resume when
        // the caller reads on (responses are sent by the thread that wrote them; this is the path where one cannot).
        fixture.RunAsync(SlowReader.AssertOneMegabyteArrivesIntactAsync);
}
