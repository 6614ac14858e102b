using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Nimbus.IntegrationTests;

/// <summary>
/// Cold starts from pre-started runtimes: a new function's first invoke runs in a runtime process that was
/// already running before the function existed, and inside it the function sees exactly what a freshly started
/// instance would see: its own code read-only at /var/task, its own environment and nothing of the pool's.
/// Whether a process was pre-started is read from its own age, which is exact: a process older than the whole
/// create-and-invoke exchange cannot have been started for it.
/// </summary>
[Collection(Name)]
public sealed class PrestartTests
{
    /// <summary>Own collection: these tests start their own servers, whose pools no other test drains.</summary>
    public const string Name = "prestart";

    private const string Role = "arn:aws:iam::000000000000:role/nimbus-tests";

    /// <summary>How long a pre-started runtime must have existed before the test creates its function.</summary>
    private static readonly TimeSpan PrestartedAge = TimeSpan.FromSeconds(3);

    private static readonly TimeSpan PoolDeadline = TimeSpan.FromSeconds(60);

    [Theory]
    [InlineData("nodejs20.x", "index.handler", "bootstrap.js")]
    [InlineData("python3.12", "lambda_function.lambda_handler", "bootstrap.py")]
    public Task A_new_function_runs_in_a_runtime_started_before_it_existed_and_sees_only_its_own_code_and_environment(string runtime, string handler, string bootstrap) =>
        WithServerAsync(null, async (server, lambda) =>
        {
            await WaitForPrestartedAsync(server, bootstrap);
            var name = NewName();
            var (report, elapsed) = await CreateAndInvokeAsync(lambda, name, runtime, handler, new JsonObject { ["GREETING"] = "hello" });

            Assert.True(report.GetProperty("processAgeSeconds").GetDouble() > elapsed.TotalSeconds,
                $"The first invoke should run in a pre-started runtime, older than the {elapsed.TotalSeconds:F3} s from CreateFunction to the answer: {report.GetRawText()}");
            Assert.Equal("/var/task", report.Str("cwd"));
            Assert.Equal(["index.js", "lambda_function.py", "preload.js"], report.Array("files").Select(f => f.GetString()!).ToArray());
            Assert.True(report.Str("write") is "EROFS" or "EACCES", $"/var/task should be read-only: {report.GetRawText()}");

            var environment = report.At("environment");
            Assert.Equal("hello", environment.Str("GREETING"));
            Assert.Equal(name, environment.Str("AWS_LAMBDA_FUNCTION_NAME"));
            Assert.Equal("/var/task", environment.Str("LAMBDA_TASK_ROOT"));
            Assert.Equal("128", environment.Str("AWS_LAMBDA_FUNCTION_MEMORY_SIZE"));
            Assert.False(environment.TryGetProperty("_NIMBUS_PRESTARTED", out _), $"The pool's own variables should not reach the function: {environment.GetRawText()}");
        });

    [Fact]
    public Task A_new_dotnet_function_runs_in_a_NET_host_started_before_it_existed_and_sees_only_its_own_code_and_environment() =>
        WithServerAsync(null, async (server, lambda) =>
        {
            await WaitForPrestartedAsync(server, "Nimbus.Runtime.Dotnet.dll");
            var name = NewName();
            var (report, elapsed) = await CreateAndInvokeAsync(lambda, name, "dotnet8", "DotnetFunction::DotnetFunction.Functions::Prestart",
                new JsonObject { ["GREETING"] = "hello" }, FunctionZips.DotnetFunction);

            Assert.True(report.GetProperty("processAgeSeconds").GetDouble() > elapsed.TotalSeconds,
                $"The first invoke should run in a pre-started host, older than the {elapsed.TotalSeconds:F3} s from CreateFunction to the answer: {report.GetRawText()}");
            Assert.Equal("/var/task", report.Str("cwd"));
            Assert.Contains("DotnetFunction.dll", report.Array("files").Select(f => f.GetString()!));
            Assert.True(report.Str("write") is "EROFS" or "EACCES", $"/var/task should be read-only: {report.GetRawText()}");

            var environment = report.At("environment");
            Assert.Equal("hello", environment.Str("GREETING"));
            Assert.Equal(name, environment.Str("AWS_LAMBDA_FUNCTION_NAME"));
            Assert.Equal("AWS_Lambda_dotnet8", environment.Str("AWS_EXECUTION_ENV"));
            Assert.False(environment.TryGetProperty("_NIMBUS_PRESTARTED", out _), $"The pool's own variables should not reach the function: {environment.GetRawText()}");
        });

