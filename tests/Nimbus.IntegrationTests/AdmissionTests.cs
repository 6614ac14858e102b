using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;

namespace Nimbus.IntegrationTests;

/// <summary>
/// A node never starts instances whose memory adds up past its limit: a burst beyond it waits for a warm
/// instance and is served, or is throttled after the admission wait; idle instances are reaped (scale to zero).
/// Each test runs its own server with small limits.
/// </summary>
// Serial: measures memory admission against the node and sends a 100-call cold burst; other classes beside it would change both.
[Collection(SerialCollectionDefinition.Name)]
public sealed class AdmissionTests
{
    /// <summary>
    /// By default the account concurrency limit is what the node's memory holds of 128 MB instances, so 128 MB calls
    /// past it are throttled by the limit at once; these tests raise the limit to reach memory admission's wait.
    /// </summary>
    private const string AboveMemory = "1000";

    [Fact]
    public Task A_burst_beyond_the_nodes_memory_waits_for_the_warm_instance_and_every_call_succeeds() => WithServerAsync(
        new() { ["NIMBUS_INSTANCE_MEMORY_LIMIT_MB"] = "256", ["NIMBUS_ADMISSION_WAIT"] = "00:00:10", ["NIMBUS_CONCURRENCY_LIMIT"] = AboveMemory },
        async (server, lambda) =>
        {
            var name = $"t-{Guid.NewGuid():N}"[..20];
            await lambda.CreateFunctionAsync(name, FunctionZips.Build(FunctionZips.NodeBehaviours), "nodejs20.x", "pid.handler", timeout: 30);

            // 256 MB hold two 128 MB instances: six overlapping calls must share them, waiting their turn.
            var results = await Task.WhenAll(Enumerable.Range(0, 6).Select(_ => lambda.InvokeAsync(name, """{"ms":300}""")));

            Assert.All(results, r => Assert.True(r.StatusCode == 200 && r.Header("X-Amz-Function-Error") is null, r.ToString()));
            var instances = results.Select(r => r.Json().Str("instance")).Distinct().Count();
            Assert.InRange(instances, 1, 2);
        });

    [Fact]
    public Task A_burst_of_100_calls_to_a_cold_function_completes_without_a_single_error() => WithServerAsync(
        [],
        async (server, lambda) =>
        {
            var name = $"t-{Guid.NewGuid():N}"[..20];
            await lambda.CreateFunctionAsync(name, FunctionZips.Build(FunctionZips.NodeBehaviours), "nodejs20.x", "pid.handler", timeout: 30);

            var results = await Task.WhenAll(Enumerable.Range(0, 100).Select(_ => lambda.InvokeAsync(name, """{"ms":100}""")));

            var failures = results.Where(r => r.StatusCode != 200 || r.Header("X-Amz-Function-Error") is not null).ToList();
            Assert.True(failures.Count == 0, $"{failures.Count} of 100 calls failed; the first: {failures.FirstOrDefault()}");
            Assert.True(results.Select(r => r.Json().Str("instance")).Distinct().Count() > 1, "A burst should scale out to several instances.");
        });

