using System.Text;
using System.Text.Json;
using Amazon.S3.Model;

namespace Nimbus.IntegrationTests;

/// <summary>A server whose AWS API listener runs with Kestrel's inline scheduling (<c>NIMBUS_AWS_API_INLINE_SCHEDULING</c>).</summary>
public sealed class InlineSchedulingServerFixture() : ServerFixture(
    "nimbus-it-inline",
    new Dictionary<string, string>
    {
        ["NIMBUS_AWS_API_INLINE_SCHEDULING"] = "true",
        ["NIMBUS_RUNTIME_API_INLINE_SCHEDULING"] = "true",
    });

/// <summary>A server whose AWS API and Runtime API connections receive on the socket engine's thread (<c>NIMBUS_INLINE_RECEIVES</c>).</summary>
public sealed class InlineReceivesServerFixture() : ServerFixture(
    "nimbus-it-recv",
    new Dictionary<string, string>
    {
        ["NIMBUS_INLINE_RECEIVES"] = "true",
    });

/// <summary>A server whose connections queue their receives to the thread pool, Kestrel's default (<c>NIMBUS_INLINE_RECEIVES=false</c>).</summary>
public sealed class QueuedReceivesServerFixture() : ServerFixture(
    "nimbus-it-queued",
    new Dictionary<string, string>
    {
        ["NIMBUS_INLINE_RECEIVES"] = "false",
    });

/// <summary>
/// With inline scheduling a request runs on the thread that received it: a handler that waited on that thread for more
/// of its own body would never get it. These drive the paths that read bodies across many receives, write big
/// responses and lose their caller, on a server with the AWS API and the Runtime API both inline-scheduled.
/// </summary>
public sealed class AwsApiInlineSchedulingTests(InlineSchedulingServerFixture fixture)
    : InlineTransportTests(fixture), IClassFixture<InlineSchedulingServerFixture>;

/// <summary>
/// With inline receives the socket engine's one thread runs every connection's receive loop: a body that arrives in
/// many receives and fills its pipe, a response sent to a caller that reads slowly (its send resumes on that thread)
/// and a caller that hangs up must neither stall nor lose anything.
/// </summary>
public sealed class InlineReceivesTests(InlineReceivesServerFixture fixture)
    : InlineTransportTests(fixture), IClassFixture<InlineReceivesServerFixture>;

/// <summary>Inline receives are the default: the same paths with receives queued to the thread pool, as Kestrel's own transport does.</summary>
public sealed class QueuedReceivesTests(QueuedReceivesServerFixture fixture)
    : InlineTransportTests(fixture), IClassFixture<QueuedReceivesServerFixture>;

/// <summary>The invoke and S3 paths that span many receives and sends, for a server whose transport runs some of them inline.</summary>
public abstract class InlineTransportTests(ServerFixture fixture)
{
    private const string NodeRuntime = "nodejs20.x";

    [Fact]
    public Task Invoke_takes_a_6MB_event_and_returns_a_6MB_response_intact() => fixture.RunAsync(async scope =>
    {
        const int Bytes = 6_000_000;
        var name = scope.NewFunctionName();

        // 30 s: on a loaded machine 6 MB each way took the function more than the default 3 s.
        await scope.Lambda.CreateFunctionAsync(name, FunctionZips.Build(FunctionZips.NodeBehaviours), NodeRuntime, "big.handler", timeout: 30);

        // The event is 1 KB under Invoke's 6 MB limit: its body arrives in many receives.
        var head = $$"""{"bytes":{{Bytes}},"pad":""";
        var padding = new string('p', (6 * 1024 * 1024) - 1024 - head.Length - 2);
        var response = await scope.Lambda.InvokeAsync(name, head + "\"" + padding + "\"}");

        Assert.True(response.StatusCode == 200 && response.Header("X-Amz-Function-Error") is null, response.ToString());
        var text = response.Json();
        Assert.Equal(JsonValueKind.String, text.ValueKind);
        Assert.Equal(Bytes, text.GetString()!.Length);
        Assert.All(text.GetString()!, c => Assert.Equal('x', c));
    });

