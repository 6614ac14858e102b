using System.Diagnostics;
using System.Text.Json;

namespace Nimbus.IntegrationTests;

/// <summary>
/// Provisioned concurrency through the AWS CLI: instances of a published version initialized ahead of demand,
/// READY only once they are, invoked without an init phase, kept past the idle timeout, and gone with the setting.
/// The server reaps idle instances after 2 s, so an instance still warm later was kept on purpose.
/// </summary>
[Collection(Name)]
public sealed class ProvisionedConcurrencyTests
{
    /// <summary>Own collection: these tests start their own server with a short idle timeout.</summary>
    public const string Name = "provisioned";

    private const string InitSleepMs = "3000";
    private static readonly TimeSpan ReadyDeadline = TimeSpan.FromSeconds(90);

    [Theory]
    [InlineData(AwsCli.V1)]
    [InlineData(AwsCli.V2)]
    public Task Provisioned_instances_are_initialized_ahead_report_READY_when_they_are_and_outlive_the_idle_timeout(string cli) => WithServerAsync(cli, async (server, aws) =>
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
        await WaitForColdStartAsync(aws, name, "$LATEST");
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
        var cold = await WaitForColdStartAsync(aws, name, "1");
        Assert.Equal("on-demand", cold.Payload.Str("initializationType"));
    });

    [Fact]
    public Task Provisioned_concurrency_on_LATEST_or_a_missing_version_fails_as_on_AWS() => WithServerAsync(AwsCli.V2, async (server, aws) =>
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

    private static async Task<CliInvocation> WaitForColdStartAsync(AwsCli aws, string name, string qualifier)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var invocation = await aws.InvokeAsync(name, "{}", "--qualifier", qualifier, "--log-type", "Tail");
            invocation.ShouldReturn();
            if (invocation.ShouldHaveLog().Contains("Init Duration", StringComparison.Ordinal))
            {
                return invocation;
            }

            // Probing uses the instance; probe less often than the 2 s idle timeout, or it is never idle long enough.
            Assert.True(clock.Elapsed < ReadyDeadline, $"The idle instances were never reaped.{Environment.NewLine}{invocation}");
            await Task.Delay(TimeSpan.FromSeconds(3));
        }
    }

    private static async Task WithServerAsync(string cli, Func<NimbusServer, AwsCli, Task> test)
    {
        using var data = new TempDirectory("nimbus-it-provisioned");
        using var scratch = new TempDirectory("nimbus-it-scratch");
        var server = await NimbusServer.StartAsync(data.Path, new Dictionary<string, string> { ["NIMBUS_IDLE_INSTANCE_TIMEOUT"] = "00:00:02" });
        try
        {
            await Failures.WithContextAsync(() => test(server, new AwsCli(cli, server.Endpoint, scratch.Path)), () => server.DescribeOutput());
        }
        finally
        {
            await server.DisposeAsync();
        }
    }
}
