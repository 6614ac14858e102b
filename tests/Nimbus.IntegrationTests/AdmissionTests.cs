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
