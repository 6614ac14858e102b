using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using System.Text.Json;
using Xunit.Abstractions;

namespace Nimbus.IntegrationTests;

/// <summary>
/// Acknowledged objects survive <c>kill -9</c>: every PUT answered 200 before the kill is intact after a restart
/// (same MD5) and has run its bucket's function at least once. Slow and machine-heavy: trait Category=Crash.
/// </summary>
[Collection(RestartTests.Name)]
[Trait("Category", "Crash")]
public sealed class BucketCrashTests(ITestOutputHelper output)
{
    private const int MaxObjects = 1_000;
    private const int KillAfterAcknowledged = 300;
    private const int Senders = 8;
    private static readonly TimeSpan DrainDeadline = TimeSpan.FromSeconds(180);

    [Fact]
    public async Task Every_acknowledged_object_is_intact_and_notified_after_kill_9_and_restart()
    {
        using var data = new TempDirectory("nimbus-it-crash");
        using var scratch = new TempDirectory("nimbus-it-scratch");
        using var recorder = new EventRecorder();
        NimbusServer? before = null;
        NimbusServer? after = null;
        var function = $"t-{Guid.NewGuid():N}"[..20];
        var bucket = BucketCliTests.NewBucketName();

        try
        {
            await Failures.WithContextAsync(
                async () =>
                {
                    before = await NimbusServer.StartAsync(data.Path);
                    var aws = new AwsCli(AwsCli.V2, before.Endpoint, scratch.Path);
                    (await aws.CreateFunctionAsync(function, FunctionZips.Build(FunctionZips.NodeRecorder), "nodejs20.x", "index.handler", "--environment", recorder.EnvironmentJson)).ShouldSucceed();
                    (await aws.RunAsync(["s3api", "create-bucket", "--bucket", bucket])).ShouldSucceed();
                    await AuthClients.AllowS3Async(before, function, bucket);
                    (await aws.RunAsync(["s3api", "put-bucket-notification-configuration", "--bucket", bucket, "--notification-configuration",
                        $$"""{"LambdaFunctionConfigurations":[{"LambdaFunctionArn":"{{Aws.FunctionArn(function)}}","Events":["s3:ObjectCreated:Put"]}]}"""])).ShouldSucceed();

                    var acknowledged = new ConcurrentDictionary<string, string>();
                    var next = -1;
                    var killed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                    var http = before.Http;
                    async Task SendAsync()
                    {
                        int id;
                        while ((id = Interlocked.Increment(ref next)) < MaxObjects && !killed.Task.IsCompleted)
                        {
                            var key = $"o/{id:D5}";
                            var body = RandomNumberGenerator.GetBytes(1_024 + (id * 977 % 64_000));
                            try
                            {
                                using var response = await http.PutAsync($"/{bucket}/{key}", new ByteArrayContent(body));
                                Assert.True(response.StatusCode == HttpStatusCode.OK, $"PUT {key} got {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
                                acknowledged[key] = S3Md5.Hex(body);
                            }
                            catch (Exception e) when (killed.Task.IsCompleted && e is HttpRequestException or ObjectDisposedException or OperationCanceledException)
                            {
                                // In flight when the server died: not acknowledged.
                            }
                        }
                    }

                    var senders = Enumerable.Range(0, Senders).Select(_ => Task.Run(SendAsync)).ToList();
                    while (acknowledged.Count < KillAfterAcknowledged && senders.Any(s => !s.IsCompleted))
                    {
                        await Task.Delay(TimeSpan.FromMilliseconds(5));
                    }

                    var notifiedAtKill = NotifiedKeys(recorder, function).Distinct().Count();
                    killed.TrySetResult();
                    await before.DisposeAsync(); // SIGKILL to the whole process tree.
                    await Task.WhenAll(senders);
                    var keys = acknowledged.ToDictionary();
                    output.WriteLine($"Killed the server with {keys.Count} objects acknowledged, {notifiedAtKill} of them notified.");

                    after = await NimbusServer.StartAsync(data.Path);
                    foreach (var (key, md5) in keys)
                    {
                        var bytes = await after.Http.GetByteArrayAsync($"/{bucket}/{key}");
                        Assert.True(S3Md5.Hex(bytes) == md5, $"{key} came back with another MD5 after the restart.");
                    }

                    // A blob the kill left without its row (renamed, not yet committed) is swept at start-up.
                    var listing = await after.Http.GetStringAsync($"/{bucket}?list-type=2");
                    var stored = System.Text.RegularExpressions.Regex.Match(listing, "<KeyCount>(\\d+)</KeyCount>").Groups[1].Value;
                    var blobs = Directory.EnumerateFiles(Path.Combine(data.Path, "buckets", "blobs"), "*", SearchOption.AllDirectories).Count();
                    Assert.Equal(int.Parse(stored, System.Globalization.CultureInfo.InvariantCulture), blobs);

                    await recorder.WaitForAsync(
                        $"every one of the {keys.Count} acknowledged objects runs the function after the restart",
                        _ => keys.Keys.ToHashSet().IsSubsetOf(NotifiedKeys(recorder, function)),
                        DrainDeadline);
                    var runs = NotifiedKeys(recorder, function).ToList();
                    output.WriteLine($"{keys.Count} acknowledged, {runs.Distinct().Count()} distinct keys notified, {runs.Count} runs.");
                },
                () => string.Join(
                    Environment.NewLine + Environment.NewLine,
                    new[] { before, after }.Where(s => s is not null).Select(s => s!.DescribeOutput())));
        }
        finally
        {
            if (after is not null)
            {
                await after.DisposeAsync();
            }

            if (before is not null)
            {
                await before.DisposeAsync();
            }
        }
    }

    private static IEnumerable<string> NotifiedKeys(EventRecorder recorder, string function) =>
        recorder.ReportsOf(function).Select(r => r.GetProperty("event").GetProperty("Records")[0].GetProperty("s3").GetProperty("object").GetProperty("key").GetString()!);
}
