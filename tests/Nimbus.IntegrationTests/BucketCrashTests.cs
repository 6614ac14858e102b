using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using System.Text.Json;
using Xunit.Abstractions;

namespace Nimbus.IntegrationTests;

/// <summary>
/// Acknowledged objects survive <c>kill -9</c>: 1,000 objects are uploaded by parallel senders while the server is
/// killed five times (every 200 acknowledged PUTs) and restarted on the same data directory; after the last restart
/// every PUT answered 200 is intact (same MD5), no blob is left without its row, and every acknowledged object has
/// run its bucket's function at least once. Slow and machine-heavy: trait Category=Crash.
/// </summary>
[Trait("Category", "Crash")]
public sealed class BucketCrashTests(ITestOutputHelper output)
{
    private const int Acknowledged = 1_000;
    private const int Kills = 5;
    private const int Senders = 8;
    private static readonly TimeSpan DrainDeadline = TimeSpan.FromSeconds(240);

    [Fact]
    public async Task Every_acknowledged_object_is_intact_and_notified_after_kill_9_and_restart()
    {
        using var data = new TempDirectory("nimbus-it-crash");
        using var scratch = new TempDirectory("nimbus-it-scratch");
        using var recorder = new EventRecorder();
        var servers = new List<NimbusServer>();
        var function = $"t-{Guid.NewGuid():N}"[..20];
        var bucket = BucketCliTests.NewBucketName();

        try
        {
            await Failures.WithContextAsync(
                async () =>
                {
                    var acknowledged = new ConcurrentDictionary<string, string>();
                    var next = -1;
                    for (var round = 1; round <= Kills; round++)
                    {
                        var server = await NimbusServer.StartAsync(data.Path);
                        servers.Add(server);
                        if (round == 1)
                        {
                            var aws = new AwsCli(AwsCli.V2, server.Endpoint, scratch.Path);
                            (await aws.CreateFunctionAsync(function, FunctionZips.Build(FunctionZips.NodeRecorder), "nodejs20.x", "index.handler", "--environment", recorder.EnvironmentJson)).ShouldSucceed();
                            (await aws.RunAsync(["s3api", "create-bucket", "--bucket", bucket])).ShouldSucceed();
                            await AuthClients.AllowS3Async(server, function, bucket);
                            (await aws.RunAsync(["s3api", "put-bucket-notification-configuration", "--bucket", bucket, "--notification-configuration",
                                $$"""{"LambdaFunctionConfigurations":[{"LambdaFunctionArn":"{{Aws.FunctionArn(function)}}","Events":["s3:ObjectCreated:Put"]}]}"""])).ShouldSucceed();
                        }

                        var killed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                        var http = server.Http;
                        async Task SendAsync()
                        {
                            while (!killed.Task.IsCompleted)
                            {
                                var id = Interlocked.Increment(ref next);
                                var key = $"o/{id:D5}";
                                var body = RandomNumberGenerator.GetBytes(512 + (id * 977 % 16_000));
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
                        var killAt = Acknowledged * round / Kills;
                        while (acknowledged.Count < killAt && senders.All(s => !s.IsCompleted))
                        {
                            await Task.Delay(TimeSpan.FromMilliseconds(5));
                        }

                        killed.TrySetResult();
                        await server.DisposeAsync(); // SIGKILL to the whole process tree, senders still sending.
                        await Task.WhenAll(senders);
                        output.WriteLine($"Kill {round}: {acknowledged.Count} objects acknowledged, {NotifiedKeys(recorder, function).Distinct().Count()} notified.");
                    }

                    var keys = acknowledged.ToDictionary();
                    Assert.True(keys.Count >= Acknowledged, $"only {keys.Count} objects were acknowledged");
                    var after = await NimbusServer.StartAsync(data.Path);
                    servers.Add(after);
                    await Parallel.ForEachAsync(keys, new ParallelOptions { MaxDegreeOfParallelism = Senders }, async (pair, cancellation) =>
                    {
                        var bytes = await after.Http.GetByteArrayAsync($"/{bucket}/{pair.Key}", cancellation);
                        Assert.True(S3Md5.Hex(bytes) == pair.Value, $"{pair.Key} came back with another MD5 after the restarts.");
                    });

                    // A blob a kill left without its row (renamed, not yet committed) is swept at start-up.
                    var stored = 0;
                    string? token = null;
                    do
                    {
                        var listing = await after.Http.GetStringAsync($"/{bucket}?list-type=2" + (token is null ? "" : "&continuation-token=" + Uri.EscapeDataString(token)));
                        stored += int.Parse(System.Text.RegularExpressions.Regex.Match(listing, "<KeyCount>(\\d+)</KeyCount>").Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
                        var match = System.Text.RegularExpressions.Regex.Match(listing, "<NextContinuationToken>([^<]+)</NextContinuationToken>");
                        token = match.Success ? match.Groups[1].Value : null;
                    }
                    while (token is not null);

                    Assert.True(stored >= keys.Count, $"{stored} objects listed, {keys.Count} acknowledged");
                    var blobs = Directory.EnumerateFiles(Path.Combine(data.Path, "buckets", "blobs"), "*", SearchOption.AllDirectories).Count();
                    Assert.Equal(stored, blobs);

                    await recorder.WaitForAsync(
                        $"every one of the {keys.Count} acknowledged objects runs the function after the restarts",
                        _ => keys.Keys.ToHashSet().IsSubsetOf(NotifiedKeys(recorder, function)),
                        DrainDeadline);
                    var runs = NotifiedKeys(recorder, function).ToList();
                    output.WriteLine($"{keys.Count} acknowledged across {Kills} kills, {stored} stored, {runs.Distinct().Count()} distinct keys notified, {runs.Count} runs.");
                },
                () => string.Join(Environment.NewLine + Environment.NewLine, servers.TakeLast(2).Select(s => s.DescribeOutput())));
        }
        finally
        {
            foreach (var server in servers)
            {
                await server.DisposeAsync();
            }
        }
    }

    private static IEnumerable<string> NotifiedKeys(EventRecorder recorder, string function) =>
        recorder.ReportsOf(function).Select(r => r.GetProperty("event").GetProperty("Records")[0].GetProperty("s3").GetProperty("object").GetProperty("key").GetString()!);
}
