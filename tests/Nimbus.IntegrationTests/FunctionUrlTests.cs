using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Nimbus.IntegrationTests;

/// <summary>
/// Function URLs: the configuration operations through both AWS CLIs, and the front door driven with raw HTTP on
/// both address forms (Host <c>&lt;url-id&gt;.lambda-url.us-east-1.localhost</c> and path <c>/lambda-url/&lt;url-id&gt;/</c>),
/// asserting the payload 2.0 event the function received and Lambda's mapping of its answer.
/// </summary>
public sealed partial class FunctionUrlTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private const string NodeRuntime = "nodejs20.x";
    private const string NodeHandler = "index.handler";

    /// <summary>
    /// CLI v2 speaks the same rest-json as v1, which runs the whole lifecycle below: v2 runs one short pass of the
    /// url-config calls (create with CORS, get, update, delete) and reads its own output shape.
    /// </summary>
    [Fact]
    public Task Function_url_config_calls_work_through_CLI_v2() => fixture.RunAsync(async scope =>
    {
        var aws = scope.Cli(AwsCli.V2);
        var name = scope.NewFunctionName();
        (await aws.CreateFunctionAsync(name, FunctionZips.Build(FunctionZips.NodeUrl), NodeRuntime, NodeHandler)).ShouldSucceed();
        var created = (await aws.LambdaAsync("create-function-url-config", "--function-name", name, "--auth-type", "NONE",
            "--cors", """{"AllowOrigins":["https://app.example"],"MaxAge":60}""")).Json();
        var url = created.Str("FunctionUrl");
        Assert.Matches(UrlPattern(scope.Server), url);
        Assert.Equal(60, created.Num("Cors.MaxAge"));
        Assert.Equal(url, (await aws.LambdaAsync("get-function-url-config", "--function-name", name)).Json().Str("FunctionUrl"));
        Assert.Equal("AWS_IAM", (await aws.LambdaAsync("update-function-url-config", "--function-name", name, "--auth-type", "AWS_IAM")).Json().Str("AuthType"));
        (await aws.LambdaAsync("delete-function-url-config", "--function-name", name)).ShouldSucceed();
        (await aws.LambdaAsync("get-function-url-config", "--function-name", name)).ShouldFailWith("ResourceNotFoundException");
    });

    [Fact]
    public Task Function_url_config_lifecycle_on_LATEST_and_an_alias_with_AWS_errors() => fixture.RunAsync(async scope =>
    {
        var aws = scope.Cli(AwsCli.V1);
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
        Assert.Equal("BUFFERED", created.Str("InvokeMode"));

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

    [Fact]
    public Task Function_url_request_reaches_the_function_as_a_payload_2_0_event_on_the_host_form() => fixture.RunAsync(async scope =>
    {
        var (_, urlId) = await CreateUrlFunctionAsync(scope);
        var host = $"{urlId}.lambda-url.{Aws.Region}.localhost:{scope.Server.EndpointUri.Port}";
        var before = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var response = await RawAsync(scope.Server, $$"""
            POST /echo/a%20b?x=1&x=2&y=z HTTP/1.1
            Host: {{host}}
            User-Agent: url-test/1.0
            X-Multi: one
            X-Multi: two
            Cookie: c1=v1; c2=v2
            Content-Type: application/json
            Content-Length: 13
            Connection: close

            {"hello":"w"}
            """);
        Assert.Equal(200, response.Status);
        Assert.Equal("application/json", response.Header("content-type"));
        var requestId = response.Header("x-amzn-RequestId");
        var e = JsonAssert.Parse(response.Body, "the event");

        Assert.Equal("2.0", e.Str("version"));
        Assert.Equal("$default", e.Str("routeKey"));
        Assert.Equal("/echo/a%20b", e.Str("rawPath"));
        Assert.Equal("x=1&x=2&y=z", e.Str("rawQueryString"));
        Assert.Equal(new[] { "c1=v1", "c2=v2" }, e.Array("cookies").Select(c => c.GetString()!).ToArray());
        Assert.Equal("one,two", e.Str("headers.x-multi"));
        Assert.Equal("url-test/1.0", e.Str("headers.user-agent"));
        Assert.Equal(host, e.Str("headers.host"));
        Assert.False(e.Has("headers.cookie"));
        Assert.All(e.At("headers").EnumerateObject(), h => Assert.Equal(h.Name.ToLowerInvariant(), h.Name));
        Assert.Equal("1,2", e.Str("queryStringParameters.x"));
        Assert.Equal("z", e.Str("queryStringParameters.y"));
        Assert.False(e.Has("pathParameters"));
        Assert.False(e.Has("stageVariables"));
        Assert.Equal("anonymous", e.Str("requestContext.accountId"));
        Assert.Equal(urlId, e.Str("requestContext.apiId"));
        Assert.Equal($"{urlId}.lambda-url.{Aws.Region}.localhost", e.Str("requestContext.domainName"));
        Assert.Equal(urlId, e.Str("requestContext.domainPrefix"));
        Assert.Equal("POST", e.Str("requestContext.http.method"));
        Assert.Equal("/echo/a%20b", e.Str("requestContext.http.path"));
        Assert.Equal("HTTP/1.1", e.Str("requestContext.http.protocol"));
        Assert.Equal("127.0.0.1", e.Str("requestContext.http.sourceIp"));
        Assert.Equal("url-test/1.0", e.Str("requestContext.http.userAgent"));
        Assert.Equal(requestId, e.Str("requestContext.requestId"));
        Assert.Equal("$default", e.Str("requestContext.routeKey"));
        Assert.Equal("$default", e.Str("requestContext.stage"));
        Assert.Matches(@"^\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d \+0000$", e.Str("requestContext.time"));
        Assert.InRange(e.Num("requestContext.timeEpoch"), before - 1000, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        Assert.Equal("""{"hello":"w"}""", e.Str("body"));
        Assert.False(e.Bool("isBase64Encoded"));
    });

    [Fact]
    public Task Function_url_path_form_strips_the_prefix_and_binary_bodies_arrive_base64() => fixture.RunAsync(async scope =>
    {
        var (_, urlId) = await CreateUrlFunctionAsync(scope);
        using var request = new HttpRequestMessage(HttpMethod.Put, $"/lambda-url/{urlId}/upload")
        {
            Content = new ByteArrayContent([0, 1, 2, 255]),
        };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        using var http = Client(scope.Server);
        using var response = await http.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var e = JsonAssert.Parse(await response.Content.ReadAsStringAsync(), "the event");
        Assert.Equal("/upload", e.Str("rawPath"));
        Assert.Equal("", e.Str("rawQueryString"));
        Assert.Equal("PUT", e.Str("requestContext.http.method"));
        Assert.Equal(Convert.ToBase64String(new byte[] { 0, 1, 2, 255 }), e.Str("body"));
        Assert.True(e.Bool("isBase64Encoded"));
        Assert.False(e.Has("cookies"));
        Assert.False(e.Has("queryStringParameters"));

        using var root = await http.GetAsync($"/lambda-url/{urlId}");
        var rootEvent = JsonAssert.Parse(await root.Content.ReadAsStringAsync(), "the event");
        Assert.Equal("/", rootEvent.Str("rawPath"));
        Assert.False(rootEvent.Has("body"));
        Assert.False(rootEvent.Bool("isBase64Encoded"));
    });

    [Fact]
    public Task Function_url_maps_the_function_answer_to_HTTP_as_Lambda_does() => fixture.RunAsync(async scope =>
    {
        var (_, urlId) = await CreateUrlFunctionAsync(scope);
        using var http = Client(scope.Server);

        using var created = await http.GetAsync($"/lambda-url/{urlId}/response");
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        Assert.Equal("text/plain", created.Content.Headers.ContentType!.ToString());
        Assert.Equal("yes", created.Headers.GetValues("x-custom").Single());
        Assert.Equal(new[] { "a=1; Path=/", "b=2" }, created.Headers.GetValues("Set-Cookie").ToArray());
        Assert.Equal("created", await created.Content.ReadAsStringAsync());

        using var binary = await http.GetAsync($"/lambda-url/{urlId}/binary");
        Assert.Equal("application/octet-stream", binary.Content.Headers.ContentType!.ToString());
        Assert.Equal(new byte[] { 0, 1, 2, 255 }, await binary.Content.ReadAsByteArrayAsync());

        using var defaulted = await http.GetAsync($"/lambda-url/{urlId}/no-content-type");
        Assert.Equal(HttpStatusCode.Accepted, defaulted.StatusCode);
        Assert.Equal("application/json", defaulted.Content.Headers.ContentType!.ToString());

        using var bare = await http.GetAsync($"/lambda-url/{urlId}/string");
        Assert.Equal(HttpStatusCode.OK, bare.StatusCode);
        Assert.Equal("application/json", bare.Content.Headers.ContentType!.ToString());
        Assert.Equal("\"hello\"", await bare.Content.ReadAsStringAsync());

        using var array = await http.GetAsync($"/lambda-url/{urlId}/array");
        Assert.Equal("""[1,"two"]""", await array.Content.ReadAsStringAsync());

        foreach (var failing in new[] { "error", "malformed" })
        {
            using var bad = await http.GetAsync($"/lambda-url/{urlId}/{failing}");
            Assert.Equal(HttpStatusCode.BadGateway, bad.StatusCode);
            Assert.Equal("""{"Message":"Internal Server Error"}""", await bad.Content.ReadAsStringAsync());
            Assert.True(bad.Headers.Contains("x-amzn-RequestId"));
        }
    });

    [Fact]
    public Task Function_url_answers_CORS_preflights_from_its_config_and_adds_CORS_headers_to_responses() => fixture.RunAsync(async scope =>
    {
        var (name, urlId) = await CreateUrlFunctionAsync(scope,
            """{"AllowOrigins":["https://app.example"],"AllowMethods":["GET","POST"],"AllowHeaders":["x-token"],"ExposeHeaders":["x-custom"],"MaxAge":300,"AllowCredentials":true}""");
        using var http = Client(scope.Server);

        using var preflight = new HttpRequestMessage(HttpMethod.Options, $"/lambda-url/{urlId}/response");
        preflight.Headers.Add("Origin", "https://app.example");
        preflight.Headers.Add("Access-Control-Request-Method", "POST");
        using var answered = await http.SendAsync(preflight);
        Assert.Equal(HttpStatusCode.OK, answered.StatusCode);
        Assert.Equal("https://app.example", answered.Headers.GetValues("Access-Control-Allow-Origin").Single());
        Assert.Equal("GET,POST", answered.Headers.GetValues("Access-Control-Allow-Methods").Single());
        Assert.Equal("x-token", answered.Headers.GetValues("Access-Control-Allow-Headers").Single());
        Assert.Equal("300", answered.Headers.GetValues("Access-Control-Max-Age").Single());
        Assert.Equal("true", answered.Headers.GetValues("Access-Control-Allow-Credentials").Single());
        Assert.Equal("", await answered.Content.ReadAsStringAsync());

        using var stranger = new HttpRequestMessage(HttpMethod.Options, $"/lambda-url/{urlId}/response");
        stranger.Headers.Add("Origin", "https://other.example");
        stranger.Headers.Add("Access-Control-Request-Method", "POST");
        using var refused = await http.SendAsync(stranger);
        Assert.False(refused.Headers.Contains("Access-Control-Allow-Origin"));

        using var actual = new HttpRequestMessage(HttpMethod.Get, $"/lambda-url/{urlId}/cors-override");
        actual.Headers.Add("Origin", "https://app.example");
        using var withCors = await http.SendAsync(actual);
        Assert.Equal("https://app.example", withCors.Headers.GetValues("Access-Control-Allow-Origin").Single());
        Assert.Equal("x-custom", withCors.Headers.GetValues("Access-Control-Expose-Headers").Single());

        // An emptied Cors config allows no origin: no CORS headers any more.
        (await scope.Cli(AwsCli.V2).LambdaAsync("update-function-url-config", "--function-name", name, "--cors", "{}")).ShouldSucceed();
        using var plain = new HttpRequestMessage(HttpMethod.Get, $"/lambda-url/{urlId}/response");
        plain.Headers.Add("Origin", "https://app.example");
        using var noCors = await http.SendAsync(plain);
        Assert.False(noCors.Headers.Contains("Access-Control-Allow-Origin"));
    });

    [Fact]
    public Task Function_url_unknown_ids_are_403_throttles_429_and_large_bodies_413() => fixture.RunAsync(async scope =>
    {
        var (name, urlId) = await CreateUrlFunctionAsync(scope);
        using var http = Client(scope.Server);

        using var unknown = await http.GetAsync($"/lambda-url/{new string('a', 32)}/");
        Assert.Equal(HttpStatusCode.Forbidden, unknown.StatusCode);
        Assert.Equal("""{"Message":"Forbidden"}""", await unknown.Content.ReadAsStringAsync());

        using var large = await http.PostAsync($"/lambda-url/{urlId}/", new ByteArrayContent(new byte[6 * 1024 * 1024 + 1]));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, large.StatusCode);

        (await scope.Cli(AwsCli.V2).LambdaAsync("put-function-concurrency", "--function-name", name, "--reserved-concurrent-executions", "0")).ShouldSucceed();
        using var throttled = await http.GetAsync($"/lambda-url/{urlId}/");
        Assert.Equal((HttpStatusCode)429, throttled.StatusCode);

        (await scope.Cli(AwsCli.V2).LambdaAsync("delete-function", "--function-name", name)).ShouldSucceed();
        using var deleted = await http.GetAsync($"/lambda-url/{urlId}/");
        Assert.Equal(HttpStatusCode.Forbidden, deleted.StatusCode);
    });

    [Fact]
    public Task Function_url_caller_that_hangs_up_during_a_cold_start_gives_its_place_up_as_an_Invoke_caller_does() => fixture.RunAsync(async scope =>
    {
        // Init takes 4 s without using CPU; the client gives up after 1 s, while its call waits for that init.
        var name = scope.NewFunctionName();
        var zip = FunctionZips.FromSource("index.js", """
            Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 4000);
            exports.handler = async () => ({ statusCode: 200, body: "late" });
            """);
        await scope.Lambda.CreateFunctionAsync(name, zip, NodeRuntime, "index.handler", timeout: 30);
        var created = await PostJsonAsync(scope, $"/2021-10-31/functions/{name}/url", """{"AuthType":"NONE"}""");
        Assert.True(created.Status == HttpStatusCode.Created, created.Body);
        var urlId = UrlPattern(scope.Server).Match(JsonAssert.Parse(created.Body, "CreateFunctionUrlConfig").Str("FunctionUrl")).Groups["id"].Value;

        using var http = Client(scope.Server);
        using (var giveUp = new CancellationTokenSource(TimeSpan.FromSeconds(1)))
        {
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => http.GetAsync($"/lambda-url/{urlId}/", giveUp.Token));
        }

        // The hang-up is counted as an abandoned invocation of the function, as for Invoke's callers.
        var deadline = DateTime.UtcNow.AddSeconds(60);
        double abandoned;
        string text;
        do
        {
            await Task.Delay(200);
            using var response = await scope.Server.Http.GetAsync(new Uri("/metrics", UriKind.Relative));
            text = await response.Content.ReadAsStringAsync();
            abandoned = PrometheusText.Parse(text).Samples("nimbus_lambda_abandoned_invocations_total", ("function", name)).Sum(s => s.Value);
        }
        while (abandoned < 1 && DateTime.UtcNow < deadline);

        Assert.True(abandoned == 1, $"Expected one abandoned invocation of {name}, got {abandoned}.{Environment.NewLine}{text}");

        // The instance joins the pool warm: the next caller is served by it.
        using var served = await http.GetAsync($"/lambda-url/{urlId}/");
        Assert.Equal(HttpStatusCode.OK, served.StatusCode);
        Assert.Equal("late", await served.Content.ReadAsStringAsync());
    });

    private static async Task<(string Name, string UrlId)> CreateUrlFunctionAsync(TestScope scope, string? cors = null)
    {
        var name = scope.NewFunctionName();
        await scope.Lambda.CreateFunctionAsync(name, FunctionZips.Build(FunctionZips.NodeUrl), NodeRuntime, NodeHandler);
        var body = cors is null ? """{"AuthType":"NONE"}""" : $$"""{"AuthType":"NONE","Cors":{{cors}}}""";
        var created = await PostJsonAsync(scope, $"/2021-10-31/functions/{name}/url", body);
        Assert.True(created.Status == HttpStatusCode.Created, created.Body);
        var url = JsonAssert.Parse(created.Body, "CreateFunctionUrlConfig").Str("FunctionUrl");
        var match = UrlPattern(scope.Server).Match(url);
        Assert.True(match.Success, url);
        return (name, match.Groups["id"].Value);
    }

    /// <summary>
    /// A client of its own that keeps no cookies (the functions here set some, and the fixture's client is shared),
    /// signing as root like the fixture's: the control-plane calls need it; URLs with AuthType NONE ignore it.
    /// </summary>
    private static HttpClient Client(NimbusServer server) =>
        new(new SigV4SigningHandler(NimbusServer.RootAccessKeyId, NimbusServer.RootSecretAccessKey, Aws.Region, new SocketsHttpHandler { UseCookies = false }))
        {
            BaseAddress = server.EndpointUri,
            Timeout = TimeSpan.FromMinutes(2),
        };

    private static Regex UrlPattern(NimbusServer server) =>
        new($@"^http://(?<id>[a-z0-9]{{32}})\.lambda-url\.{Aws.Region}\.localhost:{server.EndpointUri.Port}/$");

    private static async Task<(HttpStatusCode Status, string? ErrorType, string Body)> PostJsonAsync(TestScope scope, string path, string json)
    {
        using var http = Client(scope.Server);
        using var response = await http.PostAsync(path, new StringContent(json, Encoding.UTF8, "application/json"));
        var errorType = response.Headers.TryGetValues("x-amzn-ErrorType", out var values) ? values.Single() : null;
        return (response.StatusCode, errorType, await response.Content.ReadAsStringAsync());
    }

    /// <summary>One HTTP/1.1 request written byte for byte (repeated header lines, any Host), read to the close.</summary>
    private static async Task<RawResponse> RawAsync(NimbusServer server, string request)
    {
        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, server.EndpointUri.Port);
        var stream = client.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes(request.ReplaceLineEndings("\r\n")));
        using var reader = new StreamReader(stream, Encoding.UTF8);
        var text = await reader.ReadToEndAsync().WaitAsync(TimeSpan.FromMinutes(1));
        var split = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        var lines = text[..split].Split("\r\n");
        var headers = lines.Skip(1).Select(l => l.Split(':', 2)).Select(p => (Name: p[0].Trim(), Value: p[1].Trim())).ToList();
        return new RawResponse(int.Parse(lines[0].Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture), headers, text[(split + 4)..]);
    }

    private sealed record RawResponse(int Status, List<(string Name, string Value)> Headers, string Body)
    {
        public string Header(string name) => Headers.First(h => string.Equals(h.Name, name, StringComparison.OrdinalIgnoreCase)).Value;
    }
}
