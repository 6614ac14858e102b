using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using Xunit.Abstractions;

namespace Nimbus.IntegrationTests;

/// <summary>
/// Deploys under load: 32 callers invoke $LATEST and an alias for 30 s (loopback only) while $LATEST's code is
/// updated three times and the alias moves twice. No invocation may fail, and each must have run code that was
/// live at some moment between its start and its end.
/// </summary>
// Serial: keeps the machine under steady invoke load for 30 s while deploying and judges every call.
[Collection(SerialCollectionDefinition.Name)]
public sealed class DeployUnderLoadTests(ServerFixture fixture, ITestOutputHelper output) : IClassFixture<ServerFixture>
{
    private const int Callers = 32;
    private static readonly TimeSpan Duration = TimeSpan.FromSeconds(30);

    [Fact]
    public Task Updating_LATEST_three_times_and_moving_an_alias_twice_under_32_callers_fails_no_invocation() => fixture.RunAsync(async scope =>
    {
        var name = scope.NewFunctionName();
        var lambda = scope.Lambda;
        var create = LambdaHttp.CreateFunctionRequest(name, Generation(1), "nodejs20.x", "index.handler");
        create["Publish"] = true;
        Assert.Equal(201, (await lambda.CreateFunctionAsync(create)).StatusCode);
        await ShouldSucceedAsync(lambda.SendAsync(HttpMethod.Post, $"{LambdaHttp.FunctionsPath}/{name}/aliases",
            VersionTests.Json("""{"Name":"live","FunctionVersion":"1"}""")));

        var clock = Stopwatch.StartNew();

        // $LATEST runs generation g from the moment its update was sent until the next update returned.
        // The alias runs version v (= generation v) from the moment it was moved to v until the next move returned.
        var latest = new List<Window> { new(1, double.NegativeInfinity, double.PositiveInfinity) };
        var alias = new List<Window> { new(1, double.NegativeInfinity, double.PositiveInfinity) };
        var calls = new ConcurrentBag<Call>();
        using var stop = new CancellationTokenSource();

        var load = Enumerable.Range(0, Callers).Select(caller => Task.Run(async () =>
        {
            var qualifier = caller % 2 == 0 ? "$LATEST" : "live";
            while (!stop.IsCancellationRequested)
            {
                var started = clock.Elapsed.TotalSeconds;
                var result = await VersionTests.InvokeAsync(scope, name, qualifier);
                calls.Add(new Call(qualifier, started, clock.Elapsed.TotalSeconds, result));
            }
        })).ToList();

        async Task AtAsync(double seconds, Func<Task> step)
        {
            var wait = TimeSpan.FromSeconds(seconds) - clock.Elapsed;
            if (wait > TimeSpan.Zero)
            {
                await Task.Delay(wait);
            }

            await step();
        }

        async Task UpdateLatestAsync(int generation, bool publish)
        {
            var sent = clock.Elapsed.TotalSeconds;
            var body = new JsonObject { ["ZipFile"] = Convert.ToBase64String(Generation(generation)), ["Publish"] = publish };
            var result = await ShouldSucceedAsync(lambda.SendAsync(HttpMethod.Put, $"{LambdaHttp.FunctionsPath}/{name}/code", VersionTests.Json(body.ToJsonString())));
            latest[^1] = latest[^1] with { To = clock.Elapsed.TotalSeconds };
            latest.Add(new Window(generation, sent, double.PositiveInfinity));
            if (publish)
            {
                Assert.Equal(generation.ToString(CultureInfo.InvariantCulture), result.Json().Str("Version"));
            }
        }

        async Task MoveAliasAsync(int version)
        {
            var sent = clock.Elapsed.TotalSeconds;
            await ShouldSucceedAsync(lambda.SendAsync(HttpMethod.Put, $"{LambdaHttp.FunctionsPath}/{name}/aliases/live",
                VersionTests.Json($$"""{"FunctionVersion":"{{version}}"}""")));
            alias[^1] = alias[^1] with { To = clock.Elapsed.TotalSeconds };
            alias.Add(new Window(version, sent, double.PositiveInfinity));
        }

        await AtAsync(5, () => UpdateLatestAsync(2, publish: true));
        await AtAsync(10, () => UpdateLatestAsync(3, publish: true));
        await AtAsync(14, () => MoveAliasAsync(2));
        await AtAsync(18, () => UpdateLatestAsync(4, publish: false));
        await AtAsync(23, () => MoveAliasAsync(3));
        await AtAsync(Duration.TotalSeconds, () => Task.CompletedTask);
        await stop.CancelAsync();
        await Task.WhenAll(load);

        var all = calls.ToList();
        var failed = all.Where(c => c.Result.StatusCode != 200 || c.Result.Header("X-Amz-Function-Error") is not null).ToList();
        var stale = new List<string>();
        foreach (var call in all.Except(failed))
        {
            var generation = (int)call.Result.Json().Num("gen");
            var windows = call.Qualifier == "live" ? alias : latest;
            if (!windows.Any(w => w.Generation == generation && w.From <= call.End && call.Start <= w.To))
            {
                stale.Add($"{call.Qualifier} call {call.Start:0.000}-{call.End:0.000} s ran generation {generation}");
            }

            var executed = call.Result.Header("X-Amz-Executed-Version");
            var expectedVersion = call.Qualifier == "live" ? generation.ToString(CultureInfo.InvariantCulture) : "$LATEST";
            if (executed != expectedVersion)
            {
                stale.Add($"{call.Qualifier} call ran generation {generation} but reported X-Amz-Executed-Version {executed}");
            }
        }

        var latencies = all.Select(c => (c.End - c.Start) * 1000).Order().ToList();
        var figures = string.Create(CultureInfo.InvariantCulture,
            $"{all.Count} invocations by {Callers} callers in {Duration.TotalSeconds:0} s ({all.Count / Duration.TotalSeconds:0}/s), {failed.Count} failed, "
            + $"latency p50 {Percentile(latencies, 0.50):0.0} ms, p99 {Percentile(latencies, 0.99):0.0} ms, max {latencies[^1]:0} ms; "
            + $"$LATEST windows {string.Join(", ", latest.Select(w => $"gen {w.Generation} {w.From:0.0}-{w.To:0.0}"))}; "
            + $"alias windows {string.Join(", ", alias.Select(w => $"v{w.Generation} {w.From:0.0}-{w.To:0.0}"))}");
        output.WriteLine(figures);

        Assert.True(failed.Count == 0, $"{figures}{Environment.NewLine}first failure: {failed.FirstOrDefault()?.Result}");
        Assert.True(stale.Count == 0, $"{figures}{Environment.NewLine}{string.Join(Environment.NewLine, stale.Take(10))}");
        foreach (var generation in new[] { 1, 2, 3, 4 })
        {
            Assert.Contains(all, c => c.Qualifier == "$LATEST" && c.Result.Json().Num("gen") == generation);
        }

        foreach (var version in new[] { 1, 2, 3 })
        {
            Assert.Contains(all, c => c.Qualifier == "live" && c.Result.Json().Num("gen") == version);
        }
    });

    /// <summary>A handler that says which code generation it is.</summary>
    private static byte[] Generation(int generation) =>
        FunctionZips.FromSource("index.js", $"exports.handler = async () => ({{ gen: {generation} }});\n");

    private static async Task<HttpResult> ShouldSucceedAsync(Task<HttpResult> request)
    {
        var result = await request;
        Assert.True(result.StatusCode is 200 or 201, result.ToString());
        return result;
    }

    private static double Percentile(List<double> sorted, double p) => sorted[Math.Min(sorted.Count - 1, (int)(p * sorted.Count))];

    private sealed record Window(int Generation, double From, double To);

    private sealed record Call(string Qualifier, double Start, double End, HttpResult Result);
}
