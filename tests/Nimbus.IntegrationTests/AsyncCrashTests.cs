using System.Collections.Concurrent;
using System.Net;
using System.Text;
using Xunit.Abstractions;

namespace Nimbus.IntegrationTests;

/// <summary>
/// Accepted asynchronous events survive <c>kill -9</c>: every event answered 202 runs at least once, after a
/// restart on the same data directory if need be. Slow and machine-heavy: trait Category=Crash.
/// </summary>
[Trait("Category", "Crash")]
public sealed class AsyncCrashTests(ITestOutputHelper output)
{
    private const int Events = 2_000;
    private const int KillAfterAccepted = 1_000;
    private const int KillAfterRun = 100;
    private const int Senders = 16;
    private static readonly TimeSpan DrainDeadline = TimeSpan.FromSeconds(120);

    // Few instances, so the queue falls behind the senders and the kill finds accepted events not yet run.
    private static readonly Dictionary<string, string> Environment = new() { ["NIMBUS_MAX_INSTANCES"] = "8" };

    [Fact]
    public async Task Every_accepted_event_runs_at_least_once_when_the_server_is_killed_mid_way_and_restarted()
    {
        using var data = new TempDirectory("nimbus-it-crash");
        using var scratch = new TempDirectory("nimbus-it-scratch");
        using var recorder = new EventRecorder();
        NimbusServer? before = null;
        NimbusServer? after = null;
        var name = $"t-{Guid.NewGuid():N}"[..20];

        try
        {
            await Failures.WithContextAsync(
                async () =>
                {
                    before = await NimbusServer.StartAsync(data.Path, Environment);
                    (await new AwsCli(AwsCli.V2, before.Endpoint, scratch.Path).CreateFunctionAsync(
                        name, FunctionZips.Build(FunctionZips.NodeRecorder), "nodejs20.x", "index.handler", "--environment", recorder.EnvironmentJson)).ShouldSucceed();

                    var accepted = new ConcurrentBag<string>();
                    var next = -1;
                    var killed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                    var http = before.Http;
                    async Task SendAsync()
                    {
                        int id;
                        while ((id = Interlocked.Increment(ref next)) < Events && !killed.Task.IsCompleted)
                        {
                            try
                            {
                                using var content = new StringContent($$"""{"id":"{{id}}","ms":10}""", Encoding.UTF8, "application/json");
                                using var request = new HttpRequestMessage(HttpMethod.Post, $"/2015-03-31/functions/{name}/invocations") { Content = content };
                                request.Headers.Add("X-Amz-Invocation-Type", "Event");
                                using var response = await http.SendAsync(request);
                                if (response.StatusCode == HttpStatusCode.Accepted)
                                {
                                    accepted.Add(id.ToString(System.Globalization.CultureInfo.InvariantCulture));
                                }
                                else
                                {
                                    Assert.Fail($"Event {id} got {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
                                }
                            }
                            catch (Exception e) when (killed.Task.IsCompleted && e is HttpRequestException or ObjectDisposedException or OperationCanceledException)
                            {
                                // In flight when the server died: not accepted.
                            }
                        }
                    }

                    var senders = Enumerable.Range(0, Senders).Select(_ => Task.Run(SendAsync)).ToList();
                    // Mid-way: half the events accepted and some of them already run, so the kill finds events in every state.
                    while ((accepted.Count < KillAfterAccepted || RanIds(recorder, name).Take(KillAfterRun).Count() < KillAfterRun) && senders.Any(s => !s.IsCompleted))
                    {
                        await Task.Delay(TimeSpan.FromMilliseconds(5));
                    }

                    var acceptedAtKill = accepted.Count;
                    var ranAtKill = RanIds(recorder, name).Distinct().Count();
                    killed.TrySetResult();
                    await before.DisposeAsync(); // SIGKILL to the whole process tree.
                    await Task.WhenAll(senders);
                    var acceptedIds = accepted.ToHashSet();
                    output.WriteLine($"Killed the server after {acceptedAtKill} accepted events, {ranAtKill} of them run; {acceptedIds.Count} accepted in all.");
                    Assert.True(ranAtKill < acceptedAtKill, $"The kill should find accepted events not yet run ({ranAtKill} of {acceptedAtKill} had run).");

                    after = await NimbusServer.StartAsync(data.Path, Environment);
                    await recorder.WaitForAsync(
                        $"every one of the {acceptedIds.Count} accepted events runs after the restart",
                        _ => acceptedIds.IsSubsetOf(RanIds(recorder, name)),
                        DrainDeadline);

                    var ran = RanIds(recorder, name).ToList();
                    var duplicates = ran.GroupBy(id => id).Where(g => g.Count() > 1).ToList();
                    output.WriteLine(
                        $"{acceptedIds.Count} accepted, {ran.Distinct().Count()} distinct events ran, {ran.Count} runs: "
                        + $"{duplicates.Count} events ran more than once ({duplicates.Sum(g => g.Count() - 1)} extra runs).");
                    Assert.Empty(acceptedIds.Except(ran));
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

    private static IEnumerable<string> RanIds(EventRecorder recorder, string function) =>
        recorder.ReportsOf(function).Select(r => r.Str("event.id"));
}
