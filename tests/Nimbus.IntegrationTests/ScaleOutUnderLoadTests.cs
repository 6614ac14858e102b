using System.Diagnostics;
using System.Globalization;
using Xunit.Abstractions;

namespace Nimbus.IntegrationTests;

/// <summary>
/// Scale-out of a function that waits on I/O while the node's CPUs are busy with something else: as on Lambda, each
/// concurrent caller gets an instance of its own, so every call takes about the function's own wait. The scale-out
/// wait (<c>NIMBUS_SCALE_OUT_WAIT</c>) holds callers back only for short functions on a saturated node, which a 300 ms
/// sleep is not, even before its first call has ended.
/// </summary>
// Serial: loads the machine's cores on purpose; other classes beside it would slow down and change its figures.
[Collection(SerialCollectionDefinition.Name)]
public sealed class ScaleOutUnderLoadTests(ITestOutputHelper output)
{
    private const int Callers = 20;

    private const string SleepSource = """
        const instance = require("crypto").randomUUID();
        exports.handler = async () => {
          const started = Date.now();
          await new Promise((resolve) => setTimeout(resolve, 300));
          return { instance, ms: Date.now() - started };
        };
        """;

    [Fact]
    public Task Twenty_callers_of_a_function_that_sleeps_300_ms_run_on_twenty_instances_while_other_processes_keep_the_cores_busy() => WithServerAsync(async (_, lambda) =>
    {
        var name = $"t-{Guid.NewGuid():N}"[..20];
        await lambda.CreateFunctionAsync(name, FunctionZips.FromSource("index.js", SleepSource), "nodejs20.x", "index.handler", timeout: 60);

        // A busy loop per core, each bounded to 120 s and killed at the end whatever happens.
        var loads = Enumerable.Range(0, Environment.ProcessorCount).Select(_ => Process.Start(new ProcessStartInfo("python3")
        {
            ArgumentList = { "-c", "import time\nend = time.time() + 120\nwhile time.time() < end: pass" },
            UseShellExecute = false,
        })!).ToList();
        try
        {
            // The busy share the server sees must be up before the burst: the node's CPU signal spans ~200 ms.
            await Task.Delay(TimeSpan.FromMilliseconds(500));
            List<string> rounds = [];
            var spread = 0;
            foreach (var round in (string[])["cold", "warm", "warm", "warm"])
            {
                var clock = Stopwatch.StartNew();
                var calls = await Task.WhenAll(Enumerable.Range(0, Callers).Select(async _ =>
                {
                    var started = clock.Elapsed;
                    var response = await lambda.InvokeAsync(name, "{}");
                    return (Response: response, Seconds: (clock.Elapsed - started).TotalSeconds);
                }));

                Assert.All(calls, c => Assert.True(c.Response.StatusCode == 200 && c.Response.Header("X-Amz-Function-Error") is null, c.Response.ToString()));
                var instances = calls.Select(c => c.Response.Json().Str("instance")).Distinct().Count();
                var seconds = calls.Select(c => c.Seconds).Order().ToList();
                rounds.Add(string.Create(CultureInfo.InvariantCulture,
                    $"{round}: {instances} instances, answered in {seconds[0]:0.00}-{seconds[^1]:0.00} s (median {seconds[Callers / 2]:0.00} s)"));

                spread = instances;
            }

            // Warm, each caller has an instance of its own: none waits for another's call to end first. The cold
            // burst's starts run at most two per core at once, so callers still waiting for a start slot when the
            // first instances come back take those instead, and the next rounds start the rest (figures in the output).
            Assert.True(spread == Callers, $"{Callers} concurrent callers of a 300 ms sleep should run on {Callers} instances once warm. {string.Join("; ", rounds)}");
            output.WriteLine(string.Join(Environment.NewLine, rounds));
        }
        finally
        {
            foreach (var load in loads)
            {
                load.Kill();
                await load.WaitForExitAsync();
                load.Dispose();
            }
        }
    });

    private static async Task WithServerAsync(Func<NimbusServer, LambdaHttp, Task> test)
    {
        using var data = new TempDirectory("nimbus-it-scale-out");
        NimbusServer? server = null;
        try
        {
            await Failures.WithContextAsync(
                async () =>
                {
                    server = await NimbusServer.StartAsync(data.Path);
                    await test(server, new LambdaHttp(server.Http));
                },
                () => server?.DescribeOutput() ?? "(no server)");
        }
        finally
        {
            if (server is not null)
            {
                await server.DisposeAsync();
            }
        }
    }
}
