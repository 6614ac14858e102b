using System.Text;

namespace Nimbus.IntegrationTests;

/// <summary>
/// The dotnet8 and dotnet10 runtimes run class-library functions built as AWS's templates build them: a net8.0
/// assembly against (a look-alike of) Amazon.Lambda.Core, handlers <c>Assembly::Type::Method</c> of every shape
/// Lambda accepts, the assembly's own serializer, and the context interface of the function's own package.
/// </summary>
public sealed class DotnetRuntimeTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private const string Handler = "DotnetFunction::DotnetFunction.Functions::";

    [Theory]
    [InlineData("dotnet8", AwsCli.V1)]
    [InlineData("dotnet10", AwsCli.V2)]
    public Task Dotnet_POCO_handler_with_context_uses_the_assemblys_LambdaSerializer(string runtime, string cli) => fixture.RunAsync(async scope =>
    {
        var aws = scope.Cli(cli);
        var name = scope.NewFunctionName();
        var created = (await aws.CreateFunctionAsync(name, FunctionZips.Build(FunctionZips.DotnetFunction), runtime, Handler + "Order")).Json();
        Assert.Equal(runtime, created.Str("Runtime"));

        var invocation = await aws.InvokeAsync(name, """{"OrderID":"o-1","quantity":3}""", "--log-type", "Tail");

        // camelCase out and Missing (null) left out: the function's CamelCaseSerializer wrote this, not a default.
        Assert.Equal("""{"orderId":"o-1","total":30}""", invocation.PayloadText.Trim());
        invocation.ShouldReturn();
        LambdaLog.ShouldDescribeInvocation(invocation.ShouldHaveLog(), memorySize: 128, coldStart: true, "\tinfo\torder o-1 x3");
    });

    // The runtime's work, the same whichever CLI invokes: one CLI (the POCO test above runs both).
    [Fact]
    public Task Dotnet_handler_shapes_without_context_returning_values_tasks_and_void() => fixture.RunAsync(async scope =>
    {
        var aws = scope.Cli(AwsCli.V1);
        var zip = FunctionZips.Build(FunctionZips.DotnetFunction);
        async Task<CliInvocation> RunAsync(string method, string payload)
        {
            var name = scope.NewFunctionName();
            (await aws.CreateFunctionAsync(name, zip, "dotnet8", Handler + method)).ShouldSucceed();
            return await aws.InvokeAsync(name, payload);
        }

        // (input) -> Task<string>
        Assert.Equal("ABC", (await RunAsync("Upper", "\"abc\"")).ShouldReturn().GetString());
        // static (input) -> string
        Assert.Equal("static x", (await RunAsync("Static", "\"x\"")).ShouldReturn().GetString());
        // (input, context) -> Task and (input, context) -> void: an empty payload
        foreach (var (method, payload) in new[] { ("Wait", "5"), ("Log", "\"x\"") })
        {
            var invocation = await RunAsync(method, payload);
            Assert.True(invocation.StatusCode == 200 && invocation.FunctionError is null && invocation.PayloadText.Length == 0, $"{method} should return an empty payload.{Environment.NewLine}{invocation}");
        }

        // () -> int, with static state kept while warm
        var counter = scope.NewFunctionName();
        (await aws.CreateFunctionAsync(counter, zip, "dotnet10", Handler + "Count")).ShouldSucceed();
        Assert.Equal(1, (await aws.InvokeAsync(counter, "{}")).ShouldReturn().GetInt32());
        Assert.Equal(2, (await aws.InvokeAsync(counter, "{}")).ShouldReturn().GetInt32());
    });

    [Theory]
    [InlineData(AwsCli.V1)]
    [InlineData(AwsCli.V2)]
    public Task Dotnet_Stream_handler_gets_the_raw_payload_and_returns_raw_bytes(string cli) => fixture.RunAsync(async scope =>
    {
        var aws = scope.Cli(cli);
        var name = scope.NewFunctionName();
        (await aws.CreateFunctionAsync(name, FunctionZips.Build(FunctionZips.DotnetFunction), "dotnet8", Handler + "Echo")).ShouldSucceed();

        var result = (await aws.InvokeAsync(name, """{"a":1,"b":"two"}""")).ShouldReturn();

        JsonAssert.Equal("""[{"a":1,"b":"two"}]""", result);
    });

    [Fact]
    public Task Dotnet_logger_and_console_write_Lambda_log_entries_with_level_and_request_id() => fixture.RunAsync(async scope =>
    {
        var aws = scope.Cli(AwsCli.V2);
        var name = scope.NewFunctionName();
        (await aws.CreateFunctionAsync(name, FunctionZips.Build(FunctionZips.DotnetFunction), "dotnet8", Handler + "Log")).ShouldSucceed();

        var invocation = await aws.InvokeAsync(name, "\"hi\"", "--log-type", "Tail");

        var log = invocation.ShouldHaveLog();
        var requestId = System.Text.RegularExpressions.Regex.Match(log, "START RequestId: (\\S+)").Groups[1].Value;
        foreach (var entry in new[] { "info\tconsole says hi", "info\tlogger says hi", "info\tinfo says hi", "warn\twarning says hi", "fail\tstderr says hi" })
        {
            Assert.True(log.Contains($"\t{requestId}\t{entry}", StringComparison.Ordinal), $"Expected an entry '<timestamp>\\t{requestId}\\t{entry}'.{Environment.NewLine}{log}");
        }
    });

    [Fact]
    public Task Dotnet_context_bridges_the_functions_ILambdaContext_with_client_context_and_environment() => fixture.RunAsync(async scope =>
    {
        var aws = scope.Cli(AwsCli.V1);
        var name = scope.NewFunctionName();
        (await aws.CreateFunctionAsync(name, FunctionZips.Build(FunctionZips.DotnetFunction), "dotnet8", Handler + "Context",
            "--timeout", "7", "--memory-size", "256", "--environment", "Variables={USER_VAR=from-user}")).ShouldSucceed();
        var clientContext = Convert.ToBase64String(Encoding.UTF8.GetBytes("""{"custom":{"k":"v"},"client":{"app_title":"title"},"env":{}}"""));

        var context = (await aws.InvokeAsync(name, "{}", "--client-context", clientContext)).ShouldReturn();

        Assert.Equal(36, context.Str("awsRequestId").Length);
        Assert.Equal(name, context.Str("functionName"));
        Assert.Equal("$LATEST", context.Str("functionVersion"));
        Assert.EndsWith($":function:{name}", context.Str("invokedFunctionArn"));
        Assert.Equal($"/aws/lambda/{name}", context.Str("logGroupName"));
        Assert.Contains("[$LATEST]", context.Str("logStreamName"));
        Assert.Equal(256, context.Num("memoryLimitInMB"));
        Assert.InRange(context.Num("remainingMs"), 1, 7_000);
        Assert.Equal("v", context.Str("clientCustom"));
        Assert.Equal("title", context.Str("clientAppTitle"));
        Assert.Equal("/var/task", context.Str("cwd"));
        Assert.Equal("/var/task", context.Str("taskRoot"));
        Assert.Equal("AWS_Lambda_dotnet8", context.Str("executionEnv"));
        Assert.Equal("from-user", context.Str("userVar"));
        Assert.StartsWith(".NET ", context.Str("framework"));
    });

    [Theory]
    [InlineData("Throw", "InvalidOperationException", "boom: x")]
    [InlineData("ThrowAsync", "ArgumentException", "async boom")]
    public Task Dotnet_exception_returns_Lambdas_error_document(string method, string errorType, string message) => fixture.RunAsync(async scope =>
    {
        var aws = scope.Cli(AwsCli.V2);
        var name = scope.NewFunctionName();
        (await aws.CreateFunctionAsync(name, FunctionZips.Build(FunctionZips.DotnetFunction), "dotnet8", Handler + method)).ShouldSucceed();

        var error = (await aws.InvokeAsync(name, "\"x\"")).ShouldFailUnhandled();

        Assert.Equal(errorType, error.Str("errorType"));
        Assert.Equal(message, error.Str("errorMessage"));
        Assert.Contains(error.Array("stackTrace"), line => line.GetString()!.Contains("DotnetFunction.Functions", StringComparison.Ordinal));
    });

    [Theory]
    [InlineData("DotnetFunction::DotnetFunction.Functions", "LambdaValidationException", "Invalid format for function handler string")]
    [InlineData("Nope::DotnetFunction.Functions::Order", "LambdaValidationException", "Could not find the specified handler assembly with the file name 'Nope.dll'")]
    [InlineData("DotnetFunction::DotnetFunction.Nope::Order", "LambdaValidationException", "Unable to load type 'DotnetFunction.Nope'")]
    [InlineData("DotnetFunction::DotnetFunction.Functions::Nope", "LambdaValidationException", "Unable to find method 'Nope'")]
    [InlineData("DotnetFunction::DotnetFunction.Overloaded::Handle", "LambdaValidationException", "is overloaded")]
    [InlineData("DotnetFunction::DotnetFunction.BadConstructor::Handle", "InvalidOperationException", "constructor failed")]
    public Task Dotnet_handler_that_cannot_be_loaded_is_an_init_error(string handler, string errorType, string message) => fixture.RunAsync(async scope =>
    {
        var aws = scope.Cli(AwsCli.V1);
        var name = scope.NewFunctionName();
        (await aws.CreateFunctionAsync(name, FunctionZips.Build(FunctionZips.DotnetFunction), "dotnet8", handler)).ShouldSucceed();

        var error = (await aws.InvokeAsync(name, "\"x\"")).ShouldFailUnhandled();

        Assert.Equal(errorType, error.Str("errorType"));
        Assert.Contains(message, error.Str("errorMessage"));
    });

    [Fact]
    public Task Dotnet_function_built_for_a_newer_NET_than_its_runtime_fails_with_Runtime_InvalidRuntime() => fixture.RunAsync(async scope =>
    {
        var aws = scope.Cli(AwsCli.V2);
        var zip = FunctionZips.Build(FunctionZips.DotnetNet10);
        var onTen = scope.NewFunctionName();
        var onEight = scope.NewFunctionName();
        (await aws.CreateFunctionAsync(onTen, zip, "dotnet10", "Net10Function::Net10Function.Function::Handle")).ShouldSucceed();
        (await aws.CreateFunctionAsync(onEight, zip, "dotnet8", "Net10Function::Net10Function.Function::Handle")).ShouldSucceed();

        Assert.StartsWith(".NET 10.", (await aws.InvokeAsync(onTen, "{}")).ShouldReturn().GetString());
        var error = (await aws.InvokeAsync(onEight, "{}")).ShouldFailUnhandled();

        Assert.Equal("Runtime.InvalidRuntime", error.Str("errorType"));
        Assert.Contains("targets .NET 10 (net10.0), but the dotnet8 runtime runs .NET 8", error.Str("errorMessage"));
    });
}
