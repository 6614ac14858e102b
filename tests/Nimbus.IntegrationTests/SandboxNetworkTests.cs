using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Nimbus.IntegrationTests;

/// <summary>
/// The network modes other than the default with slirp4netns, each on a small server of its own: isolated without
/// slirp4netns (instances stay isolated, without egress, and the start says what to install), and
/// <c>NIMBUS_SANDBOX_NETWORK=host</c> (instances share the host's network; what still contains them). The default mode
/// is what every other class runs in; its containment is proven in <see cref="HostileFunctionTests"/>.
/// </summary>
public sealed class SandboxNetworkTests
{
    private const string PythonRuntime = "python3.11";
    private const string Hostile = "hostile.handler";
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Without_slirp4netns_instances_stay_isolated_without_egress_and_the_start_says_what_to_install()
    {
        using var data = new TempDirectory("nimbus-it-noslirp");
        var missing = $"/nonexistent-{Guid.NewGuid():N}/slirp4netns";
        var server = await NimbusServer.StartAsync(data.Path, new Dictionary<string, string>
        {
            ["NIMBUS_SLIRP4NETNS"] = missing,
            ["NIMBUS_MAX_INSTANCES"] = "4",
            ["NIMBUS_PRESTART_POOL"] = "0",
        });
        try
        {
            await Failures.WithContextAsync(
                async () =>
                {
                    var output = server.DescribeOutput(2_000);
                    Assert.Contains($"slirp4netns ({missing}) is not installed", output, StringComparison.Ordinal);
                    Assert.Contains("Install slirp4netns (apt-get install slirp4netns)", output, StringComparison.Ordinal);
                    Assert.Contains("WITHOUT egress", output, StringComparison.Ordinal);

                    // A slot's namespace is made at its first use: a fresh server holds slot 0's alone, not one per slot.
                    var held = HeldNetworkNamespaces(server.ProcessId);
                    Assert.True(held.Count == 1, $"A fresh server of 4 slots should hold 1 network namespace (slot 0's), not {held.Count}: {string.Join(", ", held)}");

                    var lambda = new LambdaHttp(server.Http);
                    var name = $"e-{Guid.NewGuid():N}"[..20];
                    await CreateAsync(lambda, name, FunctionZips.PythonSandbox, Hostile);
                    var hostAddress = HostAddress.NonLoopback();
                    using var outside = new TcpListener(hostAddress, 0);
                    outside.Start();
                    using var loopback = new TcpListener(IPAddress.Loopback, 0);
                    loopback.Start();
                    var outsideTarget = $"{hostAddress}:{((IPEndPoint)outside.LocalEndpoint).Port}";
                    var result = Ok(await lambda.InvokeAsync(name, new JsonObject
                    {
                        ["connectTo"] = new JsonArray(new JsonArray(hostAddress.ToString(), ((IPEndPoint)outside.LocalEndpoint).Port)),
                        ["connectTcp"] = ((IPEndPoint)loopback.LocalEndpoint).Port,
                        ["httpGet"] = "/health",
                    }.ToJsonString()));

                    // No route out: a server on the host's address is unreachable (with slirp4netns it answers: HostileFunctionTests).
                    var reached = result.At("connectTo").GetProperty(outsideTarget).GetString();
                    Assert.True(reached is "ENETUNREACH" or "EHOSTUNREACH", $"Without slirp4netns an instance should have no route out: {result.GetRawText()}");

                    // Still isolated: the host's loopback is not the instance's; and the node's APIs answer on AWS_ENDPOINT_URL.
                    Assert.Equal("ECONNREFUSED", result.Str("connectTcp"));
                    Assert.StartsWith("200 ", result.Str("httpGet"), StringComparison.Ordinal);
                },
                () => server.DescribeOutput());
        }
        finally
        {
            await server.DisposeAsync();
        }
    }

    /// <summary>The network namespaces ("net:[inode]") the process <paramref name="pid"/> holds descriptors of.</summary>
    private static List<string> HeldNetworkNamespaces(int pid) =>
        [.. Directory.EnumerateFiles($"/proc/{pid}/fd")
            .Select(fd =>
            {
                try
                {
                    return new FileInfo(fd).LinkTarget;
                }
                catch (IOException)
                {
                    return null; // closed meanwhile
                }
            })
            .OfType<string>()
            .Where(target => target.StartsWith("net:[", StringComparison.Ordinal))
            .Distinct()];

