using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;

namespace Nimbus.IntegrationTests;

/// <summary>
/// Response streaming: InvokeWithResponseStream read by boto3 (which parses the event stream and checks every CRC),
/// and RESPONSE_STREAM function URLs read with a raw HttpClient, against the node-stream fixture's
/// <c>awslambda.streamifyResponse</c> handler. Timing assertions prove chunks arrive while the function still runs.
/// </summary>
public sealed class StreamingTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private const string NodeRuntime = "nodejs20.x";
    private const string StreamHandler = "index.stream";
    private const string BufferedHandler = "index.buffered";

    /// <summary>
    /// The function waits this long between its two chunks; the first must arrive well before the second. Streamed, the
    /// client sees the pause; buffered, both chunks arrive together. At least half of it must show: a busy machine
    /// (tests run in parallel) may deliver the first chunk late.
    /// </summary>
    private const int GapMs = 2000;

    // Prints one JSON line per event: the seconds since the call, the event type, its fields (payloads base64).
    private const string Boto3Script = """
        import base64, json, sys, time
        import boto3
        from botocore.config import Config
        endpoint, name, payload, log_type = sys.argv[1:5]
        client = boto3.client('lambda', endpoint_url=endpoint, config=Config(retries={'max_attempts': 1}, read_timeout=60))
        started = time.monotonic()
        try:
            response = client.invoke_with_response_stream(FunctionName=name, Payload=payload.encode(), LogType=log_type)
        except client.exceptions.ClientError as error:
            print(json.dumps({'error': error.response['Error']['Code'], 'message': error.response['Error'].get('Message', '')}))
            sys.exit(0)
        print(json.dumps({'status': response['StatusCode'], 'version': response.get('ExecutedVersion'), 'contentType': response.get('ResponseStreamContentType')}), flush=True)
        for event in response['EventStream']:
            at = time.monotonic() - started
            if 'PayloadChunk' in event:
                print(json.dumps({'t': at, 'chunk': base64.b64encode(event['PayloadChunk']['Payload']).decode()}), flush=True)
            elif 'InvokeComplete' in event:
                print(json.dumps({'t': at, 'complete': event['InvokeComplete']}), flush=True)
        """;

    [Fact]
    public Task InvokeWithResponseStream_delivers_each_chunk_to_boto3_as_the_function_writes_it() => fixture.RunAsync(async scope =>
    {
        var name = await CreateAsync(scope, StreamHandler);
        var stream = await Boto3StreamAsync(scope, name, $$"""{"gapMs":{{GapMs}}}""", "Tail");

        Assert.Equal(200, stream.Head.Num("status"));
        Assert.Equal("$LATEST", stream.Head.Str("version"));
        Assert.Equal("text/plain", stream.Head.Str("contentType"));
        Assert.Equal(["first|", "second|"], stream.Chunks.Select(c => c.Text));
        Assert.True(stream.Chunks[1].At - stream.Chunks[0].At >= GapMs * 0.5 / 1000,
            $"The first chunk must arrive while the function still waits to write the second: {stream}");
        Assert.False(stream.Complete.Has("ErrorCode"), stream.ToString());
        var log = Encoding.UTF8.GetString(Convert.FromBase64String(stream.Complete.Str("LogResult")));
        Assert.Contains("streaming for", log, StringComparison.Ordinal);
        Assert.Contains("REPORT RequestId:", log, StringComparison.Ordinal);
    });

    [Fact]
    public Task InvokeWithResponseStream_reports_a_mid_stream_failure_in_InvokeComplete_after_the_chunks_sent() => fixture.RunAsync(async scope =>
    {
        var name = await CreateAsync(scope, StreamHandler);
        var stream = await Boto3StreamAsync(scope, name, """{"mode":"fail"}""", "None");

        Assert.Equal(["partial|"], stream.Chunks.Select(c => c.Text));
        Assert.Equal("Error", stream.Complete.Str("ErrorCode"));
        Assert.Equal("mid-stream boom", stream.Complete.Str("ErrorDetails"));
        Assert.False(stream.Complete.Has("LogResult"));

        // The instance is reused after a streamed failure.
        var again = await Boto3StreamAsync(scope, name, """{"gapMs":1}""", "None");
        Assert.Equal("first|second|", string.Concat(again.Chunks.Select(c => c.Text)));
    });

    [Fact]
    public Task InvokeWithResponseStream_of_a_buffered_function_is_one_chunk_and_Invoke_of_a_streaming_one_is_buffered() => fixture.RunAsync(async scope =>
    {
        var buffered = await CreateAsync(scope, BufferedHandler);
        var stream = await Boto3StreamAsync(scope, buffered, "{}", "None");
        Assert.Equal("application/json", stream.Head.Str("contentType"));
        Assert.Equal("""{"hello":"world"}""", Assert.Single(stream.Chunks).Text);
        Assert.Equal("{}", stream.Complete.GetRawText());

        var streaming = await CreateAsync(scope, StreamHandler);
        var invoked = await scope.Lambda.InvokeAsync(streaming, """{"gapMs":1}""");
        Assert.Equal(200, invoked.StatusCode);
        Assert.Equal("first|second|", invoked.Text);

        var missing = await Boto3StreamAsync(scope, streaming + "-nope", "{}", "None");
        Assert.Equal("ResourceNotFoundException", missing.Head.Str("error"));
        var badType = await scope.Server.Http.SendAsync(new HttpRequestMessage(HttpMethod.Post, $"/2021-11-15/functions/{streaming}/response-streaming-invocations")
        {
            Content = new StringContent("{}"),
            Headers = { { "X-Amz-Invocation-Type", "Event" } },
        });
        Assert.Equal(HttpStatusCode.BadRequest, badType.StatusCode);
        Assert.Equal("ValidationException", badType.Headers.GetValues("x-amzn-ErrorType").Single());
        var notJson = await scope.Server.Http.PostAsync($"/2021-11-15/functions/{streaming}/response-streaming-invocations", new StringContent("{nope"));
        Assert.Equal("InvalidRequestContentException", notJson.Headers.GetValues("x-amzn-ErrorType").Single());
    });

    [Fact]
    public Task Streamed_response_may_exceed_6_MB_and_is_paced_past_its_first_6_MB() => fixture.RunAsync(async scope =>
    {
        var name = await CreateAsync(scope, StreamHandler);
        const int bytes = 8 * 1024 * 1024;
        var stream = await Boto3StreamAsync(scope, name, $$"""{"mode":"big","bytes":{{bytes}}}""", "None");
        Assert.False(stream.Complete.Has("ErrorCode"), stream.ToString());
        Assert.Equal(bytes, stream.Chunks.Sum(c => c.Bytes.Length));
        Assert.All(stream.Chunks, c => Assert.DoesNotContain(c.Bytes, b => b != (byte)'x'));

        // 2 MB past the uncapped 6 MB at Lambda's 2 MB/s cap: about a second from the first chunk to the last.
        var spread = stream.Chunks[^1].At - stream.Chunks[0].At;
        Assert.True(spread >= 0.8, $"Bytes past the first 6 MB must be paced at 2 MB/s; the stream took {spread:0.00} s.");
    });

    [Fact]
    public Task Response_stream_url_sends_the_first_chunk_before_the_function_writes_the_last() => fixture.RunAsync(async scope =>
    {
        var name = await CreateAsync(scope, StreamHandler);
        var urlId = await CreateUrlAsync(scope, name, null);

        using var request = new HttpRequestMessage(HttpMethod.Get, $"/lambda-url/{urlId}/plain?gapMs={GapMs}");
        var clock = Stopwatch.StartNew();
        using var response = await scope.Server.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/plain", response.Content.Headers.ContentType?.MediaType);
        await using var body = await response.Content.ReadAsStreamAsync();
        var first = await ReadAtLeastAsync(body, "first|".Length);
        var firstAt = clock.Elapsed;
        var rest = await ReadToEndAsync(body);
        var endAt = clock.Elapsed;

        Assert.Equal("first|", first);
        Assert.Equal("second|", rest);
        Assert.True(endAt - firstAt >= TimeSpan.FromMilliseconds(GapMs * 0.5),
            $"The first chunk must reach the client before the function writes the second: first at {firstAt.TotalMilliseconds:0} ms, end at {endAt.TotalMilliseconds:0} ms.");
    });

    [Fact]
    public Task Response_stream_url_takes_status_headers_and_cookies_from_the_HttpResponseStream_prelude() => fixture.RunAsync(async scope =>
    {
        var name = await CreateAsync(scope, StreamHandler);
        var urlId = await CreateUrlAsync(scope, name, """{"AllowOrigins":["https://app.example"]}""");

        using var request = new HttpRequestMessage(HttpMethod.Get, $"/lambda-url/{urlId}/http?gapMs=1");
        request.Headers.Add("Origin", "https://app.example");
        using var response = await scope.Server.Http.SendAsync(request);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal("yes", response.Headers.GetValues("x-stream").Single());
        Assert.Equal(["a=1; Path=/", "b=2"], response.Headers.GetValues("Set-Cookie"));
        Assert.Equal("https://app.example", response.Headers.GetValues("Access-Control-Allow-Origin").Single());
        Assert.Equal("text/plain", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("first|second|", await response.Content.ReadAsStringAsync());
    });

    [Fact]
    public Task Response_stream_url_cuts_a_failed_stream_and_maps_a_buffered_answer_as_Lambda_does() => fixture.RunAsync(async scope =>
    {
        var name = await CreateAsync(scope, StreamHandler);
        var urlId = await CreateUrlAsync(scope, name, null);
        using (var response = await scope.Server.Http.SendAsync(new HttpRequestMessage(HttpMethod.Get, $"/lambda-url/{urlId}/fail"), HttpCompletionOption.ResponseHeadersRead))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            await using var body = await response.Content.ReadAsStreamAsync();
            Assert.Equal("partial|", await ReadAtLeastAsync(body, "partial|".Length));

            // The status was already sent: the client sees the response end abruptly, not complete.
            await Assert.ThrowsAnyAsync<IOException>(() => ReadToEndAsync(body));
        }

        var buffered = await CreateAsync(scope, BufferedHandler);
        var bufferedUrl = await CreateUrlAsync(scope, buffered, null);
        using var mapped = await scope.Server.Http.GetAsync($"/lambda-url/{bufferedUrl}/any");
        Assert.Equal(HttpStatusCode.Accepted, mapped.StatusCode);
        Assert.Equal("buffered body", await mapped.Content.ReadAsStringAsync());
    });

    private static async Task<string> CreateAsync(TestScope scope, string handler)
    {
        var name = scope.NewFunctionName();
        await scope.Lambda.CreateFunctionAsync(name, FunctionZips.Build(FunctionZips.NodeStream), NodeRuntime, handler, timeout: 30);
        return name;
    }

    private static async Task<string> CreateUrlAsync(TestScope scope, string name, string? cors)
    {
        var body = cors is null
            ? """{"AuthType":"NONE","InvokeMode":"RESPONSE_STREAM"}"""
            : $$"""{"AuthType":"NONE","InvokeMode":"RESPONSE_STREAM","Cors":{{cors}}}""";
        using var response = await scope.Server.Http.PostAsync($"/2021-10-31/functions/{name}/url", new StringContent(body, Encoding.UTF8, "application/json"));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Created, $"CreateFunctionUrlConfig: {(int)response.StatusCode} {text}");
        var url = new Uri(JsonAssert.Parse(text, "CreateFunctionUrlConfig").Str("FunctionUrl"));
        return url.Host.Split('.')[0];
    }

    private static async Task<string> ReadAtLeastAsync(Stream body, int count)
    {
        var buffer = new byte[count];
        await body.ReadAtLeastAsync(buffer, count).AsTask().WaitAsync(TimeSpan.FromSeconds(30));
        return Encoding.UTF8.GetString(buffer);
    }

    private static async Task<string> ReadToEndAsync(Stream body)
    {
        using var rest = new MemoryStream();
        await body.CopyToAsync(rest).WaitAsync(TimeSpan.FromSeconds(30));
        return Encoding.UTF8.GetString(rest.ToArray());
    }

    private static async Task<Boto3Stream> Boto3StreamAsync(TestScope scope, string name, string payload, string logType)
    {
        var script = Path.Combine(scope.ScratchDirectory, "stream_invoke.py");
        await File.WriteAllTextAsync(script, Boto3Script);
        var startInfo = new ProcessStartInfo("python3")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = scope.ScratchDirectory,
        };
        foreach (var argument in new[] { script, scope.Server.Endpoint, name, payload, logType })
        {
            startInfo.ArgumentList.Add(argument);
        }

        startInfo.Environment["AWS_ACCESS_KEY_ID"] = "test";
        startInfo.Environment["AWS_SECRET_ACCESS_KEY"] = "test";
        startInfo.Environment["AWS_DEFAULT_REGION"] = Aws.Region;
        startInfo.Environment["AWS_CONFIG_FILE"] = Path.Combine(scope.ScratchDirectory, "no-aws-config");
        startInfo.Environment["AWS_SHARED_CREDENTIALS_FILE"] = Path.Combine(scope.ScratchDirectory, "no-aws-credentials");
        using var process = Process.Start(startInfo) ?? throw new InvalidOperationException("Could not start python3.");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(90));
        var output = await stdout;
        Assert.True(process.ExitCode == 0, $"boto3 invoke_with_response_stream failed ({process.ExitCode}):{Environment.NewLine}{output}{Environment.NewLine}{await stderr}");
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line => JsonAssert.Parse(line, "a boto3 event line")).ToList();
        var chunks = lines.Where(l => l.Has("chunk")).Select(l => new Chunk(l.At("t").GetDouble(), Convert.FromBase64String(l.Str("chunk")))).ToList();
        var complete = lines.FirstOrDefault(l => l.Has("complete"));
        if (!lines[0].Has("error"))
        {
            Assert.True(complete.ValueKind == JsonValueKind.Object, $"The stream must end with InvokeComplete:{Environment.NewLine}{output}");
            Assert.True(lines[^1].Has("complete"), $"InvokeComplete must be the last event:{Environment.NewLine}{output}");
        }

        return new Boto3Stream(lines[0], chunks, complete.ValueKind == JsonValueKind.Object ? complete.At("complete") : default, output);
    }

    private sealed record Chunk(double At, byte[] Bytes)
    {
        public string Text => Encoding.UTF8.GetString(Bytes);
    }

    private sealed record Boto3Stream(JsonElement Head, IReadOnlyList<Chunk> Chunks, JsonElement Complete, string Output)
    {
        public override string ToString() => Output;
    }
}
