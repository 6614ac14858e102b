using System.Diagnostics;
using System.Text.Json;

namespace Nimbus.IntegrationTests;

/// <summary>
/// Provisioned concurrency through the AWS CLI: instances of a published version initialized ahead of demand,
/// READY only once they are, invoked without an init phase, kept past the idle timeout, and gone with the setting.
/// The server reaps idle instances after 2 s, so an instance still warm later was kept on purpose.
/// </summary>
[Collection(Name)]
public sealed class ProvisionedConcurrencyTests(ProvisionedConcurrencyTests.IdleServerFixture fixture) : IClassFixture<ProvisionedConcurrencyTests.IdleServerFixture>
{
    /// <summary>Own collection: these tests share a server of their own with a short idle timeout.</summary>
    public const string Name = "provisioned";

    private const string InitSleepMs = "3000";
    private static readonly TimeSpan ReadyDeadline = TimeSpan.FromSeconds(90);

    /// <summary>Through the AWS CLI v1; the test below drives v2 (both speak the same rest-json).</summary>
    [Fact]
    public Task Provisioned_instances_are_initialized_ahead_report_READY_when_they_are_and_outlive_the_idle_timeout() => fixture.RunAsync(AwsCli.V1, async (server, aws) =>
    {
        var name = $"t-{Guid.NewGuid():N}"[..20];
        (await aws.CreateFunctionAsync(name, FunctionZips.Build(FunctionZips.NodeProvisioned), "nodejs20.x", "index.handler",
            "--environment", $"Variables={{INIT_SLEEP_MS={InitSleepMs}}}", "--timeout", "10")).ShouldSucceed();
        Assert.Equal("1", (await aws.LambdaAsync("publish-version", "--function-name", name)).ShouldSucceed().Json().Str("Version"));

        var put = (await aws.LambdaAsync("put-provisioned-concurrency-config", "--function-name", name, "--qualifier", "1",
            "--provisioned-concurrent-executions", "2")).ShouldSucceed().Json();
        Assert.Equal(2, put.Num("RequestedProvisionedConcurrentExecutions"));

        // Init sleeps 3 s, so right after the put the instances cannot be ready yet.
        var early = Get(await new LambdaHttp(server.Http).SendAsync(HttpMethod.Get, $"/2019-09-30/functions/{name}/provisioned-concurrency?Qualifier=1"));
        Assert.Equal("IN_PROGRESS", early.Str("Status"));

        var ready = await WaitForReadyAsync(aws, name, "1");
        Assert.Equal(2, ready.Num("AllocatedProvisionedConcurrentExecutions"));
        Assert.Equal(2, ready.Num("AvailableProvisionedConcurrentExecutions"));

        var first = await aws.InvokeAsync(name, "{}", "--qualifier", "1", "--log-type", "Tail");
        var payload = first.ShouldReturn();
        Assert.Equal("provisioned-concurrency", payload.Str("initializationType"));
        Assert.Equal("1", payload.Str("version"));
        Assert.Equal(1, payload.Num("count"));
        Assert.DoesNotContain("Init Duration", first.ShouldHaveLog(), StringComparison.Ordinal);

        // An on-demand instance of $LATEST, idle as long as the provisioned ones, is reaped (the control: the
        // reaper did run); the provisioned instance still answers warm, its module state going on (the newest idle
        // instance is reused). A reaped one would have started over at 1, with an init phase.
        (await aws.InvokeAsync(name, "{}")).ShouldReturn();
        await WaitForNoInstancesAsync(server, name, "$LATEST");
        Assert.Equal(2, InstancesOf(await MetricsAsync(server), name, "1"));
        var later = await aws.InvokeAsync(name, "{}", "--qualifier", "1", "--log-type", "Tail");
        Assert.Equal(2, later.ShouldReturn().Num("count"));
        Assert.DoesNotContain("Init Duration", later.ShouldHaveLog(), StringComparison.Ordinal);

        var list = (await aws.LambdaAsync("list-provisioned-concurrency-configs", "--function-name", name)).ShouldSucceed().Json();
        var item = Assert.Single(list.Array("ProvisionedConcurrencyConfigs"));
        Assert.EndsWith($":function:{name}:1", item.Str("FunctionArn"), StringComparison.Ordinal);

        (await aws.LambdaAsync("delete-provisioned-concurrency-config", "--function-name", name, "--qualifier", "1")).ShouldSucceed();
        (await aws.LambdaAsync("get-provisioned-concurrency-config", "--function-name", name, "--qualifier", "1"))
            .ShouldFailWith("ProvisionedConcurrencyConfigNotFoundException");

        // Released to the idle timeout: the instances are reaped and the next invoke initializes again.
        await WaitForNoInstancesAsync(server, name, "1");
        var cold = await aws.InvokeAsync(name, "{}", "--qualifier", "1", "--log-type", "Tail");
        Assert.Equal("on-demand", cold.ShouldReturn().Str("initializationType"));
        Assert.Contains("Init Duration", cold.ShouldHaveLog(), StringComparison.Ordinal);
    });