    /// <summary>
    /// With <c>NIMBUS_SANDBOX_NETWORK=host</c> instances share the host's network: another instance can connect to an
    /// instance's Runtime API port but the owner check (the connection's uid) refuses it with 403; a port an instance
    /// listens on is reachable, but an idle instance is frozen and serves nothing on it, and the port closes with the
    /// instance; a connection to the node's main port holding half a request holds neither the invocation nor the server.
    /// </summary>
    [Fact]
    public async Task With_host_networks_the_runtime_api_owner_check_and_the_freezer_contain_what_the_namespace_would()
    {
        using var data = new TempDirectory("nimbus-it-hostnet");
        var server = await NimbusServer.StartAsync(data.Path, new Dictionary<string, string>
        {
            ["NIMBUS_SANDBOX_NETWORK"] = "host",
            ["NIMBUS_MAX_INSTANCES"] = "6",
            ["NIMBUS_PRESTART_POOL"] = "0",
        });
        try
        {
            await Failures.WithContextAsync(
                async () =>
                {
                    var output = server.DescribeOutput(2_000);
                    Assert.DoesNotContain("network namespaces of their own", output, StringComparison.Ordinal);
                    var lambda = new LambdaHttp(server.Http);
                    var victim = $"v-{Guid.NewGuid():N}"[..20];
                    var thief = $"t-{Guid.NewGuid():N}"[..20];
                    var holder = $"h-{Guid.NewGuid():N}"[..20];
                    var prober = $"p-{Guid.NewGuid():N}"[..20];
                    await CreateAsync(lambda, victim, FunctionZips.PythonSandbox, "runtimeapi.own");
                    await CreateAsync(lambda, thief, FunctionZips.PythonSandbox, "runtimeapi.steal");
                    await CreateAsync(lambda, holder, FunctionZips.PythonSandbox, Hostile);
                    await CreateAsync(lambda, prober, FunctionZips.PythonSandbox, Hostile);

                    // The Runtime API: on the host's loopback, reachable, but only the instance's own uid is served.
                    var victimApi = Ok(await lambda.InvokeAsync(victim, "{}")).Str("runtimeApi");
                    Assert.StartsWith("127.0.0.1:", victimApi, StringComparison.Ordinal);
                    var attempt = Ok(await lambda.InvokeAsync(thief, new JsonObject { ["runtimeApi"] = victimApi }.ToJsonString()));
                    Assert.Equal(403, attempt.Num("status"));
                    Assert.Equal(victimApi, Ok(await lambda.InvokeAsync(victim, "{}")).Str("runtimeApi"));

                    // A listening socket and a connection to the node's main port with half a request, kept past the invocation.
                    var marker = $"/tmp/holder-{Guid.NewGuid():N}";
                    var held = Ok(await lambda.InvokeAsync(holder, new JsonObject
                    {
                        ["listenTcp"] = "leaked",
                        ["hold"] = new JsonArray("127.0.0.1", server.EndpointUri.Port),
                        ["leave"] = new JsonObject { ["files"] = new JsonArray(marker) },
                    }.ToJsonString()));
                    Assert.Equal("ok", held.Str("hold"));
                    var port = held.Num("port");

                    // The host's network: the port exists for everyone; but the idle holder is frozen and serves nothing on it.
                    var holderPid = HostileFunctionTests.RuntimePidWithFile(marker);
                    await WaitUntilAsync(() => PrestartTests.IsFrozen(holderPid), "the idle holder instance to be frozen");
                    var whileIdle = Ok(await lambda.InvokeAsync(prober, new JsonObject { ["connectTcp"] = port }.ToJsonString())).Str("connectTcp");
                    Assert.True(whileIdle is "no answer" or "timeout", $"A frozen instance should answer nothing on its port {port}; the prober got {whileIdle}.");

                    // The sockets die with the instance: once the function is deleted, the port is closed.
                    var deleted = await lambda.DeleteFunctionAsync(holder);
                    Assert.True(deleted.StatusCode == 204, $"DeleteFunction should answer 204.{Environment.NewLine}{deleted}");
                    await WaitUntilAsync(
                        async () => Ok(await lambda.InvokeAsync(prober, new JsonObject { ["connectTcp"] = port }.ToJsonString())).Str("connectTcp") == "ECONNREFUSED",
                        $"port {port} to close with its instance (the prober to get ECONNREFUSED)");
                    await WaitUntilAsync(() => !PrestartTests.IsAlive(holderPid), $"the deleted function's runtime (host pid {holderPid}) to be gone");
                    Assert.Equal(victimApi, Ok(await lambda.InvokeAsync(victim, "{}")).Str("runtimeApi"));
                },
                () => server.DescribeOutput());
        }
        finally
        {
            await server.DisposeAsync();
        }
    }