    /// <summary>
    /// Java's shape joins the pool on demand: the first Java cold start is a fresh JVM and starts a pre-started one
    /// beside it, which the next Java function becomes, its classes loaded into a fresh class loader and
    /// System.getenv() seeing the function's environment.
    /// </summary>
    [Fact]
    public Task A_new_java_function_runs_in_a_JVM_started_before_it_existed_and_sees_only_its_own_code_and_environment() =>
        WithServerAsync(null, async (server, lambda) =>
        {
            // Both java17: pre-started runtimes are kept per interpreter, and java21 runs on another JVM where the node has one
            // of 21 or newer (RuntimeVersionTests).
            var (first, firstElapsed) = await CreateAndInvokeAsync(lambda, NewName(), "java17", "example.Prestart::handle", [], FunctionZips.JavaFunction);
            Assert.True(first.GetProperty("processAgeSeconds").GetDouble() < firstElapsed.TotalSeconds, $"The first Java cold start should be a fresh JVM: {first.GetRawText()}");
            await WaitForPrestartedAsync(server, "nimbus.runtime.Bootstrap");

            var name = NewName();
            var (report, elapsed) = await CreateAndInvokeAsync(lambda, name, "java17", "example.Prestart::handle", new JsonObject { ["GREETING"] = "hello" }, FunctionZips.JavaFunction);

            Assert.True(report.GetProperty("processAgeSeconds").GetDouble() > elapsed.TotalSeconds,
                $"The invoke should run in a pre-started JVM, older than the {elapsed.TotalSeconds:F3} s from CreateFunction to the answer: {report.GetRawText()}");
            Assert.Equal("/var/task", report.Str("cwd"));
            Assert.Equal(["example", "lib"], report.Array("files").Select(f => f.GetString()!).ToArray());
            Assert.True(report.Str("write") is "EROFS" or "EACCES", $"/var/task should be read-only: {report.GetRawText()}");
            Assert.Equal("hello", report.Str("greetingAtClassLoad"));

            var environment = report.At("environment");
            Assert.Equal("hello", environment.Str("GREETING"));
            Assert.Equal(name, environment.Str("AWS_LAMBDA_FUNCTION_NAME"));
            Assert.Equal("AWS_Lambda_java17", environment.Str("AWS_EXECUTION_ENV"));
            Assert.False(environment.TryGetProperty("_NIMBUS_PRESTARTED", out _), $"The pool's own variables should not reach the function: {environment.GetRawText()}");
        });

    /// <summary>
    /// A pre-started runtime loads on CPU time nothing else wants (the lowest weight: v1 cpu.shares 2, v2 cpu.weight 1), so
    /// refilling the pool does not slow the cold start being served; the function it becomes gets its full share back
    /// (128 MB: 74 shares, weight 7).
    /// </summary>
    [Fact]
    public Task A_pre_started_runtime_waits_at_the_lowest_CPU_weight_and_the_instance_it_becomes_gets_its_functions_weight() =>
        WithServerAsync(null, async (server, lambda) =>
        {
            await WaitForPrestartedAsync(server, "bootstrap.js");
            var before = PrestartedPids(server, "bootstrap.js");
            Assert.NotEmpty(before);
            Assert.All(before, pid => Assert.Equal(LowestCpuWeight, CpuWeightOf(pid)));

            var (report, elapsed) = await CreateAndInvokeAsync(lambda, NewName(), "nodejs20.x", "index.handler", []);
            Assert.True(report.GetProperty("processAgeSeconds").GetDouble() > elapsed.TotalSeconds, $"The invoke should run in a pre-started runtime: {report.GetRawText()}");

            // The runtime the function took is the one of the earlier ones that left the lowest weight (each sandbox has two
            // bwrap processes, in the same cgroup).
            var weights = before.Where(IsAlive).GroupBy(CpuCgroupOf).ToDictionary(g => g.Key, g => CpuWeightOf(g.First()));
            var specialized = Assert.Single(weights, w => w.Value != LowestCpuWeight);
            Assert.Equal(FunctionCpuWeight, specialized.Value);
        });

