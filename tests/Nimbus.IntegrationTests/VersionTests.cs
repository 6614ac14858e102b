using System.Text;
using System.Text.Json;

namespace Nimbus.IntegrationTests;

/// <summary>PublishVersion, ListVersionsByFunction, qualified get/invoke/delete, RevisionId and the waiters.</summary>
public sealed class VersionTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private const string NodeRuntime = "nodejs20.x";
    private const string NodeHandler = "index.handler";

    [Fact]
    public Task Publish_version_freezes_code_and_configuration_and_invoke_with_a_qualifier_runs_that_version() => fixture.RunAsync(async scope =>
    {
        var aws = scope.Cli(AwsCli.V1);
        var name = scope.NewFunctionName();
        var zip = FunctionZips.Build(FunctionZips.NodeCjs);
        var newZip = FunctionZips.Build(FunctionZips.NodeCjsV2);
        (await aws.CreateFunctionAsync(name, zip, NodeRuntime, NodeHandler, "--environment", "Variables={GREETING=one}")).ShouldSucceed();

        var published = (await aws.LambdaAsync("publish-version", "--function-name", name, "--description", "first")).Json();
        Assert.Equal("1", published.Str("Version"));
        Assert.Equal(Aws.FunctionArn(name) + ":1", published.Str("FunctionArn"));
        Assert.Equal("first", published.Str("Description"));
        Assert.Equal("Active", published.Str("State"));
        Assert.Equal(FunctionZips.CodeSha256(zip), published.Str("CodeSha256"));

        // Nothing changed since version 1: publishing again returns it instead of a version 2.
        var again = (await aws.LambdaAsync("publish-version", "--function-name", name)).Json();
        Assert.Equal("1", again.Str("Version"));
        Assert.Equal(published.Str("RevisionId"), again.Str("RevisionId"));

        (await aws.UpdateFunctionCodeAsync(name, newZip)).ShouldSucceed();
        (await aws.LambdaAsync("wait", "function-updated", "--function-name", name)).ShouldSucceed();
        (await aws.LambdaAsync(
            "update-function-configuration", "--function-name", name, "--environment", "Variables={GREETING=two}")).ShouldSucceed();

        var latest = await aws.InvokeAsync(name, """{"name":"a"}""");
        JsonAssert.Equal("""{"version":2,"name":"a","env":"two"}""", latest.ShouldReturn());
        Assert.Equal("$LATEST", latest.ExecutedVersion);

        var first = await aws.InvokeAsync(name, """{"name":"b"}""", "--qualifier", "1");
        Assert.Equal("1", first.ExecutedVersion);
        Assert.Equal("one", first.ShouldReturn().Str("env"));
        Assert.Equal(1, first.Payload.Num("count"));

        var byName = await aws.InvokeAsync(name + ":1", """{"name":"c"}""");
        Assert.Equal("1", byName.ExecutedVersion);
        Assert.Equal(2, byName.ShouldReturn().Num("count"));

        var byArn = await aws.InvokeAsync(Aws.FunctionArn(name) + ":1", """{"name":"d"}""");
        Assert.Equal("1", byArn.ExecutedVersion);
        Assert.Equal(3, byArn.ShouldReturn().Num("count"));

        var configuration = (await aws.LambdaAsync("get-function-configuration", "--function-name", name, "--qualifier", "1")).Json();
        Assert.Equal("1", configuration.Str("Version"));
        Assert.Equal(Aws.FunctionArn(name) + ":1", configuration.Str("FunctionArn"));
        Assert.Equal(FunctionZips.CodeSha256(zip), configuration.Str("CodeSha256"));
        Assert.Equal("one", configuration.Str("Environment.Variables.GREETING"));

        var function = (await aws.LambdaAsync("get-function", "--function-name", name + ":1")).Json();
        Assert.Equal("1", function.Str("Configuration.Version"));
        Assert.Equal(zip, await scope.Server.Http.GetByteArrayAsync(new Uri(function.Str("Code.Location"))));

        var unqualified = (await aws.LambdaAsync("get-function-configuration", "--function-name", name)).Json();
        Assert.Equal(Aws.FunctionArn(name), unqualified.Str("FunctionArn"));
        Assert.Equal("$LATEST", unqualified.Str("Version"));
        Assert.Equal(FunctionZips.CodeSha256(newZip), unqualified.Str("CodeSha256"));

        var message = (await aws.LambdaAsync("publish-version", "--function-name", name, "--code-sha256", FunctionZips.CodeSha256(zip)))
            .ShouldFailWith("InvalidParameterValueException");
        Assert.Equal(
            $"CodeSHA256 ({FunctionZips.CodeSha256(zip)}) is different from current CodeSHA256 in $LATEST ({FunctionZips.CodeSha256(newZip)}). Please try again with the CodeSHA256 in $LATEST.",
            message);

        var second = (await aws.LambdaAsync("publish-version", "--function-name", name, "--code-sha256", FunctionZips.CodeSha256(newZip))).Json();
        Assert.Equal("2", second.Str("Version"));
        Assert.Equal("two", second.Str("Environment.Variables.GREETING"));

        var versions = (await aws.LambdaAsync("list-versions-by-function", "--function-name", name)).Json();
        Assert.Equal(["$LATEST", "1", "2"], versions.Array("Versions").Select(v => v.Str("Version")));
        Assert.Equal(
            [Aws.FunctionArn(name) + ":$LATEST", Aws.FunctionArn(name) + ":1", Aws.FunctionArn(name) + ":2"],
            versions.Array("Versions").Select(v => v.Str("FunctionArn")));

        (await aws.LambdaAsync("delete-function", "--function-name", name, "--qualifier", "1")).ShouldSucceed();
        Assert.Equal(
            $"Function not found: {Aws.FunctionArn(name)}:1",
            (await aws.LambdaAsync("get-function-configuration", "--function-name", name, "--qualifier", "1")).ShouldFailWith("ResourceNotFoundException"));
        Assert.Equal(
            "$LATEST version cannot be deleted without deleting the function.",
            (await aws.LambdaAsync("delete-function", "--function-name", name, "--qualifier", "$LATEST")).ShouldFailWith("InvalidParameterValueException"));

        // Numbers are never reused: version 1 is gone, the next one is 3.
        (await aws.LambdaAsync("update-function-configuration", "--function-name", name, "--description", "three")).ShouldSucceed();
        var third = (await aws.LambdaAsync("publish-version", "--function-name", name)).Json();
        Assert.Equal("3", third.Str("Version"));
        Assert.Equal(["$LATEST", "2", "3"], (await aws.LambdaAsync("list-versions-by-function", "--function-name", name)).Json()
            .Array("Versions").Select(v => v.Str("Version")));

        // The second invoke reports ExecutedVersion 2; the function and its versions go with an unqualified delete.
        Assert.Equal("2", (await aws.InvokeAsync(name, "{}", "--qualifier", "2")).ExecutedVersion);
        (await aws.LambdaAsync("delete-function", "--function-name", name)).ShouldSucceed();
        Assert.Equal(
            $"Function not found: {Aws.FunctionArn(name)}:2",
            (await aws.LambdaAsync("get-function", "--function-name", name, "--qualifier", "2")).ShouldFailWith("ResourceNotFoundException"));
    });

    [Fact]
    public Task Create_function_and_update_function_code_with_publish_return_the_new_version() => fixture.RunAsync(async scope =>
    {
        var aws = scope.Cli(AwsCli.V1);
        var name = scope.NewFunctionName();
        var created = (await aws.CreateFunctionAsync(name, FunctionZips.Build(FunctionZips.NodeCjs), NodeRuntime, NodeHandler, "--publish")).Json();
        Assert.Equal("1", created.Str("Version"));
        Assert.Equal(Aws.FunctionArn(name) + ":1", created.Str("FunctionArn"));

        var newZip = FunctionZips.Build(FunctionZips.NodeCjsV2);
        var updated = (await aws.LambdaAsync(
            "update-function-code", "--function-name", name, "--zip-file", "fileb://" + WriteZip(scope, newZip), "--publish")).Json();
        Assert.Equal("2", updated.Str("Version"));
        Assert.Equal(FunctionZips.CodeSha256(newZip), updated.Str("CodeSha256"));

        var v1 = await aws.InvokeAsync(name, """{"name":"x"}""", "--qualifier", "1");
        Assert.Equal(1, v1.ShouldReturn().Num("count"));
        var v2 = await aws.InvokeAsync(name, """{"name":"x"}""", "--qualifier", "2");
        JsonAssert.Equal("""{"version":2,"name":"x","env":null}""", v2.ShouldReturn());
        Assert.Equal("2", v2.ExecutedVersion);
    });

    /// <summary>
    /// The AWS CLI v2 speaks Lambda's rest-json as v1 does (the lifecycles above run on v1): one short pass through the
    /// calls of this class, for v2's own request building and answer parsing, waiter and error exit code.
    /// </summary>
    [Fact]
    public Task Cli_v2_creates_with_publish_waits_publishes_lists_and_invokes_a_version_and_gets_the_412() => fixture.RunAsync(async scope =>
    {
        var aws = scope.Cli(AwsCli.V2);
        var name = scope.NewFunctionName();
        var created = (await aws.CreateFunctionAsync(name, FunctionZips.Build(FunctionZips.NodeCjs), NodeRuntime, NodeHandler, "--publish")).Json();
        Assert.Equal("1", created.Str("Version"));
        (await aws.UpdateFunctionCodeAsync(name, FunctionZips.Build(FunctionZips.NodeCjsV2))).ShouldSucceed();
        (await aws.LambdaAsync("wait", "function-updated", "--function-name", name)).ShouldSucceed();

        Assert.Equal(
            "The Revision Id provided does not match the latest Revision Id. Call the GetFunction/GetAlias API to retrieve the latest Revision Id",
            (await aws.LambdaAsync("publish-version", "--function-name", name, "--revision-id", created.Str("RevisionId"))).ShouldFailWith("PreconditionFailedException"));
        Assert.Equal("2", (await aws.LambdaAsync("publish-version", "--function-name", name, "--description", "second")).Json().Str("Version"));
        var versions = (await aws.LambdaAsync("list-versions-by-function", "--function-name", name)).Json();
        Assert.Equal(["$LATEST", "1", "2"], versions.Array("Versions").Select(v => v.Str("Version")));
        Assert.Equal("second", versions.Array("Versions")[2].Str("Description"));

        var first = await aws.InvokeAsync(name, """{"name":"v"}""", "--qualifier", "1");
        Assert.Equal("1", first.ExecutedVersion);
        Assert.Equal(1, first.ShouldReturn().Num("count"));
    });

    [Fact]
    public Task Publishing_with_code_and_configuration_unchanged_returns_the_last_version_and_leaves_aliases_alone() => fixture.RunAsync(async scope =>
    {
        var aws = scope.Cli(AwsCli.V1);
        var name = scope.NewFunctionName();
        var zip = FunctionZips.Build(FunctionZips.NodeCjs);
        var newZip = FunctionZips.Build(FunctionZips.NodeCjsV2);
        (await aws.CreateFunctionAsync(name, zip, NodeRuntime, NodeHandler, "--environment", "Variables={AA=1,BB=2}")).ShouldSucceed();
        var first = (await aws.LambdaAsync("publish-version", "--function-name", name, "--description", "first")).Json();
        Assert.Equal("1", first.Str("Version"));
        (await aws.LambdaAsync("create-alias", "--function-name", name, "--name", "live", "--function-version", "1")).ShouldSucceed();

        // The same zip again moves $LATEST's RevisionId but changes nothing a version holds: --publish returns version 1.
        var sameZip = (await aws.LambdaAsync(
            "update-function-code", "--function-name", name, "--zip-file", "fileb://" + WriteZip(scope, zip), "--publish")).Json();
        Assert.Equal("1", sameZip.Str("Version"));
        Assert.Equal(first.Str("RevisionId"), sameZip.Str("RevisionId"));
        Assert.Equal("first", sameZip.Str("Description"));

        // The same variables in another order, a new Description for the version and a matching CodeSha256: still version 1.
        (await aws.LambdaAsync("update-function-configuration", "--function-name", name, "--environment", "Variables={BB=2,AA=1}")).ShouldSucceed();
        var again = (await aws.LambdaAsync(
            "publish-version", "--function-name", name, "--description", "second", "--code-sha256", FunctionZips.CodeSha256(zip))).Json();
        Assert.Equal("1", again.Str("Version"));
        Assert.Equal("first", again.Str("Description"));
        Assert.Equal(["$LATEST", "1"], (await aws.LambdaAsync("list-versions-by-function", "--function-name", name)).Json()
            .Array("Versions").Select(v => v.Str("Version")));

        var alias = (await aws.LambdaAsync("get-alias", "--function-name", name, "--name", "live")).Json();
        Assert.Equal("1", alias.Str("FunctionVersion"));
        Assert.Equal("1", (await aws.InvokeAsync(name, "{}", "--qualifier", "live")).ExecutedVersion);

        // A change to $LATEST's own Description is a configuration change; so is going back to a zip an older version has.
        (await aws.LambdaAsync("update-function-configuration", "--function-name", name, "--description", "changed")).ShouldSucceed();
        Assert.Equal("2", (await aws.LambdaAsync("publish-version", "--function-name", name)).Json().Str("Version"));
        Assert.Equal("3", (await aws.LambdaAsync(
            "update-function-code", "--function-name", name, "--zip-file", "fileb://" + WriteZip(scope, newZip), "--publish")).Json().Str("Version"));
        var back = (await aws.LambdaAsync(
            "update-function-code", "--function-name", name, "--zip-file", "fileb://" + WriteZip(scope, zip), "--publish")).Json();
        Assert.Equal("4", back.Str("Version"));
        Assert.Equal(FunctionZips.CodeSha256(zip), back.Str("CodeSha256"));
        Assert.Equal("1", (await aws.LambdaAsync("get-alias", "--function-name", name, "--name", "live")).Json().Str("FunctionVersion"));
    });

    [Fact]
    public Task A_published_version_keeps_its_warm_instance_while_LATEST_changes() => fixture.RunAsync(async scope =>
    {
        var name = scope.NewFunctionName();
        await scope.Lambda.CreateFunctionAsync(name, FunctionZips.Build(FunctionZips.NodeCjs), NodeRuntime, NodeHandler);
        Assert.Equal(201, (await PublishAsync(scope, name, "{}")).StatusCode);

        var first = await InvokeAsync(scope, name, "1");
        Assert.Equal(1, first.Json().Num("count"));
        for (var i = 0; i < 3; i++)
        {
            var update = await scope.Lambda.SendAsync(HttpMethod.Put, $"{LambdaHttp.FunctionsPath}/{name}/configuration",
                Json($$"""{"Description":"change {{i}}"}"""));
            Assert.True(update.StatusCode == 200, update.ToString());
            Assert.Equal(1, (await InvokeAsync(scope, name, "$LATEST")).Json().Num("count"));
        }

        // Module state counts on: version 1 still runs on the instance it started.
        Assert.Equal(2, (await InvokeAsync(scope, name, "1")).Json().Num("count"));
    });

    [Fact]
    public Task A_RevisionId_that_does_not_match_is_a_412_PreconditionFailedException() => fixture.RunAsync(async scope =>
    {
        var aws = scope.Cli(AwsCli.V1);
        var name = scope.NewFunctionName();
        var zip = FunctionZips.Build(FunctionZips.NodeCjs);
        var created = (await aws.CreateFunctionAsync(name, zip, NodeRuntime, NodeHandler)).Json();
        const string Stale = "00000000-0000-0000-0000-000000000000";
        const string Expected = "The Revision Id provided does not match the latest Revision Id. Call the GetFunction/GetAlias API to retrieve the latest Revision Id";

        Assert.Equal(Expected, (await aws.LambdaAsync(
            "update-function-configuration", "--function-name", name, "--timeout", "5", "--revision-id", Stale)).ShouldFailWith("PreconditionFailedException"));
        Assert.Equal(Expected, (await aws.LambdaAsync(
            "update-function-code", "--function-name", name, "--zip-file", "fileb://" + WriteZip(scope, zip), "--revision-id", Stale)).ShouldFailWith("PreconditionFailedException"));
        Assert.Equal(Expected, (await aws.LambdaAsync(
            "publish-version", "--function-name", name, "--revision-id", Stale)).ShouldFailWith("PreconditionFailedException"));

        var updated = (await aws.LambdaAsync(
            "update-function-configuration", "--function-name", name, "--timeout", "5", "--revision-id", created.Str("RevisionId"))).Json();
        Assert.NotEqual(created.Str("RevisionId"), updated.Str("RevisionId"));
        Assert.Equal(Expected, (await aws.LambdaAsync(
            "update-function-configuration", "--function-name", name, "--timeout", "6", "--revision-id", created.Str("RevisionId"))).ShouldFailWith("PreconditionFailedException"));
        Assert.Equal("1", (await aws.LambdaAsync("publish-version", "--function-name", name, "--revision-id", updated.Str("RevisionId"))).Json().Str("Version"));

        var raw = await scope.Lambda.SendAsync(HttpMethod.Put, $"{LambdaHttp.FunctionsPath}/{name}/configuration", Json($$"""{"Timeout":7,"RevisionId":"{{Stale}}"}"""));
        Assert.Equal(Expected, raw.ShouldBeError(412, "PreconditionFailedException").Str("message"));
    });

    [Fact]
    public Task Aws_lambda_wait_function_active_and_function_updated_succeed() => fixture.RunAsync(async scope =>
    {
        var aws = scope.Cli(AwsCli.V1);
        var name = scope.NewFunctionName();
        (await aws.CreateFunctionAsync(name, FunctionZips.Build(FunctionZips.NodeCjs), NodeRuntime, NodeHandler)).ShouldSucceed();
        (await aws.LambdaAsync("wait", "function-active", "--function-name", name)).ShouldSucceed();
        (await aws.UpdateFunctionCodeAsync(name, FunctionZips.Build(FunctionZips.NodeCjsV2))).ShouldSucceed();
        (await aws.LambdaAsync("wait", "function-updated", "--function-name", name)).ShouldSucceed();
        var configuration = (await aws.LambdaAsync("get-function-configuration", "--function-name", name)).Json();
        Assert.Equal("Active", configuration.Str("State"));
        Assert.Equal("Successful", configuration.Str("LastUpdateStatus"));
    });

    [Fact]
    public Task List_versions_by_function_pages_with_Marker_and_MaxItems_and_list_functions_with_FunctionVersion_ALL_lists_them_too() => fixture.RunAsync(async scope =>
    {
        var name = scope.NewFunctionName();
        await scope.Lambda.CreateFunctionAsync(name, FunctionZips.Build(FunctionZips.NodeCjs), NodeRuntime, NodeHandler);
        for (var i = 1; i <= 3; i++)
        {
            var update = await scope.Lambda.SendAsync(HttpMethod.Put, $"{LambdaHttp.FunctionsPath}/{name}/configuration", Json($$"""{"Description":"v{{i}}"}"""));
            Assert.True(update.StatusCode == 200, update.ToString());
            Assert.Equal(i.ToString(System.Globalization.CultureInfo.InvariantCulture), (await PublishAsync(scope, name, "{}")).Json().Str("Version"));
        }

        var seen = new List<string>();
        string? marker = null;
        do
        {
            var page = await scope.Lambda.SendAsync(HttpMethod.Get,
                $"{LambdaHttp.FunctionsPath}/{name}/versions?MaxItems=2" + (marker is null ? "" : "&Marker=" + Uri.EscapeDataString(marker)));
            Assert.True(page.StatusCode == 200, page.ToString());
            var body = page.Json();
            var versions = body.Array("Versions");
            Assert.InRange(versions.Count, 1, 2);
            seen.AddRange(versions.Select(v => v.Str("Version")));
            marker = body.Has("NextMarker") ? body.Str("NextMarker") : null;
        }
        while (marker is not null);

        Assert.Equal(["$LATEST", "1", "2", "3"], seen);

        var all = await scope.Lambda.SendAsync(HttpMethod.Get, $"{LambdaHttp.FunctionsPath}?FunctionVersion=ALL");
        Assert.True(all.StatusCode == 200, all.ToString());
        Assert.Equal(
            [Aws.FunctionArn(name) + ":$LATEST", Aws.FunctionArn(name) + ":1", Aws.FunctionArn(name) + ":2", Aws.FunctionArn(name) + ":3"],
            all.Json().Array("Functions").Where(f => f.Str("FunctionName") == name).Select(f => f.Str("FunctionArn")));
        var latestOnly = (await scope.Lambda.SendAsync(HttpMethod.Get, LambdaHttp.FunctionsPath)).Json().Array("Functions");
        Assert.Equal([Aws.FunctionArn(name)], latestOnly.Where(f => f.Str("FunctionName") == name).Select(f => f.Str("FunctionArn")));
        Assert.Equal(
            "1 validation error detected: Value 'SOME' at 'functionVersion' failed to satisfy constraint: Member must satisfy enum value set: [ALL]",
            (await scope.Lambda.SendAsync(HttpMethod.Get, $"{LambdaHttp.FunctionsPath}?FunctionVersion=SOME")).ShouldBeError(400, "ValidationException").Str("message"));
        var missing = await scope.Lambda.SendAsync(HttpMethod.Get, $"{LambdaHttp.FunctionsPath}/{name}-none/versions");
        Assert.Equal(Aws.FunctionNotFound(name + "-none"), missing.ShouldBeError(404, "ResourceNotFoundException").Str("Message"));
    });

    internal static Task<HttpResult> PublishAsync(TestScope scope, string name, string body) =>
        scope.Lambda.SendAsync(HttpMethod.Post, $"{LambdaHttp.FunctionsPath}/{Uri.EscapeDataString(name)}/versions", Json(body));

    internal static Task<HttpResult> InvokeAsync(TestScope scope, string name, string qualifier, string payload = "{}") =>
        scope.Lambda.SendAsync(HttpMethod.Post,
            $"{LambdaHttp.FunctionsPath}/{Uri.EscapeDataString(name)}/invocations?Qualifier={Uri.EscapeDataString(qualifier)}", Json(payload));

    internal static StringContent Json(string body) => new(body, Encoding.UTF8, "application/json");

    private static string WriteZip(TestScope scope, byte[] zip)
    {
        var path = Path.Combine(scope.ScratchDirectory, $"{Guid.NewGuid():N}.zip");
        File.WriteAllBytes(path, zip);
        return path;
    }
}
