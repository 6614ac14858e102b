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

/// <summary>
/// With inline scheduling a request runs on the thread that received it: a handler that waited on that thread for more
/// of its own body would never get it. These drive the paths that read bodies across many receives, write big
/// responses and lose their caller, on a server with the AWS API and the Runtime API both inline-scheduled.
/// </summary>
public sealed class AwsApiInlineSchedulingTests(InlineSchedulingServerFixture fixture) : IClassFixture<InlineSchedulingServerFixture>
{
    private const string NodeRuntime = "nodejs20.x";

    [Fact]
    public Task Inline_scheduled_invoke_takes_a_6MB_event_and_returns_a_6MB_response_intact() => fixture.RunAsync(async scope =>
    {
        const int Bytes = 6_000_000;
        var name = scope.NewFunctionName();
        await scope.Lambda.CreateFunctionAsync(name, FunctionZips.Build(FunctionZips.NodeBehaviours), NodeRuntime, "big.handler");

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
    public Task Inline_scheduled_caller_that_hangs_up_mid_invoke_leaves_the_instance_to_finish_and_serve_the_next_call() => fixture.RunAsync(async scope =>
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
    public Task Inline_scheduled_S3_takes_aws_chunked_uploads_from_the_dotnet_SDK() => fixture.RunAsync(async scope =>
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
}
