using System.Diagnostics;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;

namespace Nimbus.IntegrationTests;

/// <summary>
/// Function URLs seen by the clients people use: a headless Chromium loading an HTML page whose script fetches
/// JSON from the same URL, and curl uploading and downloading binary bodies, sending and keeping cookies, and
/// sending a CORS preflight.
/// </summary>
public sealed partial class FunctionUrlClientTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    /// <summary>A small web app: an HTML page, a JSON API its script calls, a binary echo and a cookie endpoint.</summary>
    private const string WebApp = """
        const crypto = require('node:crypto');
        const page = `<!doctype html><html><head><title>nimbus web</title></head><body>
        <div id="out">loading</div>
        <script>
          fetch('/api/greeting?from=page', { headers: { 'x-from': 'script' } })
            .then((r) => r.json())
            .then((j) => { const out = document.getElementById('out'); out.textContent = j.greeting + ' via ' + j.method + ' ' + j.query; out.dataset.agent = j.agent; })
            .catch((e) => { document.getElementById('out').textContent = 'failed: ' + e; });
        </script></body></html>`;

        exports.handler = async (event) => {
          const http = event.requestContext.http;
          if (event.rawPath === '/api/greeting') {
            return { statusCode: 200, headers: { 'content-type': 'application/json' },
              body: JSON.stringify({ greeting: 'hello from nimbus', method: http.method, query: event.rawQueryString, agent: http.userAgent, from: event.headers['x-from'] }) };
          }
          if (event.rawPath === '/upload') {
            const bytes = Buffer.from(event.body || '', event.isBase64Encoded ? 'base64' : 'utf8');
            return { statusCode: 200,
              headers: { 'content-type': 'application/octet-stream', 'x-sha256': crypto.createHash('sha256').update(bytes).digest('hex'), 'x-base64': String(event.isBase64Encoded) },
              body: Buffer.from(bytes).reverse().toString('base64'), isBase64Encoded: true };
          }
          if (event.rawPath === '/cookies') {
            return { statusCode: 200, headers: { 'content-type': 'application/json' },
              cookies: ['session=abc123; Path=/; HttpOnly', 'theme=dark; Path=/; Max-Age=3600'],
              body: JSON.stringify({ received: event.cookies || [] }) };
          }
          return { statusCode: 200, headers: { 'content-type': 'text/html; charset=utf-8' }, body: page };
        };
        """;

    [Fact]
    public Task Headless_Chromium_renders_a_page_whose_script_fetched_JSON_from_the_same_function_url() => fixture.RunAsync(async scope =>
    {
        var url = await CreateWebAppAsync(scope);
        using var profile = new TempDirectory("nimbus-it-chromium");
        var dom = await RunAsync("chromium",
            ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", $"--user-data-dir={profile.Path}", "--virtual-time-budget=10000", "--dump-dom", url],
            TimeSpan.FromMinutes(2));

        // The script ran in the browser, called the function again (GET, same origin, Chromium's user agent) and wrote the answer.
        var output = OutputDiv().Match(dom);
        Assert.True(output.Success, dom);
        Assert.Equal("hello from nimbus via GET from=page", output.Groups["text"].Value);
        Assert.Contains("Chrome/", output.Groups["agent"].Value, StringComparison.Ordinal);
    });

    [Fact]
    public Task Curl_uploads_and_downloads_binary_bodies_base64_both_ways() => fixture.RunAsync(async scope =>
    {
        var url = await CreateWebAppAsync(scope);
        var upload = new byte[256 * 1024];
        new Random(7).NextBytes(upload);
        var input = Path.Combine(scope.ScratchDirectory, "upload.bin");
        var output = Path.Combine(scope.ScratchDirectory, "download.bin");
        await File.WriteAllBytesAsync(input, upload);

        var headers = await RunAsync("curl",
            ["-sS", "-D", "-", "-o", output, "-X", "POST", "-H", "content-type: application/octet-stream", "--data-binary", "@" + input, url + "upload"],
            TimeSpan.FromMinutes(1));
        Assert.StartsWith("HTTP/1.1 200", headers, StringComparison.Ordinal);
        Assert.Contains("x-base64: true", headers, StringComparison.OrdinalIgnoreCase);
        Assert.Contains($"x-sha256: {Convert.ToHexStringLower(SHA256.HashData(upload))}", headers, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("content-type: application/octet-stream", headers, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(upload.Reverse().ToArray(), await File.ReadAllBytesAsync(output));
    });

    [Fact]
    public Task Curl_sends_cookies_in_gets_Set_Cookie_back_and_a_CORS_preflight_answered_from_the_config() => fixture.RunAsync(async scope =>
    {
        var url = await CreateWebAppAsync(scope, """{"AllowOrigins":["https://app.example"],"AllowMethods":["POST"],"AllowHeaders":["x-token"],"MaxAge":600}""");
        var jar = Path.Combine(scope.ScratchDirectory, "cookies.txt");
        var body = await RunAsync("curl", ["-sS", "-b", "a=1; b=two", "-c", jar, url + "cookies"], TimeSpan.FromMinutes(1));
        Assert.Equal("""{"received":["a=1","b=two"]}""", body);
        var kept = await File.ReadAllTextAsync(jar);
        Assert.Matches(@"#HttpOnly_\S+\tFALSE\t/\tFALSE\t0\tsession\tabc123", kept);
        Assert.Matches(@"\t/\tFALSE\t\d+\ttheme\tdark", kept);

        // The jar goes back on the next request, as a browser would send it.
        var again = await RunAsync("curl", ["-sS", "-b", jar, url + "cookies"], TimeSpan.FromMinutes(1));
        Assert.Contains("\"session=abc123\"", again, StringComparison.Ordinal);
        Assert.Contains("\"theme=dark\"", again, StringComparison.Ordinal);

        var preflight = await RunAsync("curl",
            ["-sS", "-D", "-", "-o", "/dev/null", "-X", "OPTIONS", "-H", "Origin: https://app.example", "-H", "Access-Control-Request-Method: POST",
             "-H", "Access-Control-Request-Headers: x-token", url + "api/greeting"],
            TimeSpan.FromMinutes(1));
        Assert.StartsWith("HTTP/1.1 200", preflight, StringComparison.Ordinal);
        Assert.Contains("access-control-allow-origin: https://app.example", preflight, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("access-control-allow-methods: POST", preflight, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("access-control-allow-headers: x-token", preflight, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("access-control-max-age: 600", preflight, StringComparison.OrdinalIgnoreCase);
    });

    /// <summary>Creates the web app with a URL and returns the URL in its host form (<c>http://&lt;id&gt;.lambda-url.&lt;region&gt;.localhost:&lt;port&gt;/</c>).</summary>
    private static async Task<string> CreateWebAppAsync(TestScope scope, string? cors = null)
    {
        var name = scope.NewFunctionName();
        await scope.Lambda.CreateFunctionAsync(name, FunctionZips.FromSource("index.js", WebApp), "nodejs20.x", "index.handler");
        var body = cors is null ? """{"AuthType":"NONE"}""" : $$"""{"AuthType":"NONE","Cors":{{cors}}}""";
        using var content = new StringContent(body, Encoding.UTF8, "application/json");
        using var response = await scope.Server.Http.PostAsync($"/2021-10-31/functions/{name}/url", content);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Created, text);
        return JsonAssert.Parse(text, "CreateFunctionUrlConfig").Str("FunctionUrl");
    }

    /// <summary>Runs a client to its exit and returns its stdout; fails the test on a non-zero exit or the deadline.</summary>
    private static async Task<string> RunAsync(string program, IReadOnlyList<string> arguments, TimeSpan timeout)
    {
        var start = new ProcessStartInfo(program);
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        var outcome = await BoundedProcess.RunAsync(start, timeout);
        Assert.False(outcome.TimedOut, $"{program} {string.Join(' ', arguments)} did not finish within {timeout.TotalSeconds:0} s. stderr: {outcome.Stderr}");
        Assert.True(outcome.ExitCode == 0, $"{program} {string.Join(' ', arguments)} exited with {outcome.ExitCode}. stderr: {outcome.Stderr}");
        return outcome.Stdout;
    }

    [GeneratedRegex("""<div id="out" data-agent="(?<agent>[^"]*)">(?<text>[^<]*)</div>""")]
    private static partial Regex OutputDiv();
}