    [Fact]
    public Task Thirty_two_callers_of_a_short_function_on_a_saturated_node_share_a_few_instances_that_stay_few_through_pauses() => WithServerAsync(
        // The longest admission wait: on a loaded machine a cold burst's last callers can wait past the default 10 s for
        // the first instances to start, which would throttle them whatever scale-out does.
        new() { ["NIMBUS_ADMISSION_WAIT"] = "00:01:00" },
        async (server, lambda) =>
        {
            var name = $"t-{Guid.NewGuid():N}"[..20];
            await lambda.CreateFunctionAsync(name, FunctionZips.Build(FunctionZips.NodeBehaviours), "nodejs20.x", "pid.handler", timeout: 30);

            // 32 callers, each calling back to back, from a cold start on: they keep every core busy, so the function
            // scales out to its target (3 busy or starting instances per core) and its callers queue for those.
            const int Callers = 32;
            List<HttpResult> results = [.. await BurstAsync(lambda, name, Callers, TimeSpan.Zero, callsEach: 10)];

            var failures = results.Where(r => r.StatusCode != 200 || r.Header("X-Amz-Function-Error") is not null).ToList();
            Assert.True(failures.Count == 0, $"{failures.Count} of {results.Count} calls failed; the first: {failures.FirstOrDefault()}");
            var metrics = await MetricsAsync(server);
            var target = metrics.Value("nimbus_scale_out_target_instances");
            Assert.Equal(3 * Environment.ProcessorCount, target);
            // A margin of the start slots (2 per core): callers that took one before the node's CPUs showed saturated.
            var instances = metrics.Value("nimbus_lambda_instances", ("function", name));
            var served = results.Select(r => r.Json().Str("instance")).Distinct().Count();
            Assert.True(instances <= target + (2 * Environment.ProcessorCount) && served <= instances,
                $"{instances} instances ({served} served calls) for {Callers} callers of a short function; at most {target} and the start slots expected.{Environment.NewLine}{metrics.Text}");
            Assert.True(metrics.Value("nimbus_lambda_scale_out_waits_total", ("function", name)) > 0, metrics.Text);

            // Then the same callers in bursts with pauses in between: each pause lets the CPU signal dip, which must not
            // let the next burst's callers start (or wake) instances past those the first burst left.
            var saturated = true;
            for (var burst = 0; burst < 3; burst++)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(400));
                var calls = BurstAsync(lambda, name, Callers, TimeSpan.FromSeconds(1.5), callsEach: 1);
                await Task.Delay(TimeSpan.FromMilliseconds(800));
                var during = await MetricsAsync(server);
                saturated &= during.Samples("nimbus_node_cpu_busy_ratio").Sum(s => s.Value) >= 0.85;
                results = await calls;
                failures = [.. results.Where(r => r.StatusCode != 200 || r.Header("X-Amz-Function-Error") is not null)];
                Assert.True(failures.Count == 0, $"{failures.Count} of {results.Count} calls failed; the first: {failures.FirstOrDefault()}");
            }

