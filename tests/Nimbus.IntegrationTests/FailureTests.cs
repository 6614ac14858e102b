using System.Diagnostics;
using System.Text;

namespace Nimbus.IntegrationTests;

/// <summary>What callers see when functions time out, throw, crash or fail to load, and when requests are too big or malformed.</summary>
public sealed class FailureTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private const string NodeRuntime = "nodejs20.x";
    private const string PythonRuntime = "python3.11";

    /// <summary>One byte over Invoke's synchronous payload limit of 6,291,456 bytes.</summary>
    private const int OversizePayloadBytes = 6_291_457;

    [Theory]
    [InlineData(AwsCli.V1)]
    [InlineData(AwsCli.V2)]
    public Task Invoke_past_the_timeout_returns_Sandbox_Timedout_and_the_next_invoke_succeeds(string cli) => fixture.RunAsync(async scope =>
    {
        var aws = scope.Cli(cli);
        var name = scope.NewFunctionName();
        (await aws.CreateFunctionAsync(name, FunctionZips.Build(FunctionZips.NodeBehaviours), NodeRuntime, "sleep.handler", "--timeout", "1")).ShouldSucceed();

        var error = (await aws.InvokeAsync(name, """{"ms":5000}""")).ShouldFailUnhandled();

        Assert.Equal("Sandbox.Timedout", error.Str("errorType"));
        Assert.Contains("Task timed out after 1.00 seconds", error.Str("errorMessage"), StringComparison.Ordinal);
        JsonAssert.Equal("""{"slept":10}""", (await aws.InvokeAsync(name, """{"ms":10}""")).ShouldReturn());
    });

    [Fact]
    public Task Invoke_past_the_timeout_returns_when_the_timeout_expires_not_when_the_handler_would_finish() => fixture.RunAsync(async scope =>
    {
        var name = scope.NewFunctionName();
        await scope.Lambda.CreateFunctionAsync(name, FunctionZips.Build(FunctionZips.NodeBehaviours), NodeRuntime, "sleep.handler", timeout: 1);

        var stopwatch = Stopwatch.StartNew();
        var response = await scope.Lambda.InvokeAsync(name, """{"ms":5000}""");
        var elapsed = stopwatch.Elapsed;

        Assert.True(response.StatusCode == 200 && response.Header("X-Amz-Function-Error") == "Unhandled", response.ToString());
        Assert.Equal("Sandbox.Timedout", response.Json().Str("errorType"));
        Assert.True(elapsed < TimeSpan.FromSeconds(4.5), $"A 1 s timeout should cut a 5 s sleep; the invoke took {elapsed.TotalSeconds:0.00} s.");
    });

    [Theory]
    [InlineData(AwsCli.V1)]
    [InlineData(AwsCli.V2)]
    public Task Node_handler_error_returns_Unhandled_with_errorType_errorMessage_and_trace(string cli) => fixture.RunAsync(async scope =>
    {
        var aws = scope.Cli(cli);
        var name = scope.NewFunctionName();
        (await aws.CreateFunctionAsync(name, FunctionZips.Build(FunctionZips.NodeBehaviours), NodeRuntime, "error.handler")).ShouldSucceed();

        var error = (await aws.InvokeAsync(name, "{}")).ShouldFailUnhandled();

        Assert.Equal("Error", error.Str("errorType"));
        Assert.Equal("boom", error.Str("errorMessage"));
        Assert.NotEmpty(error.Array("trace"));
    });

    [Theory]
    [InlineData(AwsCli.V1)]
    [InlineData(AwsCli.V2)]
    public Task Python_handler_exception_returns_Unhandled_with_ValueError_and_stackTrace(string cli) => fixture.RunAsync(async scope =>
    {
        var aws = scope.Cli(cli);
        var name = scope.NewFunctionName();
        (await aws.CreateFunctionAsync(name, FunctionZips.Build(FunctionZips.Python), PythonRuntime, "errors.handler")).ShouldSucceed();

        var error = (await aws.InvokeAsync(name, "{}")).ShouldFailUnhandled();

        Assert.Equal("ValueError", error.Str("errorType"));
        Assert.Equal("bad value", error.Str("errorMessage"));
        Assert.NotEmpty(error.Array("stackTrace"));
    });

    [Theory]
    [InlineData(AwsCli.V1)]
    [InlineData(AwsCli.V2)]
    public Task Runtime_exit_returns_Runtime_ExitError_and_the_next_invoke_gets_a_new_instance(string cli) => fixture.RunAsync(async scope =>
    {
        var aws = scope.Cli(cli);
        var name = scope.NewFunctionName();

        // dispatch.handler runs crash.js or sleep.js by event, so both invokes hit the same configuration.
        (await aws.CreateFunctionAsync(name, FunctionZips.Build(FunctionZips.NodeBehaviours), NodeRuntime, "dispatch.handler")).ShouldSucceed();

        var error = (await aws.InvokeAsync(name, """{"action":"crash"}""")).ShouldFailUnhandled();

        Assert.Equal("Runtime.ExitError", error.Str("errorType"));
        Assert.Contains("Runtime exited with error: exit status 3", error.Str("errorMessage"), StringComparison.Ordinal);
        JsonAssert.Equal("""{"slept":1}""", (await aws.InvokeAsync(name, """{"action":"sleep","ms":1}""")).ShouldReturn());
    });

    [Theory]
    [InlineData(AwsCli.V1)]
    [InlineData(AwsCli.V2)]
    public Task Error_thrown_while_loading_the_module_returns_Unhandled_with_that_error(string cli) => fixture.RunAsync(async scope =>
    {
        var aws = scope.Cli(cli);
        var name = scope.NewFunctionName();
        (await aws.CreateFunctionAsync(name, FunctionZips.Build(FunctionZips.NodeInitError), NodeRuntime, "index.handler")).ShouldSucceed();

        var error = (await aws.InvokeAsync(name, "{}")).ShouldFailUnhandled();

        Assert.Equal("Error", error.Str("errorType"));
        Assert.Equal("init failed", error.Str("errorMessage"));
    });

    [Theory]
    [InlineData(AwsCli.V1, NodeRuntime, FunctionZips.NodeCjs)]
    [InlineData(AwsCli.V2, NodeRuntime, FunctionZips.NodeCjs)]
    [InlineData(AwsCli.V1, PythonRuntime, FunctionZips.Python)]
    [InlineData(AwsCli.V2, PythonRuntime, FunctionZips.Python)]
    public Task Handler_in_a_missing_module_returns_Runtime_ImportModuleError(string cli, string runtime, string fixtureName) => fixture.RunAsync(async scope =>
    {
        var aws = scope.Cli(cli);
        var name = scope.NewFunctionName();
        (await aws.CreateFunctionAsync(name, FunctionZips.Build(fixtureName), runtime, "nope.handler")).ShouldSucceed();

        var error = (await aws.InvokeAsync(name, "{}")).ShouldFailUnhandled();

        Assert.Equal("Runtime.ImportModuleError", error.Str("errorType"));
    });

    [Fact]
    public Task Invoke_returns_413_RequestTooLargeException_for_payload_over_6MB() => fixture.RunAsync(async scope =>
    {
        var name = scope.NewFunctionName();
        await scope.Lambda.CreateFunctionAsync(name, FunctionZips.Build(FunctionZips.NodeCjs), NodeRuntime, "index.handler");

        var response = await scope.Lambda.InvokeAsync(name, OversizePayload());

        var error = response.ShouldBeError(413, "RequestTooLargeException");
        Assert.Equal("Request must be smaller than 6291456 bytes for the InvokeFunction operation", error.Str("message"));
    });

    [Theory]
    [InlineData(AwsCli.V1)]
    [InlineData(AwsCli.V2)]
    public Task Invoke_with_payload_over_6MB_fails_with_RequestTooLargeException(string cli) => fixture.RunAsync(async scope =>
    {
        var aws = scope.Cli(cli);
        var name = scope.NewFunctionName();
        await scope.Lambda.CreateFunctionAsync(name, FunctionZips.Build(FunctionZips.NodeCjs), NodeRuntime, "index.handler");

        var message = (await aws.InvokeCommandAsync(name, Encoding.UTF8.GetString(OversizePayload()))).ShouldFailWith("RequestTooLargeException");

        Assert.Equal("Request must be smaller than 6291456 bytes for the InvokeFunction operation", message);
    });

    [Theory]
    [InlineData(AwsCli.V1)]
    [InlineData(AwsCli.V2)]
    public Task Create_function_with_code_that_is_not_a_zip_fails_with_InvalidParameterValueException(string cli) => fixture.RunAsync(async scope =>
    {
        var aws = scope.Cli(cli);
        var name = scope.NewFunctionName();

        // Both CLIs refuse a --zip-file (or --code ZipFile=) their own zipfile module cannot open, before
        // sending anything; the same request as --cli-input-json reaches the server.
        var input = Path.Combine(scope.ScratchDirectory, "create-function.json");
        await File.WriteAllTextAsync(input, LambdaHttp.CreateFunctionRequest(name, FunctionZips.NotAZip(), NodeRuntime, "index.handler").ToJsonString());
        var message = (await aws.LambdaAsync("create-function", "--cli-input-json", "file://" + input)).ShouldFailWith("InvalidParameterValueException");

        Assert.Contains("Could not unzip uploaded file", message, StringComparison.Ordinal);
        (await aws.LambdaAsync("get-function", "--function-name", name)).ShouldFailWith("ResourceNotFoundException");
    });

    [Fact]
    public Task Create_function_over_http_with_random_bytes_as_the_zip_returns_400_InvalidParameterValueException() => fixture.RunAsync(async scope =>
    {
        var name = scope.NewFunctionName();

        var response = await scope.Lambda.CreateFunctionAsync(LambdaHttp.CreateFunctionRequest(name, FunctionZips.NotAZip(), NodeRuntime, "index.handler"));

        var error = response.ShouldBeError(400, "InvalidParameterValueException");
        Assert.Contains("Could not unzip uploaded file", error.Str("message"), StringComparison.Ordinal);
        Assert.Equal(404, (await scope.Lambda.GetFunctionAsync(name)).StatusCode);
    });

    /// <summary>A valid JSON document of exactly <see cref="OversizePayloadBytes"/> bytes.</summary>
    private static byte[] OversizePayload()
    {
        const string Prefix = "{\"a\":\"";
        const string Suffix = "\"}";
        return Encoding.ASCII.GetBytes(Prefix + new string('x', OversizePayloadBytes - Prefix.Length - Suffix.Length) + Suffix);
    }
}
