using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Nimbus.IntegrationTests;

/// <summary>
/// What a function can reach from inside its sandbox: not the server's files, not another function's code,
/// not the host's secrets or processes, and not its own code for writing. The server's files and pids are
/// first shown to exist on the host, so their absence inside is the sandbox's doing.
/// </summary>
public sealed class IsolationTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private const string PythonRuntime = "python3.11";
    private const string ProbeHandler = "probe.handler";

    /// <summary>The directory a version manager such as pyenv installs interpreters under, when python3 lives in /root.</summary>
    private const string PyenvDirectory = ".pyenv";

    [Fact]
    public Task A_function_runs_as_a_user_of_its_own_named_in_a_passwd_without_host_accounts() => fixture.RunAsync(async scope =>
    {
        var name = scope.NewFunctionName();
        await CreateAsync(scope, name, FunctionZips.PythonSandbox, "runtimeapi.whoami");

        var me = ShouldReturn(await scope.Lambda.InvokeAsync(name, "{}"));

        var uid = me.Num("uid");
        Assert.True(uid >= 20000, $"The runtime should not run as root or a host user; it ran as uid {uid}.");
        Assert.Equal($"sbx_user{uid}", me.Str("name"));
        Assert.Equal(["nobody", "root"], me.GetProperty("accounts").EnumerateArray().Select(a => a.GetString()!).ToArray());
    });

    [Fact]
    public Task A_function_cannot_take_another_instances_events_from_its_Runtime_API() => fixture.RunAsync(async scope =>
    {
        var victim = scope.NewFunctionName();
        var thief = scope.NewFunctionName();
        await CreateAsync(scope, victim, FunctionZips.PythonSandbox, "runtimeapi.own");
        await CreateAsync(scope, thief, FunctionZips.PythonSandbox, "runtimeapi.steal");
        var victimApi = ShouldReturn(await scope.Lambda.InvokeAsync(victim, "{}")).Str("runtimeApi");

        // The victim's instance now waits on /next at that address, on the loopback of its own network namespace (the
        // default, isolated, network mode): the thief, in a namespace of its own, cannot even connect. Were it let in,
        // its GET would get the victim's next event (or hang until one comes: "timeout"). With
        // NIMBUS_SANDBOX_NETWORK=host the owner check answers 403 instead: SandboxNetworkTests.
        var attempt = ShouldReturn(await scope.Lambda.InvokeAsync(thief, new JsonObject { ["runtimeApi"] = victimApi }.ToJsonString()));

        Assert.Equal("ConnectionRefusedError", attempt.Str("status"));
        Assert.Equal(victimApi, ShouldReturn(await scope.Lambda.InvokeAsync(victim, "{}")).Str("runtimeApi"));
    });

    [Fact]
    public Task A_function_cannot_see_the_data_directory_or_another_functions_code() => fixture.RunAsync(async scope =>
    {
        var probe = scope.NewFunctionName();
        var other = scope.NewFunctionName();
        await CreateAsync(scope, probe, FunctionZips.PythonSandbox, ProbeHandler);
        var otherCreated = await CreateAsync(scope, other, FunctionZips.Python, "lambda_function.lambda_handler");

        // An invoke makes sure the other function's code is unpacked on this node.
        ShouldReturn(await scope.Lambda.InvokeAsync(other, "{}"));
        var data = scope.Server.DataDirectory;
        var otherCode = Path.Combine(data, "code", "unpacked", Convert.ToHexStringLower(Convert.FromBase64String(otherCreated.Json().Str("CodeSha256"))));
        var metadata = Path.Combine(data, "metadata.db");
        var hostRootEntries = Directory.EnumerateFileSystemEntries("/root").ToList();
        string[] hostOnly = [data, otherCode, metadata, "/root/.ssh", "/home", "/etc/shadow", .. hostRootEntries];
        foreach (var path in (string[])[data, otherCode, metadata, "/etc/shadow"])
        {
            Assert.True(Path.Exists(path), $"{path} should exist on the host, or probing for it inside the sandbox proves nothing.");
        }

        var result = await ProbeAsync(scope, probe, new JsonObject
        {
            ["paths"] = new JsonArray([.. hostOnly.Append("/root").Select(path => (JsonNode)path)]),
            ["read"] = new JsonArray("/proc/1/environ"),
        });

        // Without the mount namespace every one of these host paths would exist inside the sandbox.
        foreach (var path in hostOnly.Where(path => !IsPyenv(path)))
        {
            var entry = result.At("paths").GetProperty(path);
            Assert.False(entry.Bool("exists") || entry.Bool("listable"), $"{path} should not be visible inside the sandbox: {entry.GetRawText()}");
        }

        // /root may exist only because the interpreter is installed under it (~/.pyenv/versions/X); then
        // nothing else of /root may be there.
        var root = result.At("paths").GetProperty("/root");
        if (root.Bool("exists"))
        {
            Assert.True(root.Bool("listable"), $"/root exists inside the sandbox but cannot be listed: {root.GetRawText()}");
            var entries = root.Array("entries").Select(entry => entry.GetString()!).ToList();
            Assert.True(entries.All(entry => entry == PyenvDirectory), $"/root inside the sandbox should hold at most {PyenvDirectory}; it holds {string.Join(", ", entries)}.");
        }

        // /proc is the sandbox's own: its pid 1 is the sandbox's, with this function's environment, not
        // the host's init. A /proc shared with the host would show the host's pid 1 here.
        var environ = result.At("read").GetProperty("/proc/1/environ");
        if (environ.Has("text"))
        {
            Assert.Contains($"AWS_LAMBDA_FUNCTION_NAME={probe}\0", environ.Str("text"), StringComparison.Ordinal);
        }
    });

    [Fact]
    public Task A_function_cannot_signal_processes_outside_its_sandbox() => fixture.RunAsync(async scope =>
    {
        var probe = scope.NewFunctionName();
        await CreateAsync(scope, probe, FunctionZips.PythonSandbox, ProbeHandler);
        var serverPid = ServerHostPid(scope.Server);
        var testPid = Environment.ProcessId;

        // Control: a process the probe does see, its sandbox's pid 1, is found ("ok", or EPERM if the
        // sandbox's pid 1 runs as another user), so ESRCH below is about where the pid lives.
        var control = (await ProbeAsync(scope, probe, new JsonObject { ["pid"] = 1 })).Str("kill");
        Assert.True(control is "ok" or "EPERM", $"os.kill(1, 0) inside the sandbox should find its pid 1; it answered {control}.");

        // Without the pid namespace both pids would be visible, and to a root sandbox signalable ("ok");
        // with it they do not exist inside (ESRCH), which is also why the kill cannot reach them.
        foreach (var (what, pid) in new[] { ("the server", serverPid), ("the test process", testPid) })
        {
            var procDirectory = string.Create(CultureInfo.InvariantCulture, $"/proc/{pid}");
            var result = await ProbeAsync(scope, probe, new JsonObject { ["pid"] = pid, ["paths"] = new JsonArray(procDirectory) });
            Assert.True(result.Str("kill") == "ESRCH", $"os.kill({pid}, 0) on {what} should fail with ESRCH inside the sandbox: {result.GetRawText()}");
            Assert.False(result.At("paths").GetProperty(procDirectory).Bool("exists"), $"{procDirectory} ({what}) should not exist inside the sandbox: {result.GetRawText()}");
        }
    });

    [Fact]
    public Task The_code_directory_is_read_only() => fixture.RunAsync(async scope =>
    {
        var probe = scope.NewFunctionName();
        var created = await CreateAsync(scope, probe, FunctionZips.PythonSandbox, ProbeHandler);

        var result = await ProbeAsync(scope, probe, new JsonObject { ["write"] = "/var/task/new.txt" });

        // A writable bind of the code directory would let the write succeed ("ok") and change the
        // content-addressed package every instance of every function with this code runs.
        Assert.True(result.Str("write") is "EROFS" or "EACCES", $"Opening /var/task/new.txt for writing should fail with EROFS or EACCES: {result.GetRawText()}");
        var code = Path.Combine(scope.Server.DataDirectory, "code", "unpacked", Convert.ToHexStringLower(Convert.FromBase64String(created.Json().Str("CodeSha256"))));
        Assert.False(File.Exists(Path.Combine(code, "new.txt")), $"{code}/new.txt should not exist on the host.");
    });

    private static bool IsPyenv(string path) => path == Path.Combine("/root", PyenvDirectory);

    private static async Task<HttpResult> CreateAsync(TestScope scope, string name, string fixtureName, string handler)
    {
        var result = await scope.Lambda.CreateFunctionAsync(LambdaHttp.CreateFunctionRequest(name, FunctionZips.Build(fixtureName), PythonRuntime, handler));
        Assert.True(result.StatusCode == 201, $"CreateFunction {name} should answer 201.{Environment.NewLine}{result}");
        return result;
    }

    private static async Task<JsonElement> ProbeAsync(TestScope scope, string name, JsonObject request) =>
        ShouldReturn(await scope.Lambda.InvokeAsync(name, request.ToJsonString()));

    private static JsonElement ShouldReturn(HttpResult response)
    {
        Assert.True(response.StatusCode == 200 && response.Header("X-Amz-Function-Error") is null, $"Expected 200 without X-Amz-Function-Error.{Environment.NewLine}{response}");
        return response.Json();
    }

    /// <summary>The host pid of <c>dotnet nimbusd.dll serve</c> on this server's data directory.</summary>
    internal static int ServerHostPid(NimbusServer server)
    {
        var found = new List<int>();
        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(directory), NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
            {
                continue;
            }

            string[] arguments;
            try
            {
                arguments = File.ReadAllText(Path.Combine(directory, "cmdline")).Split('\0');
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // The process exited while the directory was being read.
                continue;
            }

            if (arguments.Any(argument => argument.EndsWith("nimbusd.dll", StringComparison.Ordinal))
                && arguments.Contains("serve")
                && arguments.Contains(server.DataDirectory))
            {
                found.Add(pid);
            }
        }

        Assert.True(found.Count == 1, $"Expected one `nimbusd.dll serve --data {server.DataDirectory}` process; found {found.Count}.");
        return found[0];
    }
}