    /// <summary>
    /// Pre-started runtimes hold Runtime API slots, but never the ones instances need: with 4 slots and a pool of 4 they
    /// leave one free, and four instances of a function that needs fresh processes (NODE_OPTIONS) running at once take
    /// the rest from the pool. Not a fix: it guards the slot budget now that pools are deeper.
    /// </summary>
    [Fact]
    public Task Instances_running_at_once_take_every_slot_the_pool_holds() => WithServerAsync(
        new() { ["NIMBUS_MAX_INSTANCES"] = "4", ["NIMBUS_PRESTART_POOL"] = "4" },
        async (server, lambda) =>
        {
            // Three of the four slots pooled (loaded or loading): one left free for instances.
            await WaitUntilAsync(async () => (await PooledAsync(server)) == 3, "three pre-started runtimes");
            await Task.Delay(TimeSpan.FromSeconds(1));
            Assert.Equal(3, await PooledAsync(server));
            var name = NewName();
            var request = LambdaHttp.CreateFunctionRequest(name, FunctionZips.Build(FunctionZips.NodeBehaviours), "nodejs20.x", "barrier.handler");
            request["Role"] = Role;
            request["Timeout"] = 30;
            request["Environment"] = new JsonObject { ["Variables"] = new JsonObject { ["NODE_OPTIONS"] = "--max-http-header-size=16384" } };
            Assert.Equal(201, (await lambda.CreateFunctionAsync(request)).StatusCode);

            var calls = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => lambda.InvokeAsync(name, """{"ms":3000}""")));

