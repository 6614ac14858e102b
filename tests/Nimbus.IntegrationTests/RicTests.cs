using System.Text;

namespace Nimbus.IntegrationTests;

/// <summary>
/// Runtime API fidelity: AWS's own Node.js runtime interface client (aws-lambda-ric from npm, unmodified) runs
/// a handler in a <c>provided.al2023</c> function against Nimbus's Runtime API.
/// </summary>
public sealed class RicTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    [Theory]
    [InlineData(AwsCli.V1)]
    [InlineData(AwsCli.V2)]
    public Task AWS_Node_runtime_interface_client_serves_invocations_with_context_and_logs(string cli) => fixture.RunAsync(async scope =>
    {
        var aws = scope.Cli(cli);
        var name = scope.NewFunctionName();
        (await aws.CreateFunctionAsync(name, await ZipAsync(), "provided.al2023", "index.handler", "--timeout", "6", "--memory-size", "256")).ShouldSucceed();

        var first = await aws.InvokeAsync(name, """{"hello":"ric"}""", "--log-type", "Tail");
        var second = (await aws.InvokeAsync(name, """{"n":2}""")).ShouldReturn();

        var result = first.ShouldReturn();
        Assert.True(result.Bool("ric"));
        Assert.Equal("ric", result.Str("event.hello"));
        Assert.Equal(name, result.Str("functionName"));
        Assert.Equal("256", result.Str("memoryLimitInMB"));
        Assert.InRange(result.Num("remaining"), 1, 6_000);
        Assert.Equal(2, second.Num("event.n"));
        LambdaLog.ShouldDescribeInvocation(first.ShouldHaveLog(), memorySize: 256, coldStart: true, "ric handling");
    });

    [Fact]
    public Task AWS_Node_runtime_interface_client_reports_a_thrown_error_in_Lambdas_shape() => fixture.RunAsync(async scope =>
    {
        var aws = scope.Cli(AwsCli.V2);
        var name = scope.NewFunctionName();
        (await aws.CreateFunctionAsync(name, await ZipAsync(), "provided.al2023", "index.fail")).ShouldSucceed();

        var error = (await aws.InvokeAsync(name, "{}")).ShouldFailUnhandled();

        Assert.Equal("TypeError", error.Str("errorType"));
        Assert.Equal("ric boom", error.Str("errorMessage"));
    });

    [Fact]
    public Task AWS_Node_runtime_interface_client_reports_a_missing_handler_as_an_init_error() => fixture.RunAsync(async scope =>
    {
        var aws = scope.Cli(AwsCli.V1);
        var name = scope.NewFunctionName();
        (await aws.CreateFunctionAsync(name, await ZipAsync(), "provided.al2023", "nope.handler")).ShouldSucceed();

        var error = (await aws.InvokeAsync(name, "{}")).ShouldFailUnhandled();

        Assert.Equal("Runtime.ImportModuleError", error.Str("errorType"));
    });

    [Fact]
    public Task AWS_Node_runtime_interface_client_streamed_response_arrives_whole_through_Invoke() => fixture.RunAsync(async scope =>
    {
        var aws = scope.Cli(AwsCli.V2);
        var name = scope.NewFunctionName();
        (await aws.CreateFunctionAsync(name, await ZipAsync(), "provided.al2023", "index.stream")).ShouldSucceed();

        var invocation = await aws.InvokeAsync(name, "{}");

        Assert.True(invocation.StatusCode == 200 && invocation.FunctionError is null, invocation.ToString());
        Assert.Equal("streamed from ric", invocation.PayloadText);
    });

    [Fact]
    public Task AWS_Node_runtime_interface_client_streams_through_a_RESPONSE_STREAM_url_chunk_by_chunk() => fixture.RunAsync(async scope =>
    {
        var name = scope.NewFunctionName();
        await scope.Lambda.CreateFunctionAsync(name, await ZipAsync(), "provided.al2023", "index.streamHttp", timeout: 30);
        using var url = await scope.Server.Http.PostAsync($"/2021-10-31/functions/{name}/url",
            new StringContent("""{"AuthType":"NONE","InvokeMode":"RESPONSE_STREAM"}""", System.Text.Encoding.UTF8, "application/json"));
        var urlId = new Uri(JsonAssert.Parse(await url.Content.ReadAsStringAsync(), "CreateFunctionUrlConfig").Str("FunctionUrl")).Host.Split('.')[0];

        var clock = System.Diagnostics.Stopwatch.StartNew();
        using var response = await scope.Server.Http.SendAsync(new HttpRequestMessage(HttpMethod.Get, $"/lambda-url/{urlId}/?gapMs=2000"), HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(System.Net.HttpStatusCode.NonAuthoritativeInformation, response.StatusCode);
        Assert.Equal("yes", response.Headers.GetValues("x-ric").Single());
        await using var body = await response.Content.ReadAsStreamAsync();
        var first = new byte["ric-first|".Length];
        await body.ReadExactlyAsync(first).AsTask().WaitAsync(TimeSpan.FromSeconds(30));
        var firstAt = clock.Elapsed;
        using var rest = new MemoryStream();
        await body.CopyToAsync(rest).WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal("ric-first|", System.Text.Encoding.UTF8.GetString(first));
        Assert.Equal("ric-last", System.Text.Encoding.UTF8.GetString(rest.ToArray()));
        // Buffered, both chunks would arrive together; streamed, the 2 s gap shows, less however late the first
        // chunk was delivered on a busy machine (tests run in parallel).
        Assert.True(clock.Elapsed - firstAt >= TimeSpan.FromMilliseconds(1_000), $"First chunk at {firstAt.TotalMilliseconds:0} ms, end at {clock.Elapsed.TotalMilliseconds:0} ms.");
    });

    private static async Task<byte[]> ZipAsync()
    {
        var package = await AwsLambdaRic.PackageDirectoryAsync();
        return FunctionZips.Build("ric", (package, "node_modules/aws-lambda-ric", ["package.json", "bin", "dist"]));
    }
}