    [Fact]
    public Task Caller_that_hangs_up_mid_invoke_leaves_the_instance_to_finish_and_serve_the_next_call() => fixture.RunAsync(async scope =>
    {
        var name = scope.NewFunctionName();
        await scope.Lambda.CreateFunctionAsync(name, FunctionZips.Build(FunctionZips.NodeBehaviours), NodeRuntime, "pid.handler", timeout: 30);
        await scope.Lambda.PutFunctionConcurrencyAsync(name, 1);

        // The caller gives up while the handler sleeps: the invocation runs on and holds the one concurrency slot.
        using (var gone = new CancellationTokenSource(TimeSpan.FromMilliseconds(1500)))
        {
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => scope.Server.Http.PostAsync(
                $"/2015-03-31/functions/{name}/invocations", new StringContent("""{"ms":4000}""", Encoding.UTF8, "application/json"), gone.Token));
        }

        // Throttled until that invocation ends and its instance is back; then the same warm instance serves (count 2).
        HttpResult? served = null;
        for (var deadline = DateTime.UtcNow.AddSeconds(60); DateTime.UtcNow < deadline;)
        {
            var response = await scope.Lambda.InvokeAsync(name, """{"ms":0}""");
            if (response.StatusCode != 429)
            {
                served = response;
                break;
            }

            await Task.Delay(200);
        }

        Assert.NotNull(served);
        Assert.True(served.StatusCode == 200 && served.Header("X-Amz-Function-Error") is null, served.ToString());
        Assert.Equal(2, served.Json().Num("count"));
    });

    [Fact]
    public Task S3_takes_aws_chunked_uploads_from_the_dotnet_SDK() => fixture.RunAsync(async scope =>
    {
        using var s3 = S3SdkTests.Client(scope.Server);
        var bucket = BucketCliTests.NewBucketName();
        await s3.PutBucketAsync(new PutBucketRequest { BucketName = bucket });
        try
        {
            // AWSSDK.S3 4 sends PutObject as aws-chunked with a checksum trailer; 3 MB spans many chunks and many receives.
            var data = new byte[3 * 1024 * 1024 + 17];
            new Random(7).NextBytes(data);
            await s3.PutObjectAsync(new PutObjectRequest { BucketName = bucket, Key = "chunked.bin", InputStream = new MemoryStream(data) });

            using var got = await s3.GetObjectAsync(bucket, "chunked.bin");
            using var received = new MemoryStream();
            await got.ResponseStream.CopyToAsync(received);
            Assert.Equal(data, received.ToArray());
        }
        finally
        {
            await s3.DeleteObjectAsync(bucket, "chunked.bin");
            await s3.DeleteBucketAsync(bucket);
        }
    });

    [Fact]
    public Task Runtime_that_dies_half_way_through_its_answer_fails_that_invoke_and_the_next_one_is_served() => fixture.RunAsync(async scope =>
    {
        // The handler posts the first 5 KB of a 100 KB answer on a connection of its own and exits: the server reads a
        // body that never ends and then a hang-up.
        const string Source = """
            const net = require('net');
            exports.handler = async (event, context) => {
              if (!event.die) return { ok: true };
              const [host, port] = process.env.AWS_LAMBDA_RUNTIME_API.split(':');
              await new Promise((resolve) => {
                const socket = net.connect(Number(port), host, () => socket.write(
                  `POST /2018-06-01/runtime/invocation/${context.awsRequestId}/response HTTP/1.1\r\nHost: ${host}\r\n` +
                  'Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n"' + 'x'.repeat(5000), resolve));
              });
              process.exit(3);
            };
            """;
        var name = scope.NewFunctionName();
        await scope.Lambda.CreateFunctionAsync(name, FunctionZips.FromSource("index.js", Source), NodeRuntime, "index.handler", timeout: 30);

        var died = await scope.Lambda.InvokeAsync(name, """{"die":true}""");
        Assert.True(died.StatusCode == 200 && died.Header("X-Amz-Function-Error") == "Unhandled", died.ToString());
        Assert.Contains("Runtime.ExitError", died.Text, StringComparison.Ordinal);

        var next = await scope.Lambda.InvokeAsync(name, "{}");
        Assert.True(next.StatusCode == 200 && next.Header("X-Amz-Function-Error") is null, next.ToString());
        Assert.True(next.Json().GetProperty("ok").GetBoolean());
    });

    [Fact]
    public Task Invokes_are_answered_while_an_S3_upload_trickles_in() => fixture.RunAsync(async scope =>
    {
        // Not a fix: with the AWS API listener inline-served, only warm Invokes may run on the socket engine's thread; an
        // upload's handler (its body reads, its file writes, its SQLite row) must run on the thread pool, so a client
        // that sends half its body and stops holds up nobody else.
        var name = scope.NewFunctionName();
        await scope.Lambda.CreateFunctionAsync(name, FunctionZips.Build(FunctionZips.NodeBehaviours), NodeRuntime, "pid.handler", timeout: 30);
        var warm = await scope.Lambda.InvokeAsync(name, """{"ms":0}""");
        Assert.True(warm.StatusCode == 200, warm.ToString());

        using var s3 = S3SdkTests.Client(scope.Server);
        var bucket = BucketCliTests.NewBucketName();
        await s3.PutBucketAsync(new PutBucketRequest { BucketName = bucket });
        try
        {
            var data = new byte[1024 * 1024];
            new Random(11).NextBytes(data);
            var content = new TricklingContent(data, firstBytes: 64 * 1024);
            using var upload = new HttpRequestMessage(HttpMethod.Put, new Uri(scope.Server.EndpointUri, $"/{bucket}/trickled.bin")) { Content = content };
            upload.Headers.TryAddWithoutValidation("x-amz-content-sha256", Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(data)));
            SigV4SigningHandler.Sign(upload, [], "s3", NimbusServer.RootAccessKeyId, NimbusServer.RootSecretAccessKey, Aws.Region, DateTime.UtcNow);
            using var uploader = new HttpClient { Timeout = TimeSpan.FromMinutes(2) };
            var uploading = uploader.SendAsync(upload);
            await content.FirstBytesSent.WaitAsync(TimeSpan.FromSeconds(60));

            // The upload waits for the rest of its body: Invokes on other connections are answered meanwhile.
            for (var i = 0; i < 3; i++)
            {
                var response = await scope.Lambda.InvokeAsync(name, """{"ms":0}""");
                Assert.True(response.StatusCode == 200 && response.Header("X-Amz-Function-Error") is null, response.ToString());
            }

            Assert.False(uploading.IsCompleted);
            content.SendTheRest();
            using var uploaded = await uploading;
            Assert.Equal(System.Net.HttpStatusCode.OK, uploaded.StatusCode);
            using var got = await s3.GetObjectAsync(bucket, "trickled.bin");
            using var received = new MemoryStream();
            await got.ResponseStream.CopyToAsync(received);
            Assert.Equal(data, received.ToArray());
            await s3.DeleteObjectAsync(bucket, "trickled.bin");
        }
        finally
        {
            await s3.DeleteBucketAsync(bucket);
        }
    });

    [Fact]
    public Task Invoke_returns_a_1MB_response_intact_to_a_caller_that_reads_it_slowly() =>
        // A small receive window fills the server's socket buffer: the response's sends stop part-way and resume when
        // the caller reads on, on whichever thread the socket's completion runs.
        fixture.RunAsync(SlowReader.AssertOneMegabyteArrivesIntactAsync);
}

/// <summary>A request body that sends its first bytes, then waits until the test lets it send the rest.</summary>
internal sealed class TricklingContent(byte[] data, int firstBytes) : HttpContent
{
    private readonly TaskCompletionSource _firstSent = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _rest = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Task FirstBytesSent => _firstSent.Task;

    public void SendTheRest() => _rest.TrySetResult();

    protected override async Task SerializeToStreamAsync(Stream stream, System.Net.TransportContext? context)
    {
        await stream.WriteAsync(data.AsMemory(0, firstBytes));
        await stream.FlushAsync();
        _firstSent.TrySetResult();
        await _rest.Task;
        await stream.WriteAsync(data.AsMemory(firstBytes));
    }

    protected override bool TryComputeLength(out long length)
    {
        length = data.Length;
        return true;
    }
}
