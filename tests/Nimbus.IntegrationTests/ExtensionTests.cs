using System.Text;
using Microsoft.Data.Sqlite;

namespace Nimbus.IntegrationTests;

/// <summary>
/// The Extensions API: a bash + curl external extension shipped in a layer's extensions/ directory registers, gets
/// INVOKE events (the caller's answer does not wait for its post-invoke work, the instance is reused only after it),
/// and gets SHUTDOWN when the idle instance is reaped; an extension that dies fails its invocation (or init) with
/// Extension.Crash and the others get SHUTDOWN failure, and a timeout sends SHUTDOWN timeout. Each test runs its own
/// server.
/// </summary>
public sealed class ExtensionTests
{
    [Fact]
    public async Task An_external_extension_in_a_layer_gets_INVOKE_before_reuse_and_SHUTDOWN_on_reaping()
    {
        using var data = new TempDirectory("nimbus-it-extensions");
        using var scratch = new TempDirectory("nimbus-it-extensions-cli");
        NimbusServer? server = null;
        try
        {
            await Failures.WithContextAsync(
                async () =>
                {
                    server = await NimbusServer.StartAsync(data.Path, new Dictionary<string, string>
                    {
                        ["NIMBUS_IDLE_INSTANCE_TIMEOUT"] = "00:00:04",
                        ["NIMBUS_PRESTART_POOL"] = "0",
                    });
                    await RunAsync(server, scratch.Path);
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

    [Fact]
    public async Task An_extension_that_dies_fails_its_invocation_with_Extension_Crash_and_resets_the_instance_after_SHUTDOWN_failure_and_a_timeout_sends_SHUTDOWN_timeout()
    {
        using var data = new TempDirectory("nimbus-it-extension-crash");
        using var scratch = new TempDirectory("nimbus-it-extension-crash-cli");
        NimbusServer? server = null;
        try
        {
            await Failures.WithContextAsync(
                async () =>
                {
                    server = await NimbusServer.StartAsync(data.Path, new Dictionary<string, string> { ["NIMBUS_PRESTART_POOL"] = "0" });
                    await RunCrashAsync(server, scratch.Path);
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

    private static async Task RunCrashAsync(NimbusServer server, string scratch)
    {
        var aws = new AwsCli(AwsCli.V1, server.Endpoint, scratch);
        var lambda = new LambdaHttp(server.Http);
        var layerZip = Path.Combine(scratch, "layer.zip");
        await File.WriteAllBytesAsync(layerZip, FunctionZips.Build(FunctionZips.LayerExtensionPair));
        var layer = (await aws.LambdaAsync("publish-layer-version", "--layer-name", "crash-ext", "--zip-file", "fileb://" + layerZip)).Json().Str("LayerVersionArn");
        var name = $"t-{Guid.NewGuid():N}"[..20];
        var zip = FunctionZips.Build(FunctionZips.NodeExtensionCrash);
        (await aws.CreateFunctionAsync(name, zip, "nodejs20.x", "index.handler", "--layers", layer, "--timeout", "3")).ShouldSucceed();

        // 1: the crasher dies during the invocation: it fails with Extension.Crash, the watcher gets SHUTDOWN failure.
        var crashed = await lambda.InvokeAsync(name, """{"action":"crash"}""");
        Assert.True(crashed.StatusCode == 200 && crashed.Header("X-Amz-Function-Error") == "Unhandled", crashed.ToString());
        var error = crashed.Json();
        Assert.Equal("Extension.Crash", error.Str("errorType"));
        Assert.Equal($"RequestId: {crashed.Header("x-amzn-RequestId")} Error: exit code 3", error.Str("errorMessage"));
        await WaitForLogAsync(server, name, "watcher SHUTDOWN failure");
        Assert.Contains("crasher crashes", await ReadLogAsync(server, name), StringComparison.Ordinal);

        // 2: the instance was reset: a new one answers; then a timeout sends SHUTDOWN timeout before the kill.
        var timedOut = await lambda.InvokeAsync(name, """{"action":"hang"}""", logType: "Tail");
        Assert.True(timedOut.StatusCode == 200 && timedOut.Json().Str("errorType") == "Sandbox.Timedout", timedOut.ToString());
        var tail = Encoding.UTF8.GetString(Convert.FromBase64String(timedOut.Header("X-Amz-Log-Result")!));
        Assert.Contains("Init Duration", tail, StringComparison.Ordinal);
        await WaitForLogAsync(server, name, "watcher SHUTDOWN timeout");

        // 3: an extension that dies before it registers fails init with Extension.Crash.
        var broken = $"t-{Guid.NewGuid():N}"[..20];
        (await aws.CreateFunctionAsync(broken, zip, "nodejs20.x", "index.handler", "--layers", layer, "--environment", "Variables={CRASHER_AT_INIT=1}")).ShouldSucceed();
        var initFailed = await lambda.InvokeAsync(broken, "{}");
        Assert.True(initFailed.StatusCode == 200 && initFailed.Header("X-Amz-Function-Error") == "Unhandled", initFailed.ToString());
        Assert.Equal("Extension.Crash", initFailed.Json().Str("errorType"));
        Assert.EndsWith("Error: exit code 2", initFailed.Json().Str("errorMessage"), StringComparison.Ordinal);
    }

    private static async Task RunAsync(NimbusServer server, string scratch)
    {
        var aws = new AwsCli(AwsCli.V1, server.Endpoint, scratch);
        var lambda = new LambdaHttp(server.Http);
        var layerZip = Path.Combine(scratch, "layer.zip");
        await File.WriteAllBytesAsync(layerZip, FunctionZips.Build(FunctionZips.LayerExtension));
        var layer = (await aws.LambdaAsync("publish-layer-version", "--layer-name", "recorder-ext", "--zip-file", "fileb://" + layerZip)).Json().Str("LayerVersionArn");
        var name = $"t-{Guid.NewGuid():N}"[..20];
        (await aws.CreateFunctionAsync(name, FunctionZips.Build(FunctionZips.NodeExtension), "nodejs20.x", "index.handler",
            "--layers", layer, "--timeout", "10")).ShouldSucceed();

        // 1: INVOKE reaches the extension during the invocation; the answer does not wait for its 1 s of work.
        var first = await lambda.InvokeAsync(name, """{"probe":true}""", logType: "Tail");
        Assert.True(first.StatusCode == 200 && first.Header("X-Amz-Function-Error") is null, first.ToString());
        var firstLog = await ReadLogAsync(server, name);
        var result = first.Json();
        var firstId = first.Header("x-amzn-RequestId")!;
        Assert.Equal(1, result.Num("count"));
        Assert.Contains($"received {firstId}", result.Array("events").Select(e => e.GetString()));
        Assert.DoesNotContain($"recorder done {firstId}", firstLog);
        var tail = Encoding.UTF8.GetString(Convert.FromBase64String(first.Header("X-Amz-Log-Result")!));
        Assert.Contains("EXTENSION\tName: recorder\tState: Ready\tEvents: [INVOKE,SHUTDOWN]", tail, StringComparison.Ordinal);

        // The Extensions API's own errors, as the function saw them.
        Assert.Equal(403, result.Num("noId.status"));
        Assert.Equal("Extension.MissingExtensionIdentifier", result.Str("noId.body.errorType"));
        Assert.Equal(403, result.Num("badId.status"));
        Assert.Equal("Extension.InvalidExtensionIdentifier", result.Str("badId.body.errorType"));
        Assert.Equal(403, result.Num("lateRegister.status"));

        // 2: once the extension is done, the same instance takes the next invocation.
        await WaitForLogAsync(server, name, $"recorder done {firstId}");
        var second = await lambda.InvokeAsync(name, "{}");
        var secondId = second.Header("x-amzn-RequestId")!;
        var events = second.Json();
        Assert.Equal(2, events.Num("count"));
        Assert.Equal([$"received {firstId}", $"done {firstId}", $"received {secondId}"], events.Array("events").Select(e => e.GetString()));

        // 3: reaped after the idle timeout: SHUTDOWN (spindown) first, within Lambda's 2 s.
        await WaitForLogAsync(server, name, "recorder SHUTDOWN spindown", TimeSpan.FromSeconds(20));
        var log = await ReadLogAsync(server, name);
        Assert.Contains("\"eventType\":\"SHUTDOWN\"", log, StringComparison.Ordinal);
    }

    private static async Task WaitForLogAsync(NimbusServer server, string name, string text, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(10));
        var log = "";
        while (DateTime.UtcNow < deadline)
        {
            log = await ReadLogAsync(server, name);
            if (log.Contains(text, StringComparison.Ordinal))
            {
                return;
            }

            await Task.Delay(100);
        }

        Assert.Fail($"Expected '{text}' in the log of {name} within {(timeout ?? TimeSpan.FromSeconds(10)).TotalSeconds} s:{Environment.NewLine}{log}");
    }

    private static Task<string> ReadLogAsync(NimbusServer server, string name)
    {
        var path = Path.Combine(server.DataDirectory, "logs.db");
        using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString());
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT message FROM log_events WHERE log_group = $group ORDER BY id;";
        command.Parameters.AddWithValue("$group", $"/aws/lambda/{name}");
        using var reader = command.ExecuteReader();
        var lines = new StringBuilder();
        while (reader.Read())
        {
            lines.AppendLine(reader.GetString(0));
        }

        return Task.FromResult(lines.ToString());
    }
}
