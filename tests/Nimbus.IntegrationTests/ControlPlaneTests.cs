using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Nimbus.IntegrationTests;

/// <summary>Create, read, list, update and delete functions; account settings; API errors.</summary>
public sealed partial class ControlPlaneTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private const string NodeRuntime = "nodejs20.x";
    private const string NodeHandler = "index.handler";

    [Theory]
    [InlineData(AwsCli.V1)]
    [InlineData(AwsCli.V2)]
    public Task Function_lifecycle_create_get_list_invoke_update_delete_works(string cli) => fixture.RunAsync(async scope =>
    {
        var aws = scope.Cli(cli);
        var name = scope.NewFunctionName();
        var zip = FunctionZips.Build(FunctionZips.NodeCjs);

        var created = (await aws.CreateFunctionAsync(name, zip, NodeRuntime, NodeHandler)).Json();
        ShouldBeNewConfiguration(created, name, zip, NodeRuntime, NodeHandler);

        var function = (await aws.LambdaAsync("get-function", "--function-name", name)).Json();
        ShouldBeNewConfiguration(function.At("Configuration"), name, zip, NodeRuntime, NodeHandler);
        Assert.Equal(created.Str("RevisionId"), function.Str("Configuration.RevisionId"));
        Assert.Equal("S3", function.Str("Code.RepositoryType"));
        var location = function.Str("Code.Location");
        Assert.Matches("^https?://", location);
        Assert.Equal(zip, await scope.Server.Http.GetByteArrayAsync(new Uri(location)));

        var configuration = (await aws.LambdaAsync("get-function-configuration", "--function-name", name)).Json();
        ShouldBeNewConfiguration(configuration, name, zip, NodeRuntime, NodeHandler);
        Assert.Equal(created.Str("RevisionId"), configuration.Str("RevisionId"));

        var listed = (await aws.LambdaAsync("list-functions")).Json();
        Assert.Contains(name, FunctionNames(listed));

        var invoked = await aws.InvokeAsync(name, """{"name":"alice"}""", "--log-type", "Tail");
        var result = invoked.ShouldReturn();
        Assert.Equal("$LATEST", invoked.ExecutedVersion);
        Assert.Equal(1, result.Num("count"));
        Assert.Equal("alice", result.Str("name"));
        Assert.Equal(name, result.Str("fn"));
        Assert.InRange(result.Num("remaining"), 1, 3_000);
        Assert.Equal(JsonValueKind.Null, result.At("env").ValueKind);
        LambdaLog.ShouldDescribeInvocation(invoked.ShouldHaveLog(), memorySize: 128, coldStart: true, "hello from node");

        var reconfigured = (await aws.LambdaAsync(
            "update-function-configuration", "--function-name", name, "--timeout", "10", "--memory-size", "256",
            "--environment", "Variables={GREETING=hi}", "--description", "d")).Json();
        Assert.Equal(10, reconfigured.Num("Timeout"));
        Assert.Equal(256, reconfigured.Num("MemorySize"));
        Assert.Equal("hi", reconfigured.Str("Environment.Variables.GREETING"));
        Assert.Equal("d", reconfigured.Str("Description"));
        Assert.Equal(FunctionZips.CodeSha256(zip), reconfigured.Str("CodeSha256"));
        Assert.NotEqual(created.Str("RevisionId"), reconfigured.Str("RevisionId"));

        var afterConfiguration = await aws.InvokeAsync(name, """{"name":"bob"}""", "--log-type", "Tail");
        result = afterConfiguration.ShouldReturn();
        Assert.Equal("hi", result.Str("env"));
        Assert.Equal("bob", result.Str("name"));
        Assert.InRange(result.Num("remaining"), 3_001, 10_000);
        LambdaLog.ShouldDescribeInvocation(afterConfiguration.ShouldHaveLog(), memorySize: 256, coldStart: null, "hello from node");

        var newZip = FunctionZips.Build(FunctionZips.NodeCjsV2);
        var recoded = (await aws.UpdateFunctionCodeAsync(name, newZip)).Json();
        Assert.Equal(FunctionZips.CodeSha256(newZip), recoded.Str("CodeSha256"));
        Assert.NotEqual(FunctionZips.CodeSha256(zip), recoded.Str("CodeSha256"));
        Assert.Equal(newZip.Length, recoded.Num("CodeSize"));
        Assert.NotEqual(reconfigured.Str("RevisionId"), recoded.Str("RevisionId"));
        Assert.Equal(10, recoded.Num("Timeout"));

        var afterCode = (await aws.InvokeAsync(name, """{"name":"carol"}""")).ShouldReturn();
        JsonAssert.Equal("""{"version":2,"name":"carol","env":"hi"}""", afterCode);

        (await aws.LambdaAsync("delete-function", "--function-name", name)).ShouldSucceed();
        Assert.Equal(Aws.FunctionNotFound(name), (await aws.LambdaAsync("get-function", "--function-name", name)).ShouldFailWith("ResourceNotFoundException"));
        Assert.Equal(Aws.FunctionNotFound(name), (await aws.InvokeCommandAsync(name, "{}")).ShouldFailWith("ResourceNotFoundException"));
    });

    [Theory]
    [InlineData(AwsCli.V1)]
    [InlineData(AwsCli.V2)]
    public Task List_functions_with_max_items_returns_one_function_and_a_token_to_the_next(string cli) => fixture.RunAsync(async scope =>
    {
        var aws = scope.Cli(cli);
        var zip = FunctionZips.Build(FunctionZips.NodeCjs);
        var first = scope.NewFunctionName();
        var second = scope.NewFunctionName();
        await scope.Lambda.CreateFunctionAsync(first, zip, NodeRuntime, NodeHandler);
        await scope.Lambda.CreateFunctionAsync(second, zip, NodeRuntime, NodeHandler);

        var page = (await aws.LambdaAsync("list-functions", "--max-items", "1")).Json();
        var pageNames = FunctionNames(page);
        Assert.Single(pageNames);
        var token = page.Str("NextToken");

        var next = (await aws.LambdaAsync("list-functions", "--max-items", "1", "--starting-token", token)).Json();
        var nextNames = FunctionNames(next);
        Assert.Single(nextNames);
        Assert.NotEqual(pageNames[0], nextNames[0]);

        var all = FunctionNames((await aws.LambdaAsync("list-functions")).Json());
        Assert.Contains(first, all);
        Assert.Contains(second, all);
    });

    [Fact]
    public Task List_functions_over_http_pages_with_MaxItems_and_NextMarker() => fixture.RunAsync(async scope =>
    {
        var zip = FunctionZips.Build(FunctionZips.NodeCjs);
        var first = scope.NewFunctionName();
        var second = scope.NewFunctionName();
        await scope.Lambda.CreateFunctionAsync(first, zip, NodeRuntime, NodeHandler);
        await scope.Lambda.CreateFunctionAsync(second, zip, NodeRuntime, NodeHandler);

        var page = await scope.Lambda.ListFunctionsAsync("MaxItems=1");
        Assert.True(page.StatusCode == 200, page.ToString());
        var pageNames = FunctionNames(page.Json());
        Assert.Single(pageNames);
        var marker = page.Json().Str("NextMarker");
        Assert.NotEmpty(marker);

        var next = await scope.Lambda.ListFunctionsAsync($"MaxItems=1&Marker={Uri.EscapeDataString(marker)}");
        Assert.True(next.StatusCode == 200, next.ToString());
        var nextNames = FunctionNames(next.Json());
        Assert.Single(nextNames);
        Assert.NotEqual(pageNames[0], nextNames[0]);

        // Following NextMarker to the end visits every function once.
        var seen = new List<string>();
        string? cursor = null;
        for (var pages = 0; ; pages++)
        {
            Assert.True(pages < 1_000, "ListFunctions kept returning NextMarker after 1000 pages.");
            var query = cursor is null ? "MaxItems=1" : $"MaxItems=1&Marker={Uri.EscapeDataString(cursor)}";
            var current = await scope.Lambda.ListFunctionsAsync(query);
            Assert.True(current.StatusCode == 200, current.ToString());
            seen.AddRange(FunctionNames(current.Json()));
            if (!current.Json().Has("NextMarker"))
            {
                break;
            }

            cursor = current.Json().Str("NextMarker");
        }

        Assert.Contains(first, seen);
        Assert.Contains(second, seen);
        Assert.Equal(seen.Count, seen.Distinct().Count());
    });

    [Theory]
    [InlineData(AwsCli.V1)]
    [InlineData(AwsCli.V2)]
    public Task Create_function_with_an_existing_name_fails_with_ResourceConflictException(string cli) => fixture.RunAsync(async scope =>
    {
        var aws = scope.Cli(cli);
        var name = scope.NewFunctionName();
        var zip = FunctionZips.Build(FunctionZips.NodeCjs);
        (await aws.CreateFunctionAsync(name, zip, NodeRuntime, NodeHandler)).ShouldSucceed();

        var message = (await aws.CreateFunctionAsync(name, zip, NodeRuntime, NodeHandler)).ShouldFailWith("ResourceConflictException");

        Assert.Equal($"Function already exist: {name}", message);
    });

    [Theory]
    [InlineData(AwsCli.V1)]
    [InlineData(AwsCli.V2)]
    public Task Unknown_function_get_invoke_and_delete_fail_with_ResourceNotFoundException(string cli) => fixture.RunAsync(async scope =>
    {
        var aws = scope.Cli(cli);
        var name = scope.NewFunctionName();

        Assert.Equal(Aws.FunctionNotFound(name), (await aws.LambdaAsync("get-function", "--function-name", name)).ShouldFailWith("ResourceNotFoundException"));
        Assert.Equal(Aws.FunctionNotFound(name), (await aws.LambdaAsync("get-function-configuration", "--function-name", name)).ShouldFailWith("ResourceNotFoundException"));
        Assert.Equal(Aws.FunctionNotFound(name), (await aws.InvokeCommandAsync(name, "{}")).ShouldFailWith("ResourceNotFoundException"));
        Assert.Equal(Aws.FunctionNotFound(name), (await aws.LambdaAsync("delete-function", "--function-name", name)).ShouldFailWith("ResourceNotFoundException"));
    });

    [Fact]
    public Task Unknown_function_over_http_returns_404_with_the_AWS_error_shape() => fixture.RunAsync(async scope =>
    {
        var name = scope.NewFunctionName();

        foreach (var response in new[]
        {
            await scope.Lambda.GetFunctionAsync(name),
            await scope.Lambda.InvokeAsync(name, "{}"),
            await scope.Lambda.DeleteFunctionAsync(name),
        })
        {
            var error = response.ShouldBeError(404, "ResourceNotFoundException");
            Assert.Equal("User", error.Str("Type"));
            Assert.Equal(Aws.FunctionNotFound(name), error.Str("Message"));
        }
    });

    [Theory]
    [InlineData(AwsCli.V1)]
    [InlineData(AwsCli.V2)]
    public Task Create_function_with_memory_size_20000_is_rejected(string cli) => fixture.RunAsync(async scope =>
    {
        var aws = scope.Cli(cli);
        var name = scope.NewFunctionName();

        var error = (await aws.CreateFunctionAsync(name, FunctionZips.Build(FunctionZips.NodeCjs), NodeRuntime, NodeHandler, "--memory-size", "20000")).ShouldFail();

        Assert.Contains(error.Code, new[] { "ValidationException", "InvalidParameterValueException" });
        (await aws.LambdaAsync("get-function", "--function-name", name)).ShouldFailWith("ResourceNotFoundException");
    });

    [Theory]
    [InlineData("MemorySize", 20_000)]
    [InlineData("MemorySize", 127)]
    [InlineData("Timeout", 901)]
    public Task Create_function_over_http_with_an_out_of_range_setting_returns_400(string setting, int value) => fixture.RunAsync(async scope =>
    {
        var name = scope.NewFunctionName();
        var request = LambdaHttp.CreateFunctionRequest(name, FunctionZips.Build(FunctionZips.NodeCjs), NodeRuntime, NodeHandler);
        request[setting] = value;

        var response = await scope.Lambda.CreateFunctionAsync(request);

        Assert.True(response.StatusCode == 400, $"{setting} {value} should be rejected with 400.{Environment.NewLine}{response}");
        Assert.Contains(response.Header("x-amzn-ErrorType") ?? "(none)", new[] { "ValidationException", "InvalidParameterValueException" });
        Assert.Equal(404, (await scope.Lambda.GetFunctionAsync(name)).StatusCode);
    });

    [Fact]
    public Task Create_function_over_http_with_an_invalid_name_returns_400_ValidationException() => fixture.RunAsync(async scope =>
    {
        var request = LambdaHttp.CreateFunctionRequest("bad name!", FunctionZips.Build(FunctionZips.NodeCjs), NodeRuntime, NodeHandler);

        var error = (await scope.Lambda.CreateFunctionAsync(request)).ShouldBeError(400, "ValidationException");

        Assert.Contains("bad name!", error.GetRawText(), StringComparison.Ordinal);
    });

    [Theory]
    [InlineData(AwsCli.V1)]
    [InlineData(AwsCli.V2)]
    public Task Create_function_with_environment_over_4KB_fails_with_InvalidParameterValueException(string cli) => fixture.RunAsync(async scope =>
    {
        var aws = scope.Cli(cli);
        var name = scope.NewFunctionName();
        var variables = $"Variables={{BIG={new string('x', 5_000)}}}";

        var message = (await aws.CreateFunctionAsync(name, FunctionZips.Build(FunctionZips.NodeCjs), NodeRuntime, NodeHandler, "--environment", variables))
            .ShouldFailWith("InvalidParameterValueException");

        Assert.Contains("4KB", message, StringComparison.Ordinal);
    });

    [Theory]
    [InlineData(AwsCli.V1)]
    [InlineData(AwsCli.V2)]
    public Task Get_account_settings_reports_Lambda_limits_and_usage(string cli) => fixture.RunAsync(async scope =>
    {
        var aws = scope.Cli(cli);
        await scope.Lambda.CreateFunctionAsync(scope.NewFunctionName(), FunctionZips.Build(FunctionZips.NodeCjs), NodeRuntime, NodeHandler);

        var settings = (await aws.LambdaAsync("get-account-settings")).Json();

        Assert.Equal(await scope.Lambda.MemorySizedConcurrencyLimitAsync(), settings.Num("AccountLimit.ConcurrentExecutions"));
        Assert.Equal(52_428_800, settings.Num("AccountLimit.CodeSizeZipped"));
        Assert.Equal(262_144_000, settings.Num("AccountLimit.CodeSizeUnzipped"));
        Assert.True(settings.Num("AccountUsage.FunctionCount") >= 1, settings.GetRawText());
    });

    [Fact]
    public Task Health_endpoint_answers_200() => fixture.RunAsync(async scope =>
    {
        var health = await scope.Lambda.SendAsync(HttpMethod.Get, "/health");

        Assert.True(health.StatusCode == 200, health.ToString());
    });

    private static void ShouldBeNewConfiguration(JsonElement configuration, string name, byte[] zip, string runtime, string handler)
    {
        Assert.Equal(name, configuration.Str("FunctionName"));
        Assert.Equal(Aws.FunctionArn(name), configuration.Str("FunctionArn"));
        Assert.Equal(runtime, configuration.Str("Runtime"));
        Assert.Equal(handler, configuration.Str("Handler"));
        Assert.Equal(Aws.Role, configuration.Str("Role"));
        Assert.Equal(zip.Length, configuration.Num("CodeSize"));
        Assert.Equal(FunctionZips.CodeSha256(zip), configuration.Str("CodeSha256"));
        Assert.Equal("$LATEST", configuration.Str("Version"));
        Assert.Equal("Active", configuration.Str("State"));
        Assert.Equal("Successful", configuration.Str("LastUpdateStatus"));
        Assert.Equal("Zip", configuration.Str("PackageType"));
        Assert.Equal("x86_64", Assert.Single(configuration.Array("Architectures")).GetString());
        Assert.Equal(512, configuration.Num("EphemeralStorage.Size"));
        Assert.Equal(128, configuration.Num("MemorySize"));
        Assert.Equal(3, configuration.Num("Timeout"));
        Assert.NotEmpty(configuration.Str("RevisionId"));
        Assert.Matches(LastModifiedFormat(), configuration.Str("LastModified"));
    }

    private static List<string> FunctionNames(JsonElement list) =>
        [.. list.Array("Functions").Select(f => f.Str("FunctionName"))];

    [GeneratedRegex(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000$")]
    private static partial Regex LastModifiedFormat();
}
