namespace Nimbus.IntegrationTests;

/// <summary>
/// A provided.al2023 function whose bootstrap is a self-contained, trimmed .NET program that runs its handler
/// loop with Nimbus.Lambda.RuntimeSupport (source-generated JSON in and out), as AWS's RuntimeSupport does.
/// </summary>
public sealed class RuntimeSupportTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    [Theory]
    [InlineData(AwsCli.V1)]
    [InlineData(AwsCli.V2)]
    public Task Self_contained_bootstrap_on_RuntimeSupport_serves_invocations_with_context_and_logs(string cli) => fixture.RunAsync(async scope =>
    {
        var aws = scope.Cli(cli);
        var name = scope.NewFunctionName();
        (await aws.CreateFunctionAsync(name, FunctionZips.Build(FunctionZips.DotnetProvided), "provided.al2023", "not.used", "--memory-size", "256", "--timeout", "5")).ShouldSucceed();

        var first = await aws.InvokeAsync(name, """{"name":"one"}""", "--log-type", "Tail");
        var second = (await aws.InvokeAsync(name, """{"name":"two"}""")).ShouldReturn();

        var result = first.ShouldReturn();
        Assert.Equal("hello one", result.Str("greeting"));
        Assert.Equal(name, result.Str("functionName"));
        Assert.Equal(256, result.Num("memoryLimitInMB"));
        Assert.InRange(result.Num("remainingMs"), 1, 5_000);
        Assert.Equal("/var/task/bootstrap", result.Str("processPath"));
        Assert.Equal("hello two", second.Str("greeting"));
        Assert.NotEqual(result.Str("requestId"), second.Str("requestId"));
        var log = first.ShouldHaveLog();
        LambdaLog.ShouldDescribeInvocation(log, memorySize: 256, coldStart: true, $"\t{result.Str("requestId")}\tinfo\tprovided dotnet handling one");
        Assert.Contains($"\t{result.Str("requestId")}\tinfo\tconsole line from the bootstrap", log);
    });

    [Fact]
    public Task Exception_in_a_RuntimeSupport_handler_returns_Lambdas_error_document_and_the_loop_goes_on() => fixture.RunAsync(async scope =>
    {
        var aws = scope.Cli(AwsCli.V2);
        var name = scope.NewFunctionName();
        (await aws.CreateFunctionAsync(name, FunctionZips.Build(FunctionZips.DotnetProvided), "provided.al2023", "not.used")).ShouldSucceed();

        var error = (await aws.InvokeAsync(name, """{"name":"fail"}""")).ShouldFailUnhandled();
        var after = (await aws.InvokeAsync(name, """{"name":"after"}""")).ShouldReturn();

        Assert.Equal("InvalidOperationException", error.Str("errorType"));
        Assert.Equal("provided bootstrap failed", error.Str("errorMessage"));
        Assert.NotEmpty(error.Array("stackTrace"));
        Assert.Equal("hello after", after.Str("greeting"));
    });
}
