using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Nimbus.IntegrationTests;

/// <summary>
/// Function URLs: the configuration operations through both AWS CLIs and raw requests.
/// </summary>
[Collection(ServerCollectionDefinition.Name)]
public sealed partial class FunctionUrlTests(ServerFixture fixture)
{
    private const string NodeRuntime = "nodejs20.x";
    private const string NodeHandler = "index.handler";

    [Theory]
    [InlineData(AwsCli.V1)]
    [InlineData(AwsCli.V2)]
    public Task Function_url_config_lifecycle_on_LATEST_and_an_alias_with_AWS_errors(string cli) => fixture.RunAsync(async scope =>
    {
        var aws = scope.Cli(cli);
        var name = scope.NewFunctionName();
        (await aws.CreateFunctionAsync(name, FunctionZips.Build(FunctionZips.NodeUrl), NodeRuntime, NodeHandler)).ShouldSucceed();

        var created = (await aws.LambdaAsync("create-function-url-config", "--function-name", name, "--auth-type", "NONE",
            "--cors", """{"AllowOrigins":["https://app.example"],"AllowMethods":["GET","POST"],"MaxAge":60}""")).Json();
        var url = created.Str("FunctionUrl");
        Assert.Matches(UrlPattern(scope.Server), url);
        Assert.Equal(Aws.FunctionArn(name), created.Str("FunctionArn"));
        Assert.Equal("NONE", created.Str("AuthType"));
        Assert.Equal("https://app.example", created.At("Cors.AllowOrigins").EnumerateArray().Single().GetString());
        Assert.Equal(60, created.Num("Cors.MaxAge"));
        Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$", created.Str("CreationTime"));
        if (cli == AwsCli.V1)
        {
            Assert.Equal("BUFFERED", created.Str("InvokeMode"));
        }

        var again = await aws.LambdaAsync("create-function-url-config", "--function-name", name, "--auth-type", "NONE");
        Assert.Contains("FunctionUrlConfig exists for this Lambda function", again.ShouldFailWith("ResourceConflictException"), StringComparison.Ordinal);

        var fetched = (await aws.LambdaAsync("get-function-url-config", "--function-name", name)).Json();
        Assert.Equal(url, fetched.Str("FunctionUrl"));
        Assert.True(fetched.Has("LastModifiedTime"));

        var updated = (await aws.LambdaAsync("update-function-url-config", "--function-name", name, "--auth-type", "AWS_IAM")).Json();
        Assert.Equal("AWS_IAM", updated.Str("AuthType"));
        Assert.Equal(60, updated.Num("Cors.MaxAge"));
        Assert.Equal(url, updated.Str("FunctionUrl"));

        Assert.Equal("1", (await aws.LambdaAsync("publish-version", "--function-name", name)).Json().Str("Version"));
        (await aws.LambdaAsync("create-alias", "--function-name", name, "--name", "live", "--function-version", "1")).ShouldSucceed();
        var onAlias = (await aws.LambdaAsync("create-function-url-config", "--function-name", name, "--qualifier", "live", "--auth-type", "NONE")).Json();
        Assert.Equal(Aws.FunctionArn(name) + ":live", onAlias.Str("FunctionArn"));
        Assert.NotEqual(url, onAlias.Str("FunctionUrl"));

        var list = (await aws.LambdaAsync("list-function-url-configs", "--function-name", name)).Json();
        Assert.Equal(2, list.Array("FunctionUrlConfigs").Count);

        var onVersion = await aws.LambdaAsync("create-function-url-config", "--function-name", name, "--qualifier", "1", "--auth-type", "NONE");
        Assert.Contains("at 'qualifier' failed to satisfy constraint", onVersion.ShouldFailWith("ValidationException"), StringComparison.Ordinal);
        var badAuth = await aws.LambdaAsync("create-function-url-config", "--function-name", name, "--qualifier", "live", "--auth-type", "OPEN");
        badAuth.ShouldFail();
        var missing = await aws.LambdaAsync("get-function-url-config", "--function-name", name + "-nope");
        Assert.Equal(Aws.FunctionNotFound(name + "-nope"), missing.ShouldFailWith("ResourceNotFoundException"));

        (await aws.LambdaAsync("delete-function-url-config", "--function-name", name)).ShouldSucceed();
        var gone = await aws.LambdaAsync("get-function-url-config", "--function-name", name);
        Assert.Equal("The resource you requested does not exist.", gone.ShouldFailWith("ResourceNotFoundException"));
        (await aws.LambdaAsync("delete-function-url-config", "--function-name", name)).ShouldFailWith("ResourceNotFoundException");

        // The address is stable per function and qualifier.
        var recreated = (await aws.LambdaAsync("create-function-url-config", "--function-name", name, "--auth-type", "NONE")).Json();
        Assert.Equal(url, recreated.Str("FunctionUrl"));
    });

    [Fact]
    public Task Function_url_create_validates_the_body_as_AWS_does() => fixture.RunAsync(async scope =>
    {
        var name = scope.NewFunctionName();
        await scope.Lambda.CreateFunctionAsync(name, FunctionZips.Build(FunctionZips.NodeUrl), NodeRuntime, NodeHandler);
        var path = $"/2021-10-31/functions/{name}/url";

        var noAuth = await PostJsonAsync(scope, path, "{}");
        Assert.Equal(HttpStatusCode.BadRequest, noAuth.Status);
        Assert.Equal("ValidationException", noAuth.ErrorType);
        Assert.Contains("at 'authType' failed to satisfy constraint: Member must not be null", noAuth.Body, StringComparison.Ordinal);

        var badMode = await PostJsonAsync(scope, path, """{"AuthType":"NONE","InvokeMode":"FAST"}""");
        Assert.Contains("Member must satisfy enum value set: [BUFFERED, RESPONSE_STREAM]", badMode.Body, StringComparison.Ordinal);
        var badAge = await PostJsonAsync(scope, path, """{"AuthType":"NONE","Cors":{"MaxAge":86401}}""");
        Assert.Contains("at 'cors.maxAge' failed to satisfy constraint", badAge.Body, StringComparison.Ordinal);

        var streamed = await PostJsonAsync(scope, path, """{"AuthType":"NONE","InvokeMode":"RESPONSE_STREAM"}""");
        Assert.Equal(HttpStatusCode.Created, streamed.Status);
        Assert.Equal("RESPONSE_STREAM", JsonAssert.Parse(streamed.Body, "create").Str("InvokeMode"));
    });

    /// <summary>A client of its own that keeps no cookies: the functions here set some, and the fixture's client is shared.</summary>
    private static HttpClient Client(NimbusServer server) =>
        new(new SocketsHttpHandler { UseCookies = false }) { BaseAddress = server.EndpointUri, Timeout = TimeSpan.FromMinutes(2) };

    private static Regex UrlPattern(NimbusServer server) =>
        new($@"^http://(?<id>[a-z0-9]{{32}})\.lambda-url\.{Aws.Region}\.localhost:{server.EndpointUri.Port}/$");

    private static async Task<(HttpStatusCode Status, string? ErrorType, string Body)> PostJsonAsync(TestScope scope, string path, string json)
    {
        using var http = Client(scope.Server);
        using var response = await http.PostAsync(path, new StringContent(json, Encoding.UTF8, "application/json"));
        var errorType = response.Headers.TryGetValues("x-amzn-ErrorType", out var values) ? values.Single() : null;
        return (response.StatusCode, errorType, await response.Content.ReadAsStringAsync());
    }
}
