using System.Collections.Concurrent;
using System.Net;
using System.Text;
using System.Text.Json;
using Xunit.Abstractions;

namespace Nimbus.IntegrationTests;

/// <summary>
/// Nothing accepted is lost across <c>kill -9</c>: 5,000 asynchronous invocations and 5,000 queue messages (mapped to
/// a function) are sent while the server runs, the server is killed mid-way, restarted on the same data directory,
/// and every accepted event and every sent message is processed at least once. Prints the duplicates.
/// Slow and machine-heavy: trait Category=Crash.
/// </summary>
// Serial: 10,000 events and messages at full speed, kill -9 and a bounded drain: machine-heavy.
[Collection(SerialCollectionDefinition.Name)]
[Trait("Category", "Crash")]
public sealed class EventSourceMappingCrashTests(ITestOutputHelper output)
{
    private const int Events = 5_000;
    private const int Messages = 5_000;
    private const int Senders = 8;
    private static readonly TimeSpan DrainDeadline = TimeSpan.FromSeconds(150);

    // Few instances, so the work falls behind the senders and the kill finds events and messages in every state.
    private static readonly Dictionary<string, string> Environment = new() { ["NIMBUS_MAX_INSTANCES"] = "8" };

    [Fact]
    public async Task Every_accepted_event_and_queue_message_is_processed_at_least_once_when_the_server_is_killed_mid_way()
    {
        using var data = new TempDirectory("nimbus-it-crash-esm");
        using var scratch = new TempDirectory("nimbus-it-scratch");
        using var recorder = new EventRecorder();
        NimbusServer? before = null;
        NimbusServer? after = null;
        var asyncFunction = $"t-{Guid.NewGuid():N}"[..20];
        var queueFunction = $"t-{Guid.NewGuid():N}"[..20];
        var queueName = $"crash-{Guid.NewGuid():N}";

        try
        {
            await Failures.WithContextAsync(
                async () =>
                {
                    before = await NimbusServer.StartAsync(data.Path, Environment);
                    var aws = new AwsCli(AwsCli.V1, before.Endpoint, scratch.Path);
                    (await aws.CreateFunctionAsync(asyncFunction, FunctionZips.Build(FunctionZips.NodeRecorder), "nodejs20.x", "index.handler",
                        "--environment", recorder.EnvironmentJson)).ShouldSucceed();
                    await EventSourceMappingTests.CreateSqsFunctionAsync(aws, queueFunction, recorder.EnvironmentJson);
                    var (url, arn) = await new EventSourceMappingQueues(aws, scratch.Path).CreateAsync(queueName, new Dictionary<string, string> { ["VisibilityTimeout"] = "5" });
                    (await aws.LambdaAsync("create-event-source-mapping", "--function-name", queueFunction, "--event-source-arn", arn, "--batch-size", "10")).ShouldSucceed();

                    var accepted = new ConcurrentBag<string>();
                    var sent = new ConcurrentBag<string>();
                    var nextEvent = -1;
                    var nextBatch = -1;
                    var killed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                    var http = before.Http;

                    async Task InvokeAsync()
                    {
                        int id;
                        while ((id = Interlocked.Increment(ref nextEvent)) < Events && !killed.Task.IsCompleted)
                        {
                            try
                            {
                                using var content = new StringContent($$"""{"id":"e{{id}}"}""", Encoding.UTF8, "application/json");
                                using var request = new HttpRequestMessage(HttpMethod.Post, $"/2015-03-31/functions/{asyncFunction}/invocations") { Content = content };
                                request.Headers.Add("X-Amz-Invocation-Type", "Event");
                                using var response = await http.SendAsync(request);
                                Assert.True(response.StatusCode == HttpStatusCode.Accepted, $"Event {id} got {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
                                accepted.Add($"e{id}");
                            }
                            catch (Exception e) when (killed.Task.IsCompleted && e is HttpRequestException or ObjectDisposedException or OperationCanceledException)
                            {
                                // In flight when the server died: not accepted.
                            }
                        }
                    }

                    // SendMessageBatch over SQS's JSON protocol (what botocore and the AWS SDKs speak), ten at a time.
                    async Task SendAsync()
                    {
                        int batch;
                        while ((batch = Interlocked.Increment(ref nextBatch)) * 10 < Messages && !killed.Task.IsCompleted)
                        {
                            var ids = Enumerable.Range(batch * 10, 10).Select(i => $"m{i}").ToList();
                            var body = JsonSerializer.Serialize(new Dictionary<string, object>
                            {
                                ["QueueUrl"] = url,
                                ["Entries"] = ids.Select(id => new Dictionary<string, string> { ["Id"] = id, ["MessageBody"] = $$"""{"id":"{{id}}"}""" }).ToList(),
                            });
                            try
                            {
                                using var content = new StringContent(body, Encoding.UTF8);
                                content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/x-amz-json-1.0");
                                using var request = new HttpRequestMessage(HttpMethod.Post, "/") { Content = content };
                                request.Headers.Add("X-Amz-Target", "AmazonSQS.SendMessageBatch");
                                using var response = await http.SendAsync(request);
                                var answer = await response.Content.ReadAsStringAsync();
                                Assert.True(response.StatusCode == HttpStatusCode.OK, $"SendMessageBatch got {(int)response.StatusCode}: {answer}");
                                using var json = JsonDocument.Parse(answer);
                                foreach (var ok in json.RootElement.GetProperty("Successful").EnumerateArray())
                                {
                                    sent.Add(ok.GetProperty("Id").GetString()!);
                                }
                            }
                            catch (Exception e) when (killed.Task.IsCompleted && e is HttpRequestException or ObjectDisposedException or OperationCanceledException)
                            {
                                // In flight when the server died: not sent.
                            }
                        }
                    }

                    var senders = Enumerable.Range(0, Senders).SelectMany(_ => new[] { Task.Run(InvokeAsync), Task.Run(SendAsync) }).ToList();

                    // Mid-way: half of each accepted and some work done, so the kill finds sends in flight, events and
                    // messages accepted and not yet run, batches running and messages received but not yet deleted.
                    while ((accepted.Count < Events / 2 || sent.Count < Messages / 2
                            || AsyncIds(recorder, asyncFunction).Take(20).Count() + QueueIds(recorder, queueFunction).Take(100).Count() < 100)
                           && senders.Any(s => !s.IsCompleted))
                    {
                        await Task.Delay(TimeSpan.FromMilliseconds(5));
                    }

                    var acceptedAtKill = accepted.Count;
                    var sentAtKill = sent.Count;
                    var ranAtKill = AsyncIds(recorder, asyncFunction).Distinct().Count();
                    var seenAtKill = QueueIds(recorder, queueFunction).Distinct().Count();
                    killed.TrySetResult();
                    await before.DisposeAsync(); // SIGKILL to the whole process tree.
                    await Task.WhenAll(senders);
                    var acceptedIds = accepted.ToHashSet();
                    var sentIds = sent.ToHashSet();
                    output.WriteLine($"Killed the server after {acceptedAtKill} accepted events ({ranAtKill} run) and {sentAtKill} sent messages ({seenAtKill} processed); "
                        + $"{acceptedIds.Count} events and {sentIds.Count} messages accepted in all.");
                    Assert.True(ranAtKill < acceptedAtKill || seenAtKill < sentAtKill, "The kill should find accepted work not yet done.");

                    after = await NimbusServer.StartAsync(data.Path, Environment);
                    await recorder.WaitForAsync(
                        $"every one of the {acceptedIds.Count} accepted events and {sentIds.Count} sent messages is processed after the restart",
                        _ => acceptedIds.IsSubsetOf(AsyncIds(recorder, asyncFunction)) && sentIds.IsSubsetOf(QueueIds(recorder, queueFunction)),
                        DrainDeadline);

                    Report("events", acceptedIds, AsyncIds(recorder, asyncFunction).ToList());
                    Report("messages", sentIds, QueueIds(recorder, queueFunction).ToList());
                },
                () => string.Join(
                    System.Environment.NewLine + System.Environment.NewLine,
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

    private void Report(string what, HashSet<string> accepted, List<string> processed)
    {
        var duplicates = processed.GroupBy(id => id).Where(g => g.Count() > 1).ToList();
        output.WriteLine($"{accepted.Count} {what} accepted, {processed.Distinct().Count()} distinct processed in {processed.Count} runs: "
            + $"{duplicates.Count} processed more than once ({duplicates.Sum(g => g.Count() - 1)} extra runs).");
        Assert.Empty(accepted.Except(processed));
    }

    private static IEnumerable<string> AsyncIds(EventRecorder recorder, string function) =>
        recorder.ReportsOf(function).Select(r => r.Str("event.id"));

    private static IEnumerable<string> QueueIds(EventRecorder recorder, string function) =>
        recorder.ReportsOf(function).SelectMany(r => r.GetProperty("event").GetProperty("Records").EnumerateArray())
            .Select(record => JsonDocument.Parse(record.Str("body")).RootElement.GetProperty("id").GetString()!);
}