            var after = await MetricsAsync(server);
            var instancesAfter = after.Value("nimbus_lambda_instances", ("function", name));
            // Only where the node's CPUs were saturated in every burst: on a machine they leave room on, more instances
            // of a short function may rightly start. A margin of the start slots: on a loaded machine a caller can wait
            // past its bound, or the calls' average duration can pass the 50 ms that makes the function count as slow
            // (each lets waiting callers start instances); before the hysteresis every pause let that many start.
            Assert.True(!saturated || instancesAfter <= instances + (2 * Environment.ProcessorCount),
                $"{instances} instances after the first burst grew to {instancesAfter} through three bursts with pauses in between, on a saturated node.{Environment.NewLine}{after.Text}");
        });

    /// <summary>
    /// <paramref name="callers"/> callers of a short function, each calling back to back <paramref name="callsEach"/>
    /// times and then until <paramref name="lasting"/> has passed.
    /// </summary>
    private static async Task<List<HttpResult>> BurstAsync(LambdaHttp lambda, string name, int callers, TimeSpan lasting, int callsEach)
    {
        var until = DateTime.UtcNow + lasting;
        return [.. (await Task.WhenAll(Enumerable.Range(0, callers).Select(async _ =>
        {
            List<HttpResult> mine = [];
            while (mine.Count < callsEach || DateTime.UtcNow < until)
            {
                mine.Add(await lambda.InvokeAsync(name, """{"ms":0}"""));
            }

            return mine;
        }))).SelectMany(r => r)];
    }

    [Fact]
    public Task A_slow_function_still_gets_an_instance_per_concurrent_caller_at_once() => WithServerAsync(
        [],
        async (server, lambda) =>
        {
            var name = $"t-{Guid.NewGuid():N}"[..20];
            await lambda.CreateFunctionAsync(name, FunctionZips.Build(FunctionZips.NodeBehaviours), "nodejs20.x", "barrier.handler", timeout: 120);

            // Its invocations take 500 ms, ten times the scale-out wait's 50 ms: its callers must never wait for an
            // instance to come back.
            var first = await lambda.InvokeAsync(name, """{"ms":500}""");
            Assert.True(first.StatusCode == 200 && first.Header("X-Amz-Function-Error") is null, first.ToString());

            // More callers than the 3 busy instances per core past which a short function's callers would wait. Each
            // call holds its instance until every one of them runs: only an instance per caller lets them all finish.
            var callers = Math.Max(16, (3 * Environment.ProcessorCount) + 4);
            // On a non-loopback address: functions in isolated networks (the default) cannot reach the host's 127.0.0.1.
            var host = HostAddress.NonLoopback();
            using var listener = new TcpListener(host, 0);
            listener.Start();
            var port = ((IPEndPoint)listener.LocalEndpoint).Port;
            var calls = Enumerable.Range(0, callers).Select(_ => lambda.InvokeAsync(name, $$"""{"host":"{{host}}","port":{{port}}}""")).ToList();
            List<TcpClient> running = [];
            try
            {
                using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(90));
                try
                {
                    while (running.Count < callers)
                    {
                        running.Add(await listener.AcceptTcpClientAsync(deadline.Token));
                    }
                }
                catch (OperationCanceledException)
                {
                    Assert.Fail($"Only {running.Count} of {callers} concurrent calls of a 500 ms function ran at once within 90 s.");
                }

                foreach (var connection in running)
                {
                    await connection.GetStream().WriteAsync(new byte[] { 1 });
                }

                var results = await Task.WhenAll(calls);
                Assert.All(results, r => Assert.True(r.StatusCode == 200 && r.Header("X-Amz-Function-Error") is null, r.ToString()));
                Assert.Equal(callers, results.Select(r => r.Json().Str("instance")).Distinct().Count());
                var metrics = await MetricsAsync(server);
                Assert.Equal(0, metrics.Samples("nimbus_lambda_scale_out_waits_total", ("function", name)).Sum(s => s.Value));
            }
            finally
            {
                foreach (var connection in running)
                {
                    connection.Dispose();
                }
            }
        });

    [Fact]
    public Task A_call_that_finds_no_room_within_the_admission_wait_is_throttled_with_429() => WithServerAsync(
        new() { ["NIMBUS_INSTANCE_MEMORY_LIMIT_MB"] = "128", ["NIMBUS_ADMISSION_WAIT"] = "00:00:00.200", ["NIMBUS_CONCURRENCY_LIMIT"] = AboveMemory },
        async (server, lambda) =>
        {
            var name = $"t-{Guid.NewGuid():N}"[..20];
            await lambda.CreateFunctionAsync(name, FunctionZips.Build(FunctionZips.NodeBehaviours), "nodejs20.x", "pid.handler", timeout: 30);

            var first = lambda.InvokeAsync(name, """{"ms":3000}""");
            await ShutdownTests.WaitUntilStartedAsync(server.DataDirectory, name);
            var second = await lambda.InvokeAsync(name, """{"ms":0}""");

            Assert.Equal("ConcurrentInvocationLimitExceeded", second.ShouldBeError(429, "TooManyRequestsException").Str("Reason"));
            var firstResult = await first;
            Assert.True(firstResult.StatusCode == 200 && firstResult.Header("X-Amz-Function-Error") is null, firstResult.ToString());
        });

    [Fact]
    public Task An_idle_instance_is_stopped_after_the_idle_timeout() => WithServerAsync(
        // Without pre-started runtimes, every sandbox of this server is an instance of the function.
        new() { ["NIMBUS_IDLE_INSTANCE_TIMEOUT"] = "00:00:02", ["NIMBUS_PRESTART_POOL"] = "0" },
        async (server, lambda) =>
        {
            var name = $"t-{Guid.NewGuid():N}"[..20];
            await lambda.CreateFunctionAsync(name, FunctionZips.Build(FunctionZips.NodeCjs), "nodejs20.x", "index.handler");
            var warm = await lambda.InvokeAsync(name, """{"name":"x"}""");
            Assert.Equal(1, warm.Json().Num("count"));
            Assert.NotEmpty(ShutdownTests.SandboxPids(server.DataDirectory));

            var deadline = DateTime.UtcNow.AddSeconds(15);
            while (ShutdownTests.SandboxPids(server.DataDirectory).Count > 0 && DateTime.UtcNow < deadline)
            {
                await Task.Delay(100);
            }

            Assert.Empty(ShutdownTests.SandboxPids(server.DataDirectory));

            // Scaled to zero: the next call is a cold start on a fresh instance.
            var cold = await lambda.InvokeAsync(name, """{"name":"x"}""");
            Assert.Equal(1, cold.Json().Num("count"));
        });

    /// <summary>A function whose init takes 4 s without using CPU (as a cold start on a saturated node); it answers its instance's id.</summary>
    private const string SlowInitSource = """
        const id = require('crypto').randomUUID();
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 4000);
        exports.handler = async () => ({ instance: id });
        """;

    [Fact]
    public Task Callers_that_hang_up_while_their_calls_wait_start_no_instance_and_the_function_then_serves_normal_calls() => WithServerAsync(
        // Without pre-started runtimes: every instance of this server is one of the function's.
        new() { ["NIMBUS_PRESTART_POOL"] = "0" },
        async (server, lambda) =>
        {
            var name = $"t-{Guid.NewGuid():N}"[..20];
            await lambda.CreateFunctionAsync(name, FunctionZips.FromSource("index.js", SlowInitSource), "nodejs20.x", "index.handler", timeout: 30);

            // 40 callers give up after 1 s, each while its call waits for a start slot or for its instance's init.
            var hungUp = await Task.WhenAll(Enumerable.Range(0, 40).Select(async _ =>
            {
                using var giveUp = new CancellationTokenSource(TimeSpan.FromSeconds(1));
                try
                {
                    await lambda.SendAsync(HttpMethod.Post, $"/2015-03-31/functions/{name}/invocations", new StringContent("{}"), null, giveUp.Token);
                    return false;
                }
                catch (OperationCanceledException)
                {
                    return true;
                }
            }));
            Assert.All(hungUp, h => Assert.True(h, "A caller that gave up after 1 s got an answer from a function whose init takes 4 s."));

            // Once every instance started for them is through its init, nobody waits and nothing more starts.
            PrometheusText metrics;
            var deadline = DateTime.UtcNow.AddSeconds(60);
            do
            {
                await Task.Delay(200);
                metrics = await MetricsAsync(server);
            }
            while (DateTime.UtcNow < deadline
                && (metrics.Value("nimbus_instances", ("state", "initializing")) > 0 || Waiting(metrics, name) > 0));

            Assert.Equal(0, Waiting(metrics, name));
            var startSlots = Math.Max(2, Environment.ProcessorCount * 2);
            var started = Instances(metrics);
            Assert.True(started <= startSlots, $"{started} instances started for 40 callers that hung up; at most {startSlots} (the start slots) should.{Environment.NewLine}{metrics.Text}");
            var abandoned = metrics.Samples("nimbus_lambda_abandoned_invocations_total", ("function", name)).Sum(s => s.Value);
            Assert.True(abandoned >= 1, $"No abandoned invocation was counted.{Environment.NewLine}{metrics.Text}");

            // The next callers are served, by the instances already started when there are any.
            for (var i = 0; i < 3; i++)
            {
                var result = await lambda.InvokeAsync(name, "{}");
                Assert.True(result.StatusCode == 200 && result.Header("X-Amz-Function-Error") is null, result.ToString());
            }

            var after = await MetricsAsync(server);
            Assert.InRange(Instances(after), 1, Math.Max(started, 1));
            if (started > 0)
            {
                Assert.Equal(0, after.Samples("nimbus_lambda_cold_starts_total", ("function", name)).Sum(s => s.Value));
            }
        });

    [Fact]
    public Task An_overload_of_one_function_throttles_past_its_queue_and_leaves_the_control_plane_and_other_functions_answering() => WithServerAsync(
        // Four instance slots: 16 callers of one function may wait; the admission wait bounds the overload.
        new() { ["NIMBUS_MAX_INSTANCES"] = "4", ["NIMBUS_PRESTART_POOL"] = "0", ["NIMBUS_ADMISSION_WAIT"] = "00:00:05" },
        async (server, lambda) =>
        {
            var busy = $"t-{Guid.NewGuid():N}"[..20];
            var other = $"t-{Guid.NewGuid():N}"[..20];
            await lambda.CreateFunctionAsync(busy, FunctionZips.Build(FunctionZips.NodeBehaviours), "nodejs20.x", "pid.handler", timeout: 30);
            await lambda.CreateFunctionAsync(other, FunctionZips.Build(FunctionZips.NodeCjs), "nodejs20.x", "index.handler");
            var warm = await lambda.InvokeAsync(other, """{"name":"x"}""");
            Assert.Equal(200, warm.StatusCode);

            var overload = Enumerable.Range(0, 30).Select(_ => lambda.InvokeAsync(busy, """{"ms":2000}""")).ToList();
            var deadline = DateTime.UtcNow.AddSeconds(30);
            while (Waiting(await MetricsAsync(server), busy) == 0 && !overload.All(t => t.IsCompleted) && DateTime.UtcNow < deadline)
            {
                await Task.Delay(50);
            }

            // During the overload: the control plane answers, and the other function runs on its warm instance.
            Assert.Equal(200, (await lambda.GetAccountSettingsAsync()).StatusCode);
            Assert.Equal(200, (await lambda.ListFunctionsAsync("")).StatusCode);
            var served = await lambda.InvokeAsync(other, """{"name":"x"}""");
            Assert.True(served.StatusCode == 200 && served.Header("X-Amz-Function-Error") is null, served.ToString());
            Assert.Equal(2, served.Json().Num("count"));
            Assert.False(overload.All(t => t.IsCompleted), "The other function's call should not wait for the overload to end.");

            // Past the queue (and past the admission wait) calls are throttled as AWS throttles them; the rest run.
            var results = await Task.WhenAll(overload);
            Assert.All(results, r => Assert.True(
                r.StatusCode == 200 ? r.Header("X-Amz-Function-Error") is null : r.ShouldBeError(429, "TooManyRequestsException").Str("Reason") == "ConcurrentInvocationLimitExceeded",
                r.ToString()));
            Assert.Contains(results, r => r.StatusCode == 429);
            Assert.Contains(results, r => r.StatusCode == 200);

            // Waiting callers retry for room every 20 ms; the full node is logged once per 10 s for the function, with
            // what to do, not on every retry (hundreds of lines in this overload).
            var output = server.DescribeOutput(2_000);
            var noRoom = Regex.Matches(output, $@"No instance slot for {busy}: .*\((\d+) refusals since the last such line").ToList();
            Assert.True(noRoom.Count is >= 1 and <= 3, $"Expected the full node logged 1-3 times for {busy}, got {noRoom.Count}.{Environment.NewLine}{output}");
            Assert.Contains("Raise Nimbus:MaxInstances", output[noRoom[0].Index..].Split('\n')[0], StringComparison.Ordinal);
        });

    private static async Task<PrometheusText> MetricsAsync(NimbusServer server)
    {
        using var response = await server.Http.GetAsync(new Uri("/metrics", UriKind.Relative));
        response.EnsureSuccessStatusCode();
        return PrometheusText.Parse(await response.Content.ReadAsStringAsync());
    }

    private static double Waiting(PrometheusText metrics, string function) =>
        metrics.Samples("nimbus_lambda_waiting_invocations", ("function", function)).Sum(s => s.Value);

    private static double Instances(PrometheusText metrics) =>
        metrics.Samples("nimbus_instances").Sum(s => s.Value);

    private static async Task WithServerAsync(Dictionary<string, string> environment, Func<NimbusServer, LambdaHttp, Task> test)
    {
        using var data = new TempDirectory("nimbus-it-admission");
        NimbusServer? server = null;
        try
        {
            await Failures.WithContextAsync(
                async () =>
                {
                    server = await NimbusServer.StartAsync(data.Path, environment);
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
