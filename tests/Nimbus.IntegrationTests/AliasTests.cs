using System.Text.Json;

namespace Nimbus.IntegrationTests;

/// <summary>CreateAlias, GetAlias, UpdateAlias, DeleteAlias, ListAliases, routing weights and alias ARNs.</summary>
public sealed class AliasTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private const string NodeRuntime = "nodejs20.x";
    private const string NodeHandler = "index.handler";

    [Fact]
    public Task Alias_lifecycle_create_invoke_update_list_delete_and_a_version_in_use_cannot_be_deleted() => fixture.RunAsync(async scope =>
    {
        var aws = scope.Cli(AwsCli.V1);
        var name = scope.NewFunctionName();
        var aliasArn = Aws.FunctionArn(name) + ":live";
        await CreateTwoVersionsAsync(aws, name);

        var created = (await aws.LambdaAsync(
            "create-alias", "--function-name", name, "--name", "live", "--function-version", "1", "--description", "production",
            "--routing-config", """{"AdditionalVersionWeights":{"2":0.5}}""")).Json();
        Assert.Equal(aliasArn, created.Str("AliasArn"));
        Assert.Equal("live", created.Str("Name"));
        Assert.Equal("1", created.Str("FunctionVersion"));
        Assert.Equal("production", created.Str("Description"));
        Assert.Equal(0.5, created.At("RoutingConfig.AdditionalVersionWeights.2").GetDouble());
        Assert.Matches("^[0-9a-f-]{36}$", created.Str("RevisionId"));

        var fetched = (await aws.LambdaAsync("get-alias", "--function-name", name, "--name", "live")).Json();
        Assert.Equal(created.Str("RevisionId"), fetched.Str("RevisionId"));

        var executed = new HashSet<string>();
        for (var i = 0; i < 40 && executed.Count < 2; i++)
        {
            var invoked = await aws.InvokeAsync(name, """{"name":"w"}""", "--qualifier", "live");
            invoked.ShouldReturn();
            executed.Add(invoked.ExecutedVersion!);
        }

        Assert.Equal(["1", "2"], executed.Order());

        Assert.Equal(
            "Alias already exists: " + aliasArn,
            (await aws.LambdaAsync("create-alias", "--function-name", name, "--name", "live", "--function-version", "2")).ShouldFailWith("ResourceConflictException"));
        Assert.Equal(
            "Unable to delete version because the following aliases reference it: [live]",
            (await aws.LambdaAsync("delete-function", "--function-name", name, "--qualifier", "2")).ShouldFailWith("ResourceConflictException"));
        Assert.Equal(
            "The Revision Id provided does not match the latest Revision Id. Call the GetFunction/GetAlias API to retrieve the latest Revision Id",
            (await aws.LambdaAsync("update-alias", "--function-name", name, "--name", "live", "--function-version", "2",
                "--revision-id", "00000000-0000-0000-0000-000000000000")).ShouldFailWith("PreconditionFailedException"));

        var updated = (await aws.LambdaAsync(
            "update-alias", "--function-name", name, "--name", "live", "--function-version", "2",
            "--routing-config", """{"AdditionalVersionWeights":{}}""", "--revision-id", created.Str("RevisionId"))).Json();
        Assert.Equal("2", updated.Str("FunctionVersion"));
        Assert.False(updated.Has("RoutingConfig.AdditionalVersionWeights.2"));
        Assert.Equal("production", updated.Str("Description"));
        Assert.NotEqual(created.Str("RevisionId"), updated.Str("RevisionId"));

        // The alias now names version 2 only, by alias ARN as the function name and by name:alias.
        for (var i = 0; i < 3; i++)
        {
            var byArn = await aws.InvokeAsync(aliasArn, """{"name":"v"}""");
            Assert.Equal("2", byArn.ExecutedVersion);
            JsonAssert.Equal("""{"version":2,"name":"v","env":null}""", byArn.ShouldReturn());
        }

        Assert.Equal("2", (await aws.InvokeAsync(name + ":live", "{}")).ExecutedVersion);

        var configuration = (await aws.LambdaAsync("get-function-configuration", "--function-name", name, "--qualifier", "live")).Json();
        Assert.Equal("2", configuration.Str("Version"));
        Assert.Equal(aliasArn, configuration.Str("FunctionArn"));

        (await aws.LambdaAsync("delete-function", "--function-name", name, "--qualifier", "1")).ShouldSucceed();
        (await aws.LambdaAsync("create-alias", "--function-name", name, "--name", "edge", "--function-version", "$LATEST")).ShouldSucceed();
        var listed = (await aws.LambdaAsync("list-aliases", "--function-name", name)).Json();
        Assert.Equal(["edge", "live"], listed.Array("Aliases").Select(a => a.Str("Name")));
        var onTwo = (await aws.LambdaAsync("list-aliases", "--function-name", name, "--function-version", "2")).Json();
        Assert.Equal(["live"], onTwo.Array("Aliases").Select(a => a.Str("Name")));
        Assert.Equal("$LATEST", (await aws.InvokeAsync(name, "{}", "--qualifier", "edge")).ExecutedVersion);

        (await aws.LambdaAsync("delete-alias", "--function-name", name, "--name", "live")).ShouldSucceed();
        Assert.Equal(
            "Cannot find alias arn: " + aliasArn,
            (await aws.LambdaAsync("get-alias", "--function-name", name, "--name", "live")).ShouldFailWith("ResourceNotFoundException"));
        Assert.Equal(
            "Function not found: " + aliasArn,
            (await aws.InvokeCommandAsync(name, "{}", "--qualifier", "live")).ShouldFailWith("ResourceNotFoundException"));
        (await aws.LambdaAsync("delete-function", "--function-name", name, "--qualifier", "2")).ShouldSucceed();
    });

    /// <summary>
    /// The AWS CLI v2 speaks Lambda's rest-json as v1 does (the lifecycle above runs on v1; the two tests below set up
    /// their versions with v2): one short pass through the alias calls, for v2's own request building and parsing.
    /// </summary>
    [Fact]
    public Task Cli_v2_creates_gets_updates_lists_invokes_and_deletes_an_alias() => fixture.RunAsync(async scope =>
    {
        var aws = scope.Cli(AwsCli.V2);
        var name = scope.NewFunctionName();
        await CreateTwoVersionsAsync(aws, name);
        var created = (await aws.LambdaAsync("create-alias", "--function-name", name, "--name", "live", "--function-version", "1",
            "--routing-config", """{"AdditionalVersionWeights":{"2":0.5}}""")).Json();
        Assert.Equal(0.5, created.At("RoutingConfig.AdditionalVersionWeights.2").GetDouble());
        Assert.Equal(created.Str("RevisionId"), (await aws.LambdaAsync("get-alias", "--function-name", name, "--name", "live")).Json().Str("RevisionId"));

        var updated = (await aws.LambdaAsync("update-alias", "--function-name", name, "--name", "live", "--function-version", "2",
            "--routing-config", """{"AdditionalVersionWeights":{}}""", "--revision-id", created.Str("RevisionId"))).Json();
        Assert.Equal("2", updated.Str("FunctionVersion"));
        Assert.Equal(["live"], (await aws.LambdaAsync("list-aliases", "--function-name", name)).Json().Array("Aliases").Select(a => a.Str("Name")));
        Assert.Equal("2", (await aws.InvokeAsync(name, """{"name":"v"}""", "--qualifier", "live")).ExecutedVersion);

        (await aws.LambdaAsync("delete-alias", "--function-name", name, "--name", "live")).ShouldSucceed();
        Assert.Equal(
            "Cannot find alias arn: " + Aws.FunctionArn(name) + ":live",
            (await aws.LambdaAsync("get-alias", "--function-name", name, "--name", "live")).ShouldFailWith("ResourceNotFoundException"));
    });

    [Fact]
    public Task Routing_config_is_validated_with_AWS_errors() => fixture.RunAsync(async scope =>
    {
        var aws = scope.Cli(AwsCli.V2);
        var name = scope.NewFunctionName();
        await CreateTwoVersionsAsync(aws, name);
        var path = $"{LambdaHttp.FunctionsPath}/{name}/aliases";

        async Task<JsonElement> CreateAsync(string body, int status, string type) =>
            (await scope.Lambda.SendAsync(HttpMethod.Post, path, VersionTests.Json(body))).ShouldBeError(status, type);

        Assert.Equal(
            "1 validation error detected: Value '{2=1.5}' at 'routingConfig.additionalVersionWeights' failed to satisfy constraint: Map value must satisfy constraint: [Member must have value less than or equal to 1.0, Member must have value greater than or equal to 0.0, Member must not be null]",
            (await CreateAsync("""{"Name":"a","FunctionVersion":"1","RoutingConfig":{"AdditionalVersionWeights":{"2":1.5}}}""", 400, "ValidationException")).Str("message"));
        Assert.Equal(
            "Number of items in AdditionalVersionWeights cannot be greater than 1",
            (await CreateAsync("""{"Name":"a","FunctionVersion":"1","RoutingConfig":{"AdditionalVersionWeights":{"2":0.1,"3":0.1}}}""", 400, "InvalidParameterValueException")).Str("message"));
        Assert.Equal(
            "Invalid function version 1. Function version 1 is already included in routing configuration.",
            (await CreateAsync("""{"Name":"a","FunctionVersion":"1","RoutingConfig":{"AdditionalVersionWeights":{"1":0.1}}}""", 400, "InvalidParameterValueException")).Str("message"));
        Assert.Equal(
            "$LATEST is not supported for an alias pointing to more than 1 version",
            (await CreateAsync("""{"Name":"a","FunctionVersion":"$LATEST","RoutingConfig":{"AdditionalVersionWeights":{"1":0.1}}}""", 400, "InvalidParameterValueException")).Str("message"));
        Assert.Equal(
            $"Function not found: {Aws.FunctionArn(name)}:9",
            (await CreateAsync("""{"Name":"a","FunctionVersion":"1","RoutingConfig":{"AdditionalVersionWeights":{"9":0.1}}}""", 404, "ResourceNotFoundException")).Str("Message"));
        Assert.Equal(
            $"Function not found: {Aws.FunctionArn(name)}:7",
            (await CreateAsync("""{"Name":"a","FunctionVersion":"7"}""", 404, "ResourceNotFoundException")).Str("Message"));
        Assert.Equal(
            "1 validation error detected: Value '12' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: (?!^[0-9]+$)([a-zA-Z0-9-_]+)",
            (await CreateAsync("""{"Name":"12","FunctionVersion":"1"}""", 400, "ValidationException")).Str("message"));
        Assert.Equal(
            "1 validation error detected: Value 'two' at 'functionVersion' failed to satisfy constraint: Member must satisfy regular expression pattern: (\\$LATEST|[0-9]+)",
            (await CreateAsync("""{"Name":"a","FunctionVersion":"two"}""", 400, "ValidationException")).Str("message"));
        Assert.Equal(
            "Deletion of aliases is not currently supported.",
            (await aws.LambdaAsync("delete-function", "--function-name", name, "--qualifier", "a")).ShouldFailWith("InvalidParameterValueException"));
        var missing = await scope.Lambda.SendAsync(HttpMethod.Get, $"{LambdaHttp.FunctionsPath}/{name}-none/aliases/a");
        Assert.Equal(Aws.FunctionNotFound(name + "-none"), missing.ShouldBeError(404, "ResourceNotFoundException").Str("Message"));
    });

    /// <summary>2,000 invokes through a 90/10 alias: version 2 runs 10% of them within ±4.5 standard deviations (140-260).</summary>
    [Fact]
    public Task A_weighted_alias_sends_about_10_percent_of_2000_invokes_to_the_additional_version() => fixture.RunAsync(async scope =>
    {
        var aws = scope.Cli(AwsCli.V2);
        var name = scope.NewFunctionName();
        await CreateTwoVersionsAsync(aws, name);
        (await aws.LambdaAsync(
            "create-alias", "--function-name", name, "--name", "canary", "--function-version", "1",
            "--routing-config", """{"AdditionalVersionWeights":{"2":0.1}}""")).ShouldSucceed();

        const int Invocations = 2_000;
        const int Callers = 4;
        var counts = new System.Collections.Concurrent.ConcurrentDictionary<string, int>();
        var next = 0;
        var started = System.Diagnostics.Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, Callers).Select(async _ =>
        {
            while (Interlocked.Increment(ref next) <= Invocations)
            {
                var result = await VersionTests.InvokeAsync(scope, name, "canary", """{"name":"c"}""");
                Assert.True(result.StatusCode == 200 && result.Header("X-Amz-Function-Error") is null, result.ToString());
                var version = result.Header("X-Amz-Executed-Version") ?? "(none)";
                var payload = result.Json();
                Assert.Equal(version == "2", payload.Has("version"));
                counts.AddOrUpdate(version, 1, (_, n) => n + 1);
            }
        }));

        Assert.True(started.Elapsed < TimeSpan.FromSeconds(60), $"2,000 invokes took {started.Elapsed.TotalSeconds:0.0} s.");
        Assert.Equal(["1", "2"], counts.Keys.Order());
        Assert.Equal(Invocations, counts["1"] + counts["2"]);
        Assert.InRange(counts["2"], 140, 260);
    });

    /// <summary>Version 1 = node-cjs (module counter), version 2 = node-cjs-v2 (returns version: 2).</summary>
    private static async Task CreateTwoVersionsAsync(AwsCli aws, string name)
    {
        (await aws.CreateFunctionAsync(name, FunctionZips.Build(FunctionZips.NodeCjs), NodeRuntime, NodeHandler, "--publish")).ShouldSucceed();
        (await aws.UpdateFunctionCodeAsync(name, FunctionZips.Build(FunctionZips.NodeCjsV2))).ShouldSucceed();
        Assert.Equal("2", (await aws.LambdaAsync("publish-version", "--function-name", name)).Json().Str("Version"));
    }
}