            Assert.All(calls, call => Assert.True(call.StatusCode == 200 && call.Header("X-Amz-Function-Error") is null, call.ToString()));
            Assert.Equal(4, calls.Select(call => call.Json().Str("instance")).Distinct().Count());
        });

    private static async Task<double> PooledAsync(NimbusServer server)
    {
        using var response = await server.Http.GetAsync(new Uri("/metrics", UriKind.Relative));
        response.EnsureSuccessStatusCode();
        return PrometheusText.Parse(await response.Content.ReadAsStringAsync()).Samples("nimbus_prestart_runtimes").Sum(s => s.Value);
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, string what)
    {
        var deadline = Stopwatch.StartNew();
        while (!await condition())
        {
            Assert.True(deadline.Elapsed < PoolDeadline, $"Timed out after {PoolDeadline.TotalSeconds} s waiting for {what}.");
            await Task.Delay(TimeSpan.FromMilliseconds(100));
        }
    }

    private static bool CgroupV1 => Directory.Exists("/sys/fs/cgroup/freezer");

    private static int LowestCpuWeight => CgroupV1 ? 2 : 1;

    /// <summary>A 128 MB function's CPU weight: 1024 x 128 / 1769 shares on v1, 100 x 128 / 1769 on v2.</summary>
    private static int FunctionCpuWeight => CgroupV1 ? 74 : 7;

    private static string CpuCgroupOf(int pid) =>
        File.ReadLines($"/proc/{pid}/cgroup").Select(line => line.Split(':', 3)).First(parts => parts.Length == 3 && (parts[1].Split(',').Contains("cpu") || (!CgroupV1 && parts[0] == "0")))[2];

    /// <summary>cpu.shares (v1) or cpu.weight (v2) of the cgroup <paramref name="pid"/> is in.</summary>
    private static int CpuWeightOf(int pid)
    {
        foreach (var parts in File.ReadLines($"/proc/{pid}/cgroup").Select(line => line.Split(':', 3)).Where(parts => parts.Length == 3))
        {
            var relative = parts[2].TrimStart('/');
            if (parts[1].Split(',').Contains("cpu"))
            {
                return int.Parse(File.ReadAllText(Path.Combine("/sys/fs/cgroup/cpu", relative, "cpu.shares")).Trim(), CultureInfo.InvariantCulture);
            }

            if (!CgroupV1 && parts[0] == "0")
            {
                return int.Parse(File.ReadAllText(Path.Combine("/sys/fs/cgroup", relative, "cpu.weight")).Trim(), CultureInfo.InvariantCulture);
            }
        }

        throw new InvalidOperationException($"Process {pid} is in no cpu cgroup.");
    }

    [Fact]
    public Task A_function_that_sets_NODE_OPTIONS_gets_a_fresh_process_that_honours_them() => WithServerAsync(null, async (server, lambda) =>
    {
        await WaitForPrestartedAsync(server, "bootstrap.js");
        var (report, elapsed) = await CreateAndInvokeAsync(lambda, NewName(), "nodejs20.x", "index.handler",
            new JsonObject { ["NODE_OPTIONS"] = "--require /var/task/preload.js" });

        // Node reads NODE_OPTIONS only when it starts: a pre-started process would silently ignore it.
        Assert.True(report.Bool("preloaded"), $"NODE_OPTIONS --require should have run preload.js: {report.GetRawText()}");
        Assert.True(report.GetProperty("processAgeSeconds").GetDouble() < elapsed.TotalSeconds, $"The process should have been started for this function: {report.GetRawText()}");
    });

    [Fact]
    public Task With_PrestartPool_0_each_cold_start_is_a_fresh_process() => WithServerAsync(new() { ["NIMBUS_PRESTART_POOL"] = "0" }, async (server, lambda) =>
    {
        var (report, elapsed) = await CreateAndInvokeAsync(lambda, NewName(), "nodejs20.x", "index.handler", []);

        Assert.True(report.GetProperty("processAgeSeconds").GetDouble() < elapsed.TotalSeconds, $"The process should have been started for this function: {report.GetRawText()}");
        Assert.Empty(PrestartedProcesses(server, "bootstrap"));
    });

    [Fact]
    public async Task A_killed_server_leaves_no_mounts_and_no_frozen_instance_behind()
    {
        using var data = new TempDirectory("nimbus-it-prestart");
        var server = await NimbusServer.StartAsync(data.Path);
        try
        {
            await Failures.WithContextAsync(
                async () =>
                {
                    await WaitForPrestartedAsync(server, "bootstrap.js");
                    await CreateAndInvokeAsync(new LambdaHttp(server.Http), NewName(), "nodejs20.x", "index.handler", []);
                    await WaitForPrestartedAsync(server, "bootstrap.js", minimum: 2);

                    // The invoked instance idles frozen: a frozen process acts on no signal, bwrap's death signal included.
                    var sandboxes = ShutdownTests.SandboxPids(server.DataDirectory);
                    await WaitUntilAsync(() => sandboxes.Any(IsFrozen), "the idle instance to be frozen");

                    Process.GetProcessById(server.ProcessId).Kill();
                    Assert.True(await server.WaitForExitAsync(TimeSpan.FromSeconds(30)), "The killed server should exit.");

                    // Code is mounted into running sandboxes from the server's own mount namespace, which dies
                    // with it: nothing stays mounted under the data directory in the host's.
                    var leftovers = File.ReadLines("/proc/self/mountinfo").Where(line => line.Contains(data.Path, StringComparison.Ordinal)).ToList();
                    Assert.True(leftovers.Count == 0, $"Mounts left under {data.Path}:{Environment.NewLine}{string.Join(Environment.NewLine, leftovers)}");
                    await WaitUntilAsync(() => !sandboxes.Any(IsAlive), $"every sandbox of the killed server ({string.Join(", ", sandboxes)}) to be gone");
                },
                () => server.DescribeOutput());
        }
        finally
        {
            await server.DisposeAsync();
        }
    }

    private static async Task WaitUntilAsync(Func<bool> condition, string what)
    {
        var deadline = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(deadline.Elapsed < PoolDeadline, $"Timed out after {PoolDeadline.TotalSeconds} s waiting for {what}.");
            await Task.Delay(TimeSpan.FromMilliseconds(100));
        }
    }

    /// <summary>Stopped by the cgroup freezer: v1 reports it in freezer.state, v2 in cgroup.events.</summary>
    internal static bool IsFrozen(int pid)
    {
        try
        {
            foreach (var parts in File.ReadLines($"/proc/{pid}/cgroup").Select(line => line.Split(':', 3)).Where(parts => parts.Length == 3))
            {
                var relative = parts[2].TrimStart('/');
                if (parts[1].Split(',').Contains("freezer"))
                {
                    return File.ReadAllText(Path.Combine("/sys/fs/cgroup/freezer", relative, "freezer.state")).Trim() == "FROZEN";
                }

                if (parts[0] == "0" && parts[1].Length == 0 && File.Exists(Path.Combine("/sys/fs/cgroup", relative, "cgroup.events")))
                {
                    return File.ReadLines(Path.Combine("/sys/fs/cgroup", relative, "cgroup.events")).Contains("frozen 1");
                }
            }

            return false;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    internal static bool IsAlive(int pid)
    {
        try
        {
            return !File.ReadAllText($"/proc/{pid}/stat").Contains(") Z ", StringComparison.Ordinal);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    private static async Task WithServerAsync(Dictionary<string, string>? environment, Func<NimbusServer, LambdaHttp, Task> test)
    {
        using var data = new TempDirectory("nimbus-it-prestart");
        var server = await NimbusServer.StartAsync(data.Path, environment);
        try
        {
            await Failures.WithContextAsync(() => test(server, new LambdaHttp(server.Http)), () => server.DescribeOutput());
        }
        finally
        {
            await server.DisposeAsync();
        }
    }

    private static async Task<(JsonElement Report, TimeSpan Elapsed)> CreateAndInvokeAsync(LambdaHttp lambda, string name, string runtime, string handler, JsonObject variables, string fixture = FunctionZips.Prestart)
    {
        var request = LambdaHttp.CreateFunctionRequest(name, FunctionZips.Build(fixture), runtime, handler);
        request["Role"] = Role;
        request["Environment"] = new JsonObject { ["Variables"] = variables };
        var clock = Stopwatch.StartNew();
        var created = await lambda.CreateFunctionAsync(request);
        Assert.True(created.StatusCode == 201, $"CreateFunction {name} should answer 201.{Environment.NewLine}{created}");
        var response = await lambda.InvokeAsync(name, "{}");
        var elapsed = clock.Elapsed;
        Assert.True(response.StatusCode == 200 && response.Header("X-Amz-Function-Error") is null, $"Expected 200 without X-Amz-Function-Error.{Environment.NewLine}{response}");
        return (response.Json(), elapsed);
    }

    /// <summary>Waits until <paramref name="minimum"/> pre-started sandboxes of this runtime have run for <see cref="PrestartedAge"/>.</summary>
    private static async Task WaitForPrestartedAsync(NimbusServer server, string bootstrap, int minimum = 1)
    {
        var deadline = Stopwatch.StartNew();
        while (PrestartedProcesses(server, bootstrap).Count(age => age >= PrestartedAge) < minimum)
        {
            Assert.True(deadline.Elapsed < PoolDeadline, $"No pre-started {bootstrap} runtime has been running for {PrestartedAge.TotalSeconds} s after {PoolDeadline.TotalSeconds} s.");
            await Task.Delay(TimeSpan.FromMilliseconds(100));
        }
    }

    /// <summary>Ages of the bubblewrap processes of this server's pre-started sandboxes (used or not).</summary>
    private static List<TimeSpan> PrestartedProcesses(NimbusServer server, string bootstrap) => [.. PrestartedBwraps(server, bootstrap).Select(p => p.Age)];

    /// <summary>Pids of the bubblewrap processes of this server's pre-started sandboxes (used or not).</summary>
    private static List<int> PrestartedPids(NimbusServer server, string bootstrap) => [.. PrestartedBwraps(server, bootstrap).Select(p => p.Pid)];

    private static List<(int Pid, TimeSpan Age)> PrestartedBwraps(NimbusServer server, string bootstrap)
    {
        var slots = Path.Combine(server.DataDirectory, "prestart") + "/";
        var uptime = double.Parse(File.ReadAllText("/proc/uptime").Split(' ')[0], CultureInfo.InvariantCulture);
        var ages = new List<(int, TimeSpan)>();
        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(directory), NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
            {
                continue;
            }

            try
            {
                var arguments = File.ReadAllText(Path.Combine(directory, "cmdline")).Split('\0');
                if (arguments.Length == 0 || Path.GetFileName(arguments[0]) != "bwrap"
                    || !arguments.Any(a => a.StartsWith(slots, StringComparison.Ordinal)) || !arguments.Any(a => a.Contains(bootstrap, StringComparison.Ordinal)))
                {
                    continue;
                }

                // Field 22 of stat, after the parenthesised command: start time in clock ticks (100 per second on Linux).
                var stat = File.ReadAllText(Path.Combine(directory, "stat"));
                var startTicks = long.Parse(stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[19], CultureInfo.InvariantCulture);
                ages.Add((pid, TimeSpan.FromSeconds(uptime - (startTicks / 100.0))));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // The process exited while it was being read.
            }
        }

        return ages;
    }

    private static string NewName() => $"t-{Guid.NewGuid():N}"[..20];
}
