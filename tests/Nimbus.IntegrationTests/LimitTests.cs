using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.Data.Sqlite;

namespace Nimbus.IntegrationTests;

/// <summary>
/// The limits of an instance, enforced by its sandbox and cgroup as Lambda enforces them: memory, processes,
/// the timeout, CPU while idle and /tmp. Each test says how it would fail if its limit were missing.
/// </summary>
public sealed partial class LimitTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private const string NodeRuntime = "nodejs20.x";
    private const string PythonRuntime = "python3.11";

    /// <summary>Lambda's limit on processes and threads per execution environment.</summary>
    private const int MaxProcesses = 1_024;

    /// <summary>EphemeralStorage.Size when CreateFunction does not set it.</summary>
    private const int DefaultEphemeralStorageMb = 512;

    [Fact]
    public Task Memory_over_MemorySize_kills_the_instance_with_Runtime_OutOfMemory_and_the_next_invoke_succeeds() => fixture.RunAsync(async scope =>
    {
        var name = scope.NewFunctionName();
        await CreateAsync(scope, name, FunctionZips.NodeLimits, NodeRuntime, "memory.handler", memorySize: 128, timeout: 30);

        // Without the cgroup's memory limit the host has room for 300 MB and this invoke would return
        // {"heldMb":300}; the buffers live outside V8's heap, so --max-old-space-size does not stop them.
        var response = await scope.Lambda.InvokeAsync(name, """{"mb":300}""");

        var error = ShouldFailUnhandled(response);
        Assert.Equal("Runtime.OutOfMemory", error.Str("errorType"));
        Assert.Matches(@"^RequestId: [0-9a-f-]{36} Error: Runtime exited with error: signal: killed$", error.Str("errorMessage"));

        // heldMb 1: a new instance, not the killed one with its 128 MB of buffers.
        JsonAssert.Equal("""{"allocatedMb":1,"heldMb":1}""", ShouldReturn(await scope.Lambda.InvokeAsync(name, """{"mb":1}""")));

        // As on Lambda, the RequestId in the message is the invocation's, which Invoke returns as x-amzn-RequestId.
        Assert.Equal($"RequestId: {response.Header("x-amzn-RequestId")} Error: Runtime exited with error: signal: killed", error.Str("errorMessage"));
    });

    [Fact]
    public Task Max_Memory_Used_in_REPORT_is_the_real_peak() => fixture.RunAsync(async scope =>
    {
        var big = scope.NewFunctionName();
        var small = scope.NewFunctionName();
        await CreateAsync(scope, big, FunctionZips.NodeLimits, NodeRuntime, "memory.handler", memorySize: 256, timeout: 30);
        await CreateAsync(scope, small, FunctionZips.NodeLimits, NodeRuntime, "memory.handler", memorySize: 256, timeout: 30);

        var bigResponse = await scope.Lambda.InvokeAsync(big, """{"mb":100}""", logType: "Tail");
        var smallResponse = await scope.Lambda.InvokeAsync(small, """{"mb":1}""", logType: "Tail");

        // A REPORT that printed a constant, the configured MemorySize or a figure not measured on the
        // instance's whole tree could not put the 100 MB function in [100, 256] and the 1 MB one below 100.
        ShouldReturn(bigResponse);
        ShouldReturn(smallResponse);
        var bigUsed = MaxMemoryUsedMb(bigResponse);
        var smallUsed = MaxMemoryUsedMb(smallResponse);
        Assert.True(bigUsed is >= 100 and <= 256, $"A function holding 100 MB of buffers should report 100-256 MB used; it reported {bigUsed} MB.{Environment.NewLine}{bigResponse}");
        Assert.True(smallUsed < 100, $"A function holding 1 MB should report far less than 100 MB used; it reported {smallUsed} MB.{Environment.NewLine}{smallResponse}");
    });

    [Fact]
    public Task Max_Memory_Used_without_a_log_tail_is_the_real_peak_in_REPORT_and_metering_alike() => fixture.RunAsync(async scope =>
    {
        // Without a log tail, Max Memory Used is read after the caller's answer: the REPORT line in the log group and the
        // invocation's metering row must still carry the same, measured figure (100 MB of buffers: 100-256).
        var name = scope.NewFunctionName();
        await CreateAsync(scope, name, FunctionZips.NodeLimits, NodeRuntime, "memory.handler", memorySize: 256, timeout: 30);
        var response = await scope.Lambda.InvokeAsync(name, """{"mb":100}""");
        ShouldReturn(response);
        var requestId = response.Header("x-amzn-RequestId")!;

        var aws = scope.Cli(AwsCli.V1);
        var deadline = Stopwatch.StartNew();
        Match? report = null;
        long? metered = null;
        while (report is null || metered is null)
        {
            Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(30), $"Expected the REPORT line and the metering row of {requestId} within 30 s; REPORT: {report?.Value}, metered: {metered}.");
            await Task.Delay(200);
            var logs = await aws.RunAsync(["logs", "filter-log-events", "--log-group-name", $"/aws/lambda/{name}"]);
            report ??= logs.ExitCode == 0
                ? logs.Json().Array("events").Select(e => MaxMemoryUsed().Match(e.Str("message"))).FirstOrDefault(m => m.Success && m.Value.Contains(requestId, StringComparison.Ordinal))
                : null;
            metered ??= MeteredMaxMemoryMb(scope.Server, requestId);
        }

        var reported = long.Parse(report.Groups["mb"].Value, CultureInfo.InvariantCulture);
        Assert.True(reported is >= 100 and <= 256, $"A function holding 100 MB of buffers should report 100-256 MB used; it reported {reported} MB: {report.Value}");
        Assert.Equal(reported, metered);
    });

    [Fact]
    public Task A_fork_bomb_stops_at_1024_processes() => fixture.RunAsync(async scope =>
    {
        var name = scope.NewFunctionName();
        await CreateAsync(scope, name, FunctionZips.PythonSandbox, PythonRuntime, "fork.handler", memorySize: 1024, timeout: 60);

        var result = ShouldReturn(await scope.Lambda.InvokeAsync(name, """{"max":2000}"""));

        // Without pids.max the handler reaches its own cap of 2,000 forks and reports no error. With it,
        // fork fails with EAGAIN once the instance's processes and threads (bwrap, the runtime and its
        // threads, the children) reach 1,024.
        Assert.True(result.At("error").ValueKind == JsonValueKind.String, $"fork should fail before 2,000 children: {result.GetRawText()}");
        Assert.Equal("EAGAIN", result.Str("error"));
        var forked = result.Num("forked");
        Assert.True(forked is > 900 and < MaxProcesses, $"fork should fail just short of {MaxProcesses} processes; it made {forked} children.");
    });

    [Fact]
    public Task A_function_cannot_hold_more_than_1024_open_files() => fixture.RunAsync(async scope =>
    {
        var name = scope.NewFunctionName();
        await CreateAsync(scope, name, FunctionZips.PythonSandbox, PythonRuntime, "files.handler", memorySize: 256, timeout: 30);

        var result = ShouldReturn(await scope.Lambda.InvokeAsync(name, """{"max":5000}"""));

        // Without the limit the handler reaches its own cap of 5,000 and reports no error (the host allows
        // far more). With it, open fails with EMFILE a few short of 1,024 (stdin/out/err and the runtime's own).
        Assert.Equal("EMFILE", result.Str("error"));
        var opened = result.Num("opened");
        Assert.True(opened is > 1000 and < 1024, $"open should fail just short of 1,024 descriptors; it opened {opened}.");
    });

    [Fact]
    public Task Timeout_kills_every_process_of_the_instance() => fixture.RunAsync(async scope =>
    {
        var name = scope.NewFunctionName();
        await CreateAsync(scope, name, FunctionZips.NodeLimits, NodeRuntime, "orphan.handler", memorySize: 128, timeout: 1);

        // `sleep 1000.<digits>`: a sleep no other process on this machine has on its command line.
        var marker = string.Create(CultureInfo.InvariantCulture, $"1000.{Random.Shared.NextInt64(100_000_000_000, 999_999_999_999)}");
        var payload = new JsonObject { ["marker"] = marker, ["spinMs"] = 20_000 }.ToJsonString();
        var invoke = scope.Lambda.InvokeAsync(name, payload);

        // The grandchild must exist while the invocation runs, or its absence afterwards proves nothing.
        var seen = false;
        var appearDeadline = Stopwatch.StartNew();
        while (!invoke.IsCompleted && appearDeadline.Elapsed < TimeSpan.FromSeconds(10))
        {
            if (HostProcessesWhoseCommandLineContains(marker).Count > 0)
            {
                seen = true;
                break;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(20));
        }

        var error = ShouldFailUnhandled(await invoke);
        Assert.Equal("Sandbox.Timedout", error.Str("errorType"));
        Assert.True(seen, $"The handler's detached `sleep {marker}` never showed up in /proc before the invocation ended.");

        // Killing only the runtime (or its process group) would leave the detached sleep running for 1,000 s.
        var left = await WaitUntilNoHostProcessContainsAsync(marker, TimeSpan.FromSeconds(5));
        Assert.True(left.Count == 0, $"5 s after the timeout these processes of the instance are still alive:{Environment.NewLine}{string.Join(Environment.NewLine, left)}");
    });

    [Fact]
    public Task An_idle_instance_is_frozen_and_uses_no_CPU() => fixture.RunAsync(async scope =>
    {
        var name = scope.NewFunctionName();

        // 1,769 MB is one full vCPU of weight, so other load on the machine cannot starve the running ticks below.
        await CreateAsync(scope, name, FunctionZips.NodeLimits, NodeRuntime, "ticks.handler", memorySize: 1769, timeout: 10);

        var first = ShouldReturn(await scope.Lambda.InvokeAsync(name, """{"ms":300}"""));

        // The idle period under test: the instance sits in the pool for 1.5 s between two invocations.
        await Task.Delay(TimeSpan.FromSeconds(1.5));
        var second = ShouldReturn(await scope.Lambda.InvokeAsync(name, """{"ms":0}"""));

        // The 1 ms interval does tick while the instance runs (a few hundred times in the first invoke's 300 ms on a
        // quiet machine; far fewer when other tests load both cores, which is why the proof below is a gap, not a count).
        var running = first.Num("after") - first.Num("before");
        Assert.True(running >= 10, $"The 1 ms interval should tick while an invocation runs; it ticked {running} times in 300 ms.");

        // ...but not while it is idle. Unfrozen, the interval keeps firing through the 1.5 s (every few ms, and at
        // worst every few tens of ms on a loaded machine); frozen, it stops from the freeze to the thaw, so the
        // longest gap between two ticks spans almost the whole idle period.
        var gap = second.Num("gapBeforeMs");
        Assert.True(gap >= 1_000, $"An idle instance should be frozen: its 1 ms interval should stop for most of 1.5 s of idleness, but the longest pause between ticks was {gap} ms.");
    });

    [Fact]
    public Task Tmp_is_private_and_capped_at_EphemeralStorage() => fixture.RunAsync(async scope =>
    {
        var filler = scope.NewFunctionName();
        var other = scope.NewFunctionName();

        // tmpfs pages count against the instance's memory: 1,024 MB leaves room for a full 512 MB /tmp.
        await CreateAsync(scope, filler, FunctionZips.PythonSandbox, PythonRuntime, "tmp.handler", memorySize: 1024, timeout: 60);
        await CreateAsync(scope, other, FunctionZips.PythonSandbox, PythonRuntime, "tmp.handler", memorySize: 128, timeout: 10);

        // Uncapped, the handler stops at its own 600 MB with no error (and the host's disk is spared).
        var fill = ShouldReturn(await scope.Lambda.InvokeAsync(filler, """{"action":"fill","path":"/tmp/fill","maxMb":600}"""));
        Assert.True(fill.At("errno").ValueKind == JsonValueKind.String, $"Writing to /tmp should fail before 600 MB: {fill.GetRawText()}");
        Assert.Equal("ENOSPC", fill.Str("errno"));
        var written = fill.Num("written_mb");
        Assert.True(written is >= 500 and <= DefaultEphemeralStorageMb, $"/tmp should fill up at {DefaultEphemeralStorageMb} MB; {written} MB fit.");

        // A shared /tmp (the host's, or one per function version) would show one function's file to the other.
        var marker = $"/tmp/marker-{Guid.NewGuid():N}";
        var touch = new JsonObject { ["action"] = "touch", ["path"] = marker }.ToJsonString();
        var exists = new JsonObject { ["action"] = "exists", ["path"] = marker }.ToJsonString();
        Assert.True(ShouldReturn(await scope.Lambda.InvokeAsync(filler, touch)).Bool("exists"), $"{filler} should see its own {marker}.");
        Assert.False(ShouldReturn(await scope.Lambda.InvokeAsync(other, exists)).Bool("exists"), $"{other} should not see {marker} written by {filler}.");
        Assert.False(File.Exists(marker), $"The host's /tmp should not see {marker} written by {filler}.");
    });

    private static async Task CreateAsync(TestScope scope, string name, string fixtureName, string runtime, string handler, int memorySize, int timeout)
    {
        var request = LambdaHttp.CreateFunctionRequest(name, FunctionZips.Build(fixtureName), runtime, handler);
        request["MemorySize"] = memorySize;
        request["Timeout"] = timeout;
        var result = await scope.Lambda.CreateFunctionAsync(request);
        Assert.True(result.StatusCode == 201, $"CreateFunction {name} should answer 201.{Environment.NewLine}{result}");
    }

    private static JsonElement ShouldReturn(HttpResult response)
    {
        Assert.True(response.StatusCode == 200 && response.Header("X-Amz-Function-Error") is null, $"Expected 200 without X-Amz-Function-Error.{Environment.NewLine}{response}");
        return response.Json();
    }

    private static JsonElement ShouldFailUnhandled(HttpResult response)
    {
        Assert.True(response.StatusCode == 200 && response.Header("X-Amz-Function-Error") == "Unhandled", $"Expected 200 with X-Amz-Function-Error: Unhandled.{Environment.NewLine}{response}");
        return response.Json();
    }

    private static long MaxMemoryUsedMb(HttpResult response)
    {
        var log = Encoding.UTF8.GetString(Convert.FromBase64String(response.Header("X-Amz-Log-Result") ?? ""));
        var match = MaxMemoryUsed().Matches(log).LastOrDefault();
        Assert.True(match is not null, $"Expected 'Max Memory Used: N MB' in the REPORT line.{Environment.NewLine}log:{Environment.NewLine}{log}");
        return long.Parse(match.Groups["mb"].Value, CultureInfo.InvariantCulture);
    }

    /// <summary>The max_memory_mb of the invocation's metering row (real SQLite, read-only); null before its batch is committed.</summary>
    private static long? MeteredMaxMemoryMb(NimbusServer server, string requestId)
    {
        var path = Path.Combine(server.DataDirectory, "metrics.db");
        if (!File.Exists(path))
        {
            return null;
        }

        using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString());
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT max_memory_mb FROM invocations WHERE request_id = $id;";
        command.Parameters.AddWithValue("$id", requestId);
        return command.ExecuteScalar() is long mb ? mb : null;
    }

    /// <summary>Host pids and command lines of every process whose command line contains <paramref name="text"/>.</summary>
    private static List<string> HostProcessesWhoseCommandLineContains(string text)
    {
        var found = new List<string>();
        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(directory), NumberStyles.None, CultureInfo.InvariantCulture, out _))
            {
                continue;
            }

            string commandLine;
            try
            {
                commandLine = File.ReadAllText(Path.Combine(directory, "cmdline")).Replace('\0', ' ');
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // The process exited while the directory was being read.
                continue;
            }

            if (commandLine.Contains(text, StringComparison.Ordinal))
            {
                found.Add($"{Path.GetFileName(directory)}: {commandLine}");
            }
        }

        return found;
    }

    private static async Task<List<string>> WaitUntilNoHostProcessContainsAsync(string text, TimeSpan timeout)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            var found = HostProcessesWhoseCommandLineContains(text);
            if (found.Count == 0 || deadline.Elapsed > timeout)
            {
                return found;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(50));
        }
    }

    [GeneratedRegex(@"REPORT RequestId: [^\n]*Max Memory Used: (?<mb>\d+) MB")]
    private static partial Regex MaxMemoryUsed();
}