    [Fact]
    public Task Provisioned_concurrency_on_LATEST_or_a_missing_version_fails_as_on_AWS() => fixture.RunAsync(AwsCli.V2, async (server, aws) =>
    {
        var name = $"t-{Guid.NewGuid():N}"[..20];
        (await aws.CreateFunctionAsync(name, FunctionZips.Build(FunctionZips.NodeProvisioned), "nodejs20.x", "index.handler")).ShouldSucceed();

        var latest = await aws.LambdaAsync("put-provisioned-concurrency-config", "--function-name", name, "--qualifier", "$LATEST", "--provisioned-concurrent-executions", "1");
        var missing = await aws.LambdaAsync("put-provisioned-concurrency-config", "--function-name", name, "--qualifier", "7", "--provisioned-concurrent-executions", "1");
        var none = await aws.LambdaAsync("get-provisioned-concurrency-config", "--function-name", name, "--qualifier", "$LATEST");

        Assert.Equal("Provisioned Concurrency Configs cannot be applied to unpublished function versions.", latest.ShouldFailWith("InvalidParameterValueException"));
        Assert.Contains($":function:{name}:7", missing.ShouldFailWith("ResourceNotFoundException"), StringComparison.Ordinal);
        none.ShouldFailWith("InvalidParameterValueException");
    });

    private static JsonElement Get(HttpResult result)
    {
        Assert.True(result.StatusCode == 200, result.ToString());
        return result.Json();
    }

    internal static async Task<JsonElement> WaitForReadyAsync(AwsCli aws, string name, string qualifier)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var config = (await aws.LambdaAsync("get-provisioned-concurrency-config", "--function-name", name, "--qualifier", qualifier)).ShouldSucceed().Json();
            if (config.Str("Status") == "READY")
            {
                return config;
            }

            Assert.True(config.Str("Status") == "IN_PROGRESS", $"Provisioning should be in progress until READY: {config.GetRawText()}");
            Assert.True(clock.Elapsed < ReadyDeadline, $"Not READY after {ReadyDeadline.TotalSeconds} s: {config.GetRawText()}");
            await Task.Delay(TimeSpan.FromMilliseconds(250));
        }
    }

    /// <summary>
    /// Waits until the version has no instance on the node (/metrics' <c>nimbus_lambda_instances</c>): watching does not
    /// use an instance, as probing with invokes would (each probe keeps it from idling for the whole timeout).
    /// </summary>
    private static async Task WaitForNoInstancesAsync(NimbusServer server, string name, string version)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var metrics = await MetricsAsync(server);
            if (InstancesOf(metrics, name, version) == 0)
            {
                return;
            }

            Assert.True(clock.Elapsed < ReadyDeadline, $"The idle instances of {name}:{version} were never reaped.{Environment.NewLine}{metrics.Text}");
            await Task.Delay(TimeSpan.FromMilliseconds(250));
        }
    }

    private static double InstancesOf(PrometheusText metrics, string name, string version) =>
        metrics.Samples("nimbus_lambda_instances", ("function", name), ("version", version)).Sum(s => s.Value);

    private static async Task<PrometheusText> MetricsAsync(NimbusServer server)
    {
        using var response = await server.Http.GetAsync(new Uri("/metrics", UriKind.Relative));
        return PrometheusText.Parse(await response.Content.ReadAsStringAsync());
    }

    /// <summary>One server for the class, reaping idle instances after 2 s.</summary>
    public sealed class IdleServerFixture : IAsyncLifetime
    {
        private TempDirectory? _data;
        private TempDirectory? _scratch;
        private NimbusServer? _server;

        public async Task InitializeAsync()
        {
            _data = new TempDirectory("nimbus-it-provisioned");
            _scratch = new TempDirectory("nimbus-it-scratch");
            _server = await NimbusServer.StartAsync(_data.Path, new Dictionary<string, string> { ["NIMBUS_IDLE_INSTANCE_TIMEOUT"] = "00:00:02" });
        }

        public async Task DisposeAsync()
        {
            if (_server is not null)
            {
                await _server.DisposeAsync();
            }

            _scratch?.Dispose();
            _data?.Dispose();
        }

        internal Task RunAsync(string cli, Func<NimbusServer, AwsCli, Task> test)
        {
            var server = _server ?? throw new InvalidOperationException("The provisioned-concurrency server has not been started.");
            return Failures.WithContextAsync(() => test(server, new AwsCli(cli, server.Endpoint, _scratch!.Path)), () => server.DescribeOutput());
        }
    }
}
