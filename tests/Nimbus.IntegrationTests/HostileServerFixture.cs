using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using System.Xml.Linq;

namespace Nimbus.IntegrationTests;

/// <summary>The API surfaces the hostile-input suite drives, each with its own error shape.</summary>
internal enum Surface
{
    Lambda,
    SqsJson,
    SqsQuery,
    S3,
    Logs,
    CloudWatchJson,
    CloudWatchQuery,
    Scheduler,
    FunctionUrl,
    RuntimeApi,
}

/// <summary>
/// One server of its own for the hostile-input and soak tests: data directory <c>&lt;root&gt;/data</c>, so a file
/// written next to it (a zip slip, a key with "..") is seen in <c>&lt;root&gt;</c>. Holds an echo function with a
/// function URL, a Runtime API prober function, a bucket and a queue; checks after each test that the server still
/// answers and that nothing was written outside its place.
/// </summary>
public sealed partial class HostileServerFixture : IAsyncLifetime
{
    public const string EchoFunction = "hostile-echo";
    public const string ProbeFunction = "hostile-probe";
    public const string Bucket = "hostile-bucket";
    public const string QueueName = "hostile-queue";
    public const string LogGroup = "/hostile/group";
    public const string LogStream = "stream";

    /// <summary>An object that keeps the bucket non-empty and must read back unchanged after every test.</summary>
    public const string Sentinel = "sentinel";

    private const string SentinelContent = "the sentinel object, written before any hostile request";

    /// <summary>Every name a hostile input uses to try to escape contains this, so a search finds any escapee.</summary>
    public const string EscapeMarker = "fuzzescape";

    /// <summary>
    /// exports.echo answers an invoke with the event it got and a URL request with what it received;
    /// exports.probe sends the requests it is given to its own Runtime API and reports the answers.
    /// </summary>
    private const string FunctionSource = """
        const crypto = require('crypto');
        exports.echo = async (event) => {
          if (event && event.requestContext && event.requestContext.http) {
            const body = event.body === undefined ? '' : event.body;
            const bytes = Buffer.from(body, event.isBase64Encoded ? 'base64' : 'utf8');
            return { statusCode: 200, headers: { 'content-type': 'application/json' },
              body: JSON.stringify({ length: bytes.length, md5: crypto.createHash('md5').update(bytes).digest('hex') }) };
          }
          return { echo: event };
        };
        exports.probe = async (event) => {
          const answers = [];
          for (const r of event.requests) {
            try {
              const body = r.zeros ? Buffer.alloc(r.zeros) : r.body === undefined || r.body === null ? undefined : Buffer.from(r.body, 'base64');
              const response = await fetch('http://' + process.env.AWS_LAMBDA_RUNTIME_API + r.path, { method: r.method, headers: r.headers || {}, body });
              answers.push({ status: response.status, contentType: response.headers.get('content-type'), body: await response.text() });
            } catch (e) {
              // fetch itself refused to send it (a header value it will not put on the wire): nothing reached the server.
              answers.push({ status: 0, clientRefused: true, body: String(e) });
            }
          }
          return answers;
        };
        """;

    private static readonly string[] DataEntriesAllowedLater = ["code", "objects", "buckets", "queues.db", "logs.db", "metering.db"];

    private TempDirectory? _root;
    private NimbusServer? _server;
    private HashSet<string> _dataEntries = [];
    private HttpClient? _signed;
    private HttpClient? _unsigned;

    internal NimbusServer Server => _server ?? throw new InvalidOperationException("The hostile-input server has not been started.");

    internal string Root => _root?.Path ?? throw new InvalidOperationException("not started");

    internal string QueueUrl { get; private set; } = "";

    internal string UrlId { get; private set; } = "";

    /// <summary>Signs with root like an SDK; keeps no cookies and follows no redirects.</summary>
    internal HttpClient Signed => _signed ?? throw new InvalidOperationException("not started");

    internal HttpClient Unsigned => _unsigned ?? throw new InvalidOperationException("not started");