    /// <summary>
    /// A first run as an ordinary user (nobody): isolated networks need root, so the default falls back to host networks,
    /// loudly (the warning and the banner say what instances can reach and to run as root), and functions run.
    /// </summary>
    [Fact]
    public async Task An_ordinary_users_first_run_falls_back_to_host_networks_loudly_and_runs_functions()
    {
        using var data = new TempDirectory("nimbus-it-nobody");
        var server = await NimbusServer.StartAsync(data.Path, AsNobody(data, new Dictionary<string, string> { ["NIMBUS_MAX_INSTANCES"] = "2" }));
        try
        {
            await Failures.WithContextAsync(
                async () =>
                {
                    Assert.Contains($"Uid:\t{Nobody}\t", await File.ReadAllTextAsync($"/proc/{server.ProcessId}/status"), StringComparison.Ordinal);
                    var output = server.DescribeOutput(2_000);
                    Assert.Contains("SandboxNetworkSelector[8200]", output, StringComparison.Ordinal);
                    Assert.Contains("the default Nimbus:SandboxNetwork=isolated fell back to host", output, StringComparison.Ordinal);
                    Assert.Contains("network: host (not root: instances share this machine's network; run as root for isolated networks)", output, StringComparison.Ordinal);
                    Assert.Contains("[8201]", output, StringComparison.Ordinal);

                    var lambda = new LambdaHttp(server.Http);
                    var name = $"n-{Guid.NewGuid():N}"[..20];
                    var created = await lambda.CreateFunctionAsync(name, FunctionZips.Build(FunctionZips.NodeCjs), "nodejs20.x", "index.handler", timeout: 30);
                    Assert.True(created.StatusCode == 201, $"CreateFunction should answer 201.{Environment.NewLine}{created}");
                    var result = Ok(await lambda.InvokeAsync(name, """{"name":"first run"}"""));
                    Assert.Equal("first run", result.Str("name"));
                    Assert.Equal(1, result.Num("count"));
                },
                () => server.DescribeOutput());
        }
        finally
        {
            await server.DisposeAsync();
        }
    }

    [Fact]
    public async Task An_ordinary_user_asking_for_isolated_networks_explicitly_is_refused_with_what_to_do()
    {
        using var data = new TempDirectory("nimbus-it-nobody-isolated");
        var run = await NimbusServer.RunUntilExitAsync(data.Path, AsNobody(data, new Dictionary<string, string> { ["NIMBUS_SANDBOX_NETWORK"] = "isolated" }));
        ShutdownTests.AssertFailedStart(run, 1,
            "Nimbus:SandboxNetwork is 'isolated'", "may not create network namespaces", "Run Nimbus as root", "set NIMBUS_SANDBOX_NETWORK=host");
    }

    private const int Nobody = 65534;

    /// <summary>
    /// The launcher's <c>exec dotnet nimbusd.dll serve</c> run as the user nobody: a <c>dotnet</c> first on PATH that
    /// drops to it with setpriv (the launcher itself, and a build it may start, stay as they are). The data directory
    /// becomes nobody's, as an ordinary user's own directory is.
    /// </summary>
    private static Dictionary<string, string> AsNobody(TempDirectory data, Dictionary<string, string> environment)
    {
        var path = Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin:/bin";
        var dotnet = path.Split(':', StringSplitOptions.RemoveEmptyEntries).Select(d => Path.Combine(d, "dotnet")).First(File.Exists);
        var bin = Path.Combine(data.Path, "bin");
        var home = Path.Combine(data.Path, "data");
        Directory.CreateDirectory(bin);
        Directory.CreateDirectory(home);
        var wrapper = Path.Combine(bin, "dotnet");
        File.WriteAllText(wrapper, $$"""
            #!/bin/sh
            case "$1" in
              *nimbusd.dll) exec setpriv --reuid={{Nobody}} --regid={{Nobody}} --clear-groups env HOME={{home}} {{dotnet}} "$@" ;;
            esac
            exec {{dotnet}} "$@"

            """);
        File.SetUnixFileMode(wrapper, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
            | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
        using (var chown = Process.Start("chown", ["-R", $"{Nobody}:{Nobody}", data.Path])!)
        {
            chown.WaitForExit();
            Assert.Equal(0, chown.ExitCode);
        }

        environment["PATH"] = bin + ":" + path;
        return environment;
    }

    private static async Task CreateAsync(LambdaHttp lambda, string name, string fixture, string handler)
    {
        var request = LambdaHttp.CreateFunctionRequest(name, FunctionZips.Build(fixture), PythonRuntime, handler);
        request["Timeout"] = 10;
        var created = await lambda.CreateFunctionAsync(request);
        Assert.True(created.StatusCode == 201, $"CreateFunction {name} should answer 201.{Environment.NewLine}{created}");
    }

    private static JsonElement Ok(HttpResult response)
    {
        Assert.True(response.StatusCode == 200 && response.Header("X-Amz-Function-Error") is null, $"Expected 200 without a function error.{Environment.NewLine}{response}");
        return response.Json();
    }

    private static Task WaitUntilAsync(Func<bool> condition, string what) => WaitUntilAsync(() => Task.FromResult(condition()), what);

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, string what)
    {
        var clock = Stopwatch.StartNew();
        while (!await condition())
        {
            Assert.True(clock.Elapsed < Deadline, $"Timed out after {Deadline.TotalSeconds} s waiting for {what}.");
            await Task.Delay(TimeSpan.FromMilliseconds(200));
        }
    }
}
