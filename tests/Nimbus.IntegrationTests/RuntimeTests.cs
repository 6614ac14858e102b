namespace Nimbus.IntegrationTests;

/// <summary>Each runtime runs its kind of handler: Node.js CommonJS, ES modules, callbacks, Python, and a bash custom runtime.</summary>
public sealed class RuntimeTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    [Theory]
    [InlineData("nodejs20.x", FunctionZips.NodeCjs, "index.handler", AwsCli.V1)]
    [InlineData("nodejs22.x", FunctionZips.NodeCjs, "index.handler", AwsCli.V2)]
    [InlineData("python3.11", FunctionZips.Python, "lambda_function.lambda_handler", AwsCli.V1)]
    [InlineData("python3.12", FunctionZips.Python, "lambda_function.lambda_handler", AwsCli.V2)]
    [InlineData("python3.13", FunctionZips.Python, "lambda_function.lambda_handler", AwsCli.V1)]
    [InlineData("provided.al2023", FunctionZips.Provided, "function.handler", AwsCli.V2)]
    public Task Every_supported_runtime_creates_and_runs_its_function(string runtime, string fixtureName, string handler, string cli) => fixture.RunAsync(async scope =>
    {
        var aws = scope.Cli(cli);
        var name = scope.NewFunctionName();

        var created = (await aws.CreateFunctionAsync(name, FunctionZips.Build(fixtureName), runtime, handler)).Json();

        Assert.Equal(runtime, created.Str("Runtime"));
        Assert.Equal(handler, created.Str("Handler"));
        Assert.Equal("Active", created.Str("State"));
        Assert.Equal(runtime, (await aws.LambdaAsync("get-function-configuration", "--function-name", name)).Json().Str("Runtime"));

        // Each on an interpreter of its version, else the nearest newer one, else the family's default (RuntimeVersionTests).
        (await aws.InvokeAsync(name, """{"name":"any"}""")).ShouldReturn();
    });

    [Theory]
    [InlineData(AwsCli.V1)]
    [InlineData(AwsCli.V2)]
    public Task Node_ES_module_handler_in_index_mjs_runs(string cli) => fixture.RunAsync(async scope =>
    {
        var aws = scope.Cli(cli);
        var name = scope.NewFunctionName();
        (await aws.CreateFunctionAsync(name, FunctionZips.Build(FunctionZips.NodeEsm), "nodejs20.x", "index.handler")).ShouldSucceed();

        var result = (await aws.InvokeAsync(name, """{"name":"esm"}""")).ShouldReturn();

        JsonAssert.Equal("""{"esm":true,"name":"esm"}""", result);
    });

    [Theory]
    [InlineData(AwsCli.V1)]
    [InlineData(AwsCli.V2)]
    public Task Node_ES_module_handler_in_a_nested_directory_runs(string cli) => fixture.RunAsync(async scope =>
    {
        var aws = scope.Cli(cli);
        var name = scope.NewFunctionName();
        (await aws.CreateFunctionAsync(name, FunctionZips.Build(FunctionZips.NodeEsm), "nodejs20.x", "src/handlers/app.handler")).ShouldSucceed();

        var result = (await aws.InvokeAsync(name, """{"name":"nested"}""")).ShouldReturn();

        JsonAssert.Equal("""{"esm":true,"nested":true,"name":"nested"}""", result);
    });

    [Theory]
    [InlineData(AwsCli.V1)]
    [InlineData(AwsCli.V2)]
    public Task Node_callback_style_handler_runs(string cli) => fixture.RunAsync(async scope =>
    {
        var aws = scope.Cli(cli);
        var name = scope.NewFunctionName();
        (await aws.CreateFunctionAsync(name, FunctionZips.Build(FunctionZips.NodeCallback), "nodejs20.x", "index.handler")).ShouldSucceed();

        var result = (await aws.InvokeAsync(name, "{}")).ShouldReturn();

        JsonAssert.Equal("""{"cb":true}""", result);
    });

    // The Python client reads the Runtime API into one reused buffer and parses responses in place: an event that takes
    // many reads, and the small events between such events, must arrive whole and in order.
    [Fact]
    public Task Python_handler_gets_events_larger_than_one_socket_read_between_small_ones() => fixture.RunAsync(async scope =>
    {
        var name = scope.NewFunctionName();
        await scope.Lambda.CreateFunctionAsync(name, FunctionZips.Build(FunctionZips.Python), "python3.12", "lambda_function.lambda_handler");

        var count = 0;
        foreach (var size in new[] { 1, 3_000_000, 2, 200_000, 3, 70_000, 4, 1 })
        {
            var text = new string('x', size);
            var result = await scope.Lambda.InvokeAsync(name, $$"""{"name":"{{text}}"}""");
            Assert.True(result.StatusCode == 200, $"Invoke with a {size}-character name should answer 200.{Environment.NewLine}{result}");
            using var answer = System.Text.Json.JsonDocument.Parse(result.Body);
            Assert.Equal(text, answer.RootElement.GetProperty("name").GetString());
            Assert.Equal(++count, answer.RootElement.GetProperty("count").GetInt32());
        }
    });

    [Theory]
    [InlineData(AwsCli.V1)]
    [InlineData(AwsCli.V2)]
    public Task Python_handler_gets_event_and_context_logs_its_output_and_keeps_module_state_while_warm(string cli) => fixture.RunAsync(async scope =>
    {
        var aws = scope.Cli(cli);
        var name = scope.NewFunctionName();
        (await aws.CreateFunctionAsync(name, FunctionZips.Build(FunctionZips.Python), "python3.11", "lambda_function.lambda_handler")).ShouldSucceed();

        var first = await aws.InvokeAsync(name, """{"name":"py"}""", "--log-type", "Tail");
        var result = first.ShouldReturn();
        Assert.Equal("$LATEST", first.ExecutedVersion);
        Assert.Equal(1, result.Num("count"));
        Assert.Equal("py", result.Str("name"));
        Assert.Equal(name, result.Str("fn"));
        Assert.InRange(result.Num("remaining"), 1, 3_000);
        LambdaLog.ShouldDescribeInvocation(first.ShouldHaveLog(), memorySize: 128, coldStart: true, "hello from python");

        Assert.Equal(2, (await aws.InvokeAsync(name, """{"name":"py"}""")).ShouldReturn().Num("count"));
        Assert.Equal(3, (await aws.InvokeAsync(name, """{"name":"py"}""")).ShouldReturn().Num("count"));
    });

    [Theory]
    [InlineData(AwsCli.V1)]
    [InlineData(AwsCli.V2)]
    public Task Provided_al2023_bash_bootstrap_serves_invocations_through_the_Runtime_API(string cli) => fixture.RunAsync(async scope =>
    {
        var aws = scope.Cli(cli);
        var name = scope.NewFunctionName();
        (await aws.CreateFunctionAsync(name, FunctionZips.Build(FunctionZips.Provided), "provided.al2023", "function.handler")).ShouldSucceed();

        var first = await aws.InvokeAsync(name, """{"hello":"world"}""", "--log-type", "Tail");
        var second = await aws.InvokeAsync(name, """{"n":2}""");

        JsonAssert.Equal("""{"provided":true,"event":{"hello":"world"}}""", first.ShouldReturn());
        LambdaLog.ShouldDescribeInvocation(first.ShouldHaveLog(), memorySize: 128, coldStart: true, "provided handling ");
        JsonAssert.Equal("""{"provided":true,"event":{"n":2}}""", second.ShouldReturn());
    });
}