    public async Task InitializeAsync()
    {
        _root = new TempDirectory("nimbus-it-hostile");
        _server = await NimbusServer.StartAsync(Path.Combine(_root.Path, "data"));
        _signed = new HttpClient(new SigV4SigningHandler(NimbusServer.RootAccessKeyId, NimbusServer.RootSecretAccessKey, Aws.Region,
            new SocketsHttpHandler { UseCookies = false, AllowAutoRedirect = false, AutomaticDecompression = System.Net.DecompressionMethods.None }))
        {
            Timeout = TimeSpan.FromMinutes(2),
        };
        _unsigned = new HttpClient(new SocketsHttpHandler { UseCookies = false, AllowAutoRedirect = false }) { Timeout = TimeSpan.FromMinutes(2) };

        var zip = FunctionZips.FromSource("index.js", FunctionSource);
        var lambda = new LambdaHttp(_server.Http);
        await lambda.CreateFunctionAsync(EchoFunction, zip, "nodejs20.x", "index.echo", timeout: 30);
        await lambda.CreateFunctionAsync(ProbeFunction, zip, "nodejs20.x", "index.probe", timeout: 60);
        var url = await SendTextAsync(HttpMethod.Post, $"/2021-10-31/functions/{EchoFunction}/url", """{"AuthType":"NONE"}""", "application/json");
        Assert.True(url.StatusCode == 201, url.ToString());
        UrlId = UrlIdPattern().Match(url.Json().GetProperty("FunctionUrl").GetString()!).Groups[1].Value;

        var bucket = await SendTextAsync(HttpMethod.Put, "/" + Bucket, "", null);
        Assert.True(bucket.StatusCode == 200, bucket.ToString());
        var sentinel = await SendTextAsync(HttpMethod.Put, $"/{Bucket}/{Sentinel}", SentinelContent, "text/plain");
        Assert.True(sentinel.StatusCode == 200, sentinel.ToString());
        var queue = await SqsJsonAsync("CreateQueue", $$"""{"QueueName":"{{QueueName}}"}""");
        Assert.True(queue.StatusCode == 200, queue.ToString());
        QueueUrl = queue.Json().GetProperty(nameof(QueueUrl)).GetString()!;
        var group = await SendTextAsync(HttpMethod.Post, "/", $$"""{"logGroupName":"{{LogGroup}}"}""", "application/x-amz-json-1.1",
            new Dictionary<string, string> { ["X-Amz-Target"] = "Logs_20140328.CreateLogGroup" });
        Assert.True(group.StatusCode == 200, group.ToString());
        var stream = await SendTextAsync(HttpMethod.Post, "/", $$"""{"logGroupName":"{{LogGroup}}","logStreamName":"{{LogStream}}"}""", "application/x-amz-json-1.1",
            new Dictionary<string, string> { ["X-Amz-Target"] = "Logs_20140328.CreateLogStream" });
        Assert.True(stream.StatusCode == 200, stream.ToString());

        // Warm both functions, so the first hostile test does not pay for cold starts.
        foreach (var function in new[] { EchoFunction, ProbeFunction })
        {
            var warm = await lambda.InvokeAsync(function, function == ProbeFunction ? """{"requests":[]}""" : "{}");
            Assert.True(warm.StatusCode == 200, warm.ToString());
        }

        _dataEntries = [.. Directory.EnumerateFileSystemEntries(Path.Combine(Root, "data")).Select(path => Path.GetFileName(path))];
    }

    public async Task DisposeAsync()
    {
        _signed?.Dispose();
        _unsigned?.Dispose();
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }

        _root?.Dispose();
    }

    /// <summary>Runs a test body; then checks the server is alive and the data directory is whole. Failures carry the seed and the server's output.</summary>
    internal Task RunAsync(string surface, Func<HostileInput, Task> test)
    {
        var input = HostileInput.For(surface);
        return Failures.WithContextAsync(
            async () =>
            {
                var collected = new List<string>();
                Collected.Value = collected;
                try
                {
                    await test(input);
                }
                finally
                {
                    Collected.Value = null;
                }

                Assert.True(collected.Count == 0, $"{collected.Count} hostile requests were answered wrongly; the first ones:{Environment.NewLine}{string.Join(Environment.NewLine + "----" + Environment.NewLine, collected.Take(8))}");
                await AssertHealthyAsync();
            },
            () => $"Seed: NIMBUS_FUZZ_SEED={HostileInput.RunSeed} (surface {surface}, derived seed {input.Seed}).{Environment.NewLine}{Server.DescribeOutput(120)}");
    }

    /// <summary>The server answers /health, and nothing exists outside the data directory or under a name an escape attempt used.</summary>
    internal async Task AssertHealthyAsync()
    {
        var health = await SendAsync(HttpMethod.Get, "/health", null, null);
        Assert.True(health.StatusCode == 200, $"The server no longer answers /health: {health}");

        var sentinel = await SendAsync(HttpMethod.Get, $"/{Bucket}/{Sentinel}", null, null);
        Assert.True(sentinel.StatusCode == 200 && sentinel.Text == SentinelContent, $"The sentinel object did not survive: {sentinel}");

        var outside = Directory.EnumerateFileSystemEntries(Root).Select(Path.GetFileName).Where(name => name != "data").ToList();
        Assert.True(outside.Count == 0, $"Files appeared next to the data directory: {string.Join(", ", outside)}");
        var data = Path.Combine(Root, "data");
        var newEntries = Directory.EnumerateFileSystemEntries(data).Select(Path.GetFileName)
            .Where(name => !_dataEntries.Contains(name!) && !DataEntriesAllowedLater.Contains(name)).ToList();
        Assert.True(newEntries.Count == 0, $"Unexpected entries appeared at the top of the data directory: {string.Join(", ", newEntries)}");

        var escaped = new List<string>();
        foreach (var entry in new DirectoryInfo(data).EnumerateFileSystemInfos("*", new EnumerationOptions { RecurseSubdirectories = true, IgnoreInaccessible = true, AttributesToSkip = 0 }))
        {
            if (entry.Name.Contains(EscapeMarker, StringComparison.Ordinal) && !IsObjectOrCodeContent(entry.FullName))
            {
                escaped.Add(entry.FullName);
            }

            if (entry.LinkTarget is { } target && (target.Contains(EscapeMarker, StringComparison.Ordinal) || target.StartsWith("/etc", StringComparison.Ordinal)))
            {
                escaped.Add($"{entry.FullName} -> {target}");
            }
        }

        escaped.AddRange(Directory.EnumerateFileSystemEntries(Path.GetTempPath(), $"*{EscapeMarker}*"));
        escaped.AddRange(Directory.EnumerateFileSystemEntries(Path.GetDirectoryName(Root)!, $"*{EscapeMarker}*"));
        Assert.True(escaped.Count == 0, $"Hostile input wrote outside its place: {string.Join(", ", escaped.Distinct())}");
    }

    /// <summary>Unpacked function code keeps the names its zip gave (inside code/unpacked/&lt;sha&gt;/): that is its place.</summary>
    private bool IsObjectOrCodeContent(string path)
    {
        var code = Path.Combine(Root, "data", "code") + Path.DirectorySeparatorChar;
        return path.StartsWith(code, StringComparison.Ordinal);
    }

    internal Task<HttpResult> SqsJsonAsync(string operation, string body) =>
        SendTextAsync(HttpMethod.Post, "/", body, "application/x-amz-json-1.0", new Dictionary<string, string> { ["X-Amz-Target"] = "AmazonSQS." + operation });

    internal Task<HttpResult> SendTextAsync(HttpMethod method, string pathAndQuery, string body, string? contentType, IReadOnlyDictionary<string, string>? headers = null) =>
        SendAsync(method, pathAndQuery, Encoding.UTF8.GetBytes(body), contentType, headers);

    /// <summary>
    /// Sends a request exactly as given: the path is not canonicalized (<c>..</c>, <c>/./</c> and percent escapes
    /// reach the server as written), the body is raw bytes.
    /// </summary>
    internal async Task<HttpResult> SendAsync(HttpMethod method, string pathAndQuery, byte[]? body, string? contentType, IReadOnlyDictionary<string, string>? headers = null, bool signed = true, string? host = null)
    {
        var uri = new Uri(Server.Endpoint + pathAndQuery, new UriCreationOptions { DangerousDisablePathAndQueryCanonicalization = true });
        using var request = new HttpRequestMessage(method, uri);
        if (body is not null)
        {
            request.Content = new ByteArrayContent(body);
            if (contentType is not null)
            {
                request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
            }
        }

        if (host is not null)
        {
            request.Headers.Host = host;
        }

        foreach (var (name, value) in headers ?? new Dictionary<string, string>())
        {
            if (!request.Headers.TryAddWithoutValidation(name, value))
            {
                request.Content ??= new ByteArrayContent([]);
                request.Content.Headers.TryAddWithoutValidation(name, value);
            }
        }

        using var response = await (signed ? Signed : Unsigned).SendAsync(request);
        var bytes = await response.Content.ReadAsByteArrayAsync();
        var all = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var (name, values) in response.Headers.Concat(response.Content.Headers))
        {
            all[name] = string.Join(",", values);
        }

        var shown = pathAndQuery.Length > 200 ? pathAndQuery[..200] + "..." : pathAndQuery;
        return new HttpResult($"{method} {shown}", (int)response.StatusCode, all, bytes);
    }

    /// <summary>
    /// The answer to a hostile request: never a 5xx; a 4xx when <paramref name="mustFail"/>; every 4xx in the
    /// surface's own error shape, as that service's clients parse it.
    /// </summary>
    internal static void AssertAnswer(Surface surface, HttpResult result, string what, bool mustFail, bool head = false)
    {
        if (Collected.Value is { } collected)
        {
            try
            {
                Check(surface, result, what, mustFail, head);
            }
            catch (Xunit.Sdk.XunitException e)
            {
                lock (collected)
                {
                    collected.Add(e.Message);
                }
            }

            return;
        }

        Check(surface, result, what, mustFail, head);
    }

    /// <summary>When set, failed answers are collected (so one run reports every finding) instead of thrown.</summary>
    private static readonly AsyncLocal<List<string>?> Collected = new();

    private static void Check(Surface surface, HttpResult result, string what, bool mustFail, bool head)
    {
        var context = $"{surface}, {what}:{Environment.NewLine}{result}";
        Assert.True(result.StatusCode < 500 || (surface == Surface.S3 && result.StatusCode == 501 && S3Code(result) == "NotImplemented"),
            $"A hostile request got a server error. {context}");
        if (mustFail)
        {
            Assert.True(result.StatusCode >= 400, $"A hostile request that must be refused was accepted. {context}");
        }

        if (result.StatusCode < 400 || head)
        {
            return;
        }

        // Kestrel refuses a request it cannot parse (a NUL or control character decoded into the path, a malformed
        // request line) with a bare 400 and closes the connection before any service code runs: no service shape is possible.
        if (result.StatusCode == 400 && result.Body.Length == 0 && result.Header("Connection") == "close")
        {
            return;
        }

        var contentType = result.Header("Content-Type") ?? "";
        switch (surface)
        {
            case Surface.Lambda:
            case Surface.Scheduler:
                Assert.True(!string.IsNullOrEmpty(result.Header("x-amzn-ErrorType")), $"No x-amzn-ErrorType header. {context}");
                Assert.True(contentType.StartsWith("application/json", StringComparison.Ordinal), $"Not application/json. {context}");
                var json = ParseObject(result, context);
                Assert.True(json.TryGetProperty("message", out _) || json.TryGetProperty("Message", out _), $"No message in the error body. {context}");
                break;
            case Surface.SqsJson:
            case Surface.CloudWatchJson:
            case Surface.Logs:
                var expected = surface == Surface.Logs ? "application/x-amz-json-1.1" : "application/x-amz-json-1.0";
                Assert.True(contentType.StartsWith(expected, StringComparison.Ordinal), $"Not {expected}. {context}");
                var error = ParseObject(result, context);
                Assert.True(error.TryGetProperty("__type", out var type) && type.ValueKind == JsonValueKind.String && type.GetString()!.Length > 0,
                    $"No __type in the error body. {context}");
                break;
            case Surface.SqsQuery:
            case Surface.CloudWatchQuery:
                Assert.True(contentType.StartsWith("text/xml", StringComparison.Ordinal), $"Not text/xml. {context}");
                var code = ParseXml(result, context).Descendants().FirstOrDefault(e => e.Name.LocalName == "Code")?.Value;
                Assert.True(!string.IsNullOrEmpty(code), $"No <Code> in the ErrorResponse. {context}");
                break;
            case Surface.S3:
                Assert.True(contentType.StartsWith("application/xml", StringComparison.Ordinal), $"Not application/xml. {context}");
                Assert.True(!string.IsNullOrEmpty(S3Code(result)), $"No <Error><Code>. {context}");
                break;
            case Surface.FunctionUrl:
                Assert.True(contentType.StartsWith("application/json", StringComparison.Ordinal), $"Not application/json. {context}");
                Assert.True(ParseObject(result, context).TryGetProperty("Message", out _), $"No Message in the error body. {context}");
                break;
            case Surface.RuntimeApi:
                var runtime = ParseObject(result, context);
                Assert.True(runtime.TryGetProperty("errorType", out _) && runtime.TryGetProperty("errorMessage", out _), $"No errorType/errorMessage. {context}");
                break;
        }
    }

    internal static string? S3Code(HttpResult result)
    {
        try
        {
            var root = XDocument.Parse(result.Text).Root;
            return root?.Name.LocalName == "Error" ? root.Element("Code")?.Value : null;
        }
        catch (System.Xml.XmlException)
        {
            return null;
        }
    }

    private static JsonElement ParseObject(HttpResult result, string context)
    {
        try
        {
            using var document = JsonDocument.Parse(result.Body);
            Assert.True(document.RootElement.ValueKind == JsonValueKind.Object, $"The error body is not a JSON object. {context}");
            return document.RootElement.Clone();
        }
        catch (JsonException)
        {
            Assert.Fail($"The error body is not JSON. {context}");
            throw;
        }
    }

    private static XDocument ParseXml(HttpResult result, string context)
    {
        try
        {
            return XDocument.Parse(result.Text);
        }
        catch (System.Xml.XmlException)
        {
            Assert.Fail($"The error body is not XML. {context}");
            throw;
        }
    }

    /// <summary>A JSON object node from text, for building request templates.</summary>
    internal static JsonObject Object(string json) => JsonNode.Parse(json)!.AsObject();

    [GeneratedRegex(@"^http://([a-z0-9]+)\.lambda-url\.")]
    private static partial Regex UrlIdPattern();
}

/// <summary>
/// The collection whose tests share <see cref="HostileServerFixture"/>. Not parallel (it runs alone, after the parallel
/// classes): SoakTests floods the machine with hostile and legitimate traffic.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class HostileCollectionDefinition : ICollectionFixture<HostileServerFixture>
{
    public const string Name = "hostile";
}
