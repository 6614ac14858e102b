using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Nimbus.IntegrationTests;

/// <summary>
/// Hostile functions (issue 10, "Isolation, proven"): each test runs a function that tries to get out of its
/// sandbox or to harm the server or another function, asserts what it got, and asserts that a benign function
/// still answers correctly. What <see cref="IsolationTests"/> and <see cref="LimitTests"/> prove one limit at a
/// time (the data directory, another function's code, the memory, process, file and /tmp limits) is not
/// repeated here; the bombs are set off together instead, with the benign function called while they run.
/// Every host path or process an attack aims at is first shown to exist, so its absence inside is the sandbox's
/// doing.
/// </summary>
// Serial: fork, memory and disk bombs load the whole machine.
[Collection(SerialCollectionDefinition.Name)]
public sealed class HostileFunctionTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private const string PythonRuntime = "python3.11";
    private const string NodeRuntime = "nodejs20.x";
    private const string Hostile = "hostile.handler";

    /// <summary>errno names that mean "refused": the path is not there, read-only, or not ours.</summary>
    private static readonly string[] Refused = ["ENOENT", "EROFS", "EACCES", "EPERM"];

    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    [Fact]
    public Task A_function_cannot_read_the_servers_keys_and_databases_or_its_environment() => fixture.RunAsync(async scope =>
    {
        var name = scope.NewFunctionName();
        await CreateAsync(scope, name, FunctionZips.PythonSandbox, PythonRuntime, Hostile);
        var data = scope.Server.DataDirectory;
        var secrets = new[] { "secrets.key", "iam.db", "metadata.db", "root-credentials" }
            .Select(file => Path.Combine(data, file))
            .Where(File.Exists)
            .ToList();
        Assert.Contains(Path.Combine(data, "secrets.key"), secrets);
        Assert.Contains(Path.Combine(data, "iam.db"), secrets);

        // The direct paths, and the ways round a mount namespace that work where /proc is the host's.
        string[] attempts = [.. secrets, .. secrets.Select(path => "/proc/1/root" + path), .. secrets.Select(path => "/proc/self/root" + path), "/etc/shadow", "/proc/1/root/etc/shadow"];
        var result = Ok(await scope.Lambda.InvokeAsync(name, new JsonObject
        {
            ["read"] = new JsonArray([.. attempts.Select(path => (JsonNode)path)]),
            ["find"] = new JsonObject { ["environment"] = new JsonArray("NIMBUS_ROOT_ACCESS_KEY_ID", "NIMBUS_ROOT_SECRET_ACCESS_KEY", "NIMBUS_DATA") },
        }.ToJsonString()));

        foreach (var path in attempts)
        {
            Assert.True(Refused.Contains(Outcome(result, "read", path)), $"Reading {path} inside the sandbox should be refused: {result.GetRawText()}");
        }

        // The test server starts with its root key in its environment; none of the server's variables reach a function.
        Assert.Empty(result.At("found").Array("environment"));
        await AssertBenignAnswersAsync(scope);
    });

    [Fact]
    public Task A_function_cannot_write_outside_tmp() => fixture.RunAsync(async scope =>
    {
        var name = scope.NewFunctionName();
        var created = await CreateAsync(scope, name, FunctionZips.PythonSandbox, PythonRuntime, Hostile);
        var file = $"nimbus-hostile-{Guid.NewGuid():N}";
        string[] outside = ["/var/task", "/opt", "/", "/etc", "/usr", "/var", "/var/runtime", "/dev", "/dev/shm", "/root"];

        var result = Ok(await scope.Lambda.InvokeAsync(name, new JsonObject
        {
            ["write"] = new JsonArray([.. outside.Append("/tmp").Select(directory => (JsonNode)Path.Combine(directory, file))]),
        }.ToJsonString()));

        // Control: the one writable place is writable, so the refusals below are about where.
        Assert.Equal("ok", Outcome(result, "write", Path.Combine("/tmp", file)));
        foreach (var directory in outside)
        {
            var path = Path.Combine(directory, file);
            Assert.True(Refused.Contains(Outcome(result, "write", path)), $"Creating {path} inside the sandbox should be refused: {result.GetRawText()}");
            Assert.False(File.Exists(path), $"{path} should not exist on the host.");
        }

        var code = Path.Combine(scope.Server.DataDirectory, "code", "unpacked", Convert.ToHexStringLower(Convert.FromBase64String(created.Json().Str("CodeSha256"))));
        Assert.False(File.Exists(Path.Combine(code, file)), $"The function's code directory {code} should be unchanged.");
        Assert.False(File.Exists(Path.Combine("/tmp", file)), $"The host's /tmp should not see /tmp/{file} of the sandbox.");
        await AssertBenignAnswersAsync(scope);
    });

    [Fact]
    public Task A_functions_loader_variables_act_on_its_own_runtime_and_on_no_process_outside_its_sandbox() => fixture.RunAsync(async scope =>
    {
        var name = scope.NewFunctionName();
        var output = $"/tmp/nimbus-ld-{Guid.NewGuid():N}";

        // The dynamic loader of every process started with these variables writes <output>.<pid>. Processes that
        // run outside the sandbox or as root inside it (the instance shell, bwrap, setpriv) would write to the host's
        // /tmp; with LD_PRELOAD instead of LD_DEBUG_OUTPUT they would run the function's code as root.
        var request = LambdaHttp.CreateFunctionRequest(name, FunctionZips.Build(FunctionZips.PythonSandbox), PythonRuntime, Hostile);
        request["Environment"] = new JsonObject { ["Variables"] = new JsonObject { ["LD_DEBUG"] = "files", ["LD_DEBUG_OUTPUT"] = output } };
        var created = await scope.Lambda.CreateFunctionAsync(request);
        Assert.True(created.StatusCode == 201, $"CreateFunction {name} should answer 201.{Environment.NewLine}{created}");

        var result = Ok(await scope.Lambda.InvokeAsync(name, new JsonObject { ["glob"] = output + ".*" }.ToJsonString()));

        // The runtime itself got the variables, as a function that sets them expects...
        Assert.True(result.Array("glob").Count > 0, $"The runtime should have been started with the function's LD_DEBUG_OUTPUT: {result.GetRawText()}");

        // ...and nothing on the host did.
        var leaked = Directory.GetFiles("/tmp", Path.GetFileName(output) + ".*");
        Assert.True(leaked.Length == 0, $"Processes outside the sandbox ran with the function's loader variables: {string.Join(", ", leaked)}");
    });

    [Fact]
    public Task A_function_cannot_ptrace_or_kill_the_server_or_another_functions_instance() => fixture.RunAsync(async scope =>
    {
        var attacker = scope.NewFunctionName();
        var victim = scope.NewFunctionName();
        await CreateAsync(scope, attacker, FunctionZips.PythonSandbox, PythonRuntime, Hostile);
        await CreateAsync(scope, victim, FunctionZips.PythonSandbox, PythonRuntime, Hostile);
        var marker = $"/tmp/victim-{Guid.NewGuid():N}";
        var victimInstance = Ok(await scope.Lambda.InvokeAsync(victim, new JsonObject { ["leave"] = new JsonObject { ["files"] = new JsonArray(marker) } }.ToJsonString())).Str("instance");
        var victimPid = RuntimePidWithFile(marker);
        var serverPid = IsolationTests.ServerHostPid(scope.Server);
        int[] targets = [serverPid, victimPid];

        var result = Ok(await scope.Lambda.InvokeAsync(attacker, new JsonObject
        {
            ["ptrace"] = new JsonArray(serverPid, victimPid, 1),
            ["kill"] = new JsonArray(serverPid, victimPid),
            ["visiblePids"] = true,
        }.ToJsonString()));

        // Control: the sandbox's own pid 1 (bwrap, root) exists inside and is refused for being someone else's.
        Assert.Equal("EPERM", result.At("ptrace").Str("1"));

        // Without the pid namespace both pids would exist inside, and PTRACE_ATTACH or SIGKILL from a root
        // runtime would succeed; with it they do not exist there at all.
        foreach (var pid in targets.Select(pid => pid.ToString(CultureInfo.InvariantCulture)))
        {
            Assert.True(result.At("ptrace").Str(pid) == "ESRCH", $"PTRACE_ATTACH to host pid {pid} should find no such process: {result.GetRawText()}");
            Assert.True(result.At("kill").Str(pid) == "ESRCH", $"SIGKILL to host pid {pid} should find no such process: {result.GetRawText()}");
        }

        // The sandbox sees its own few processes (bwrap's pid 1 and the runtime), nothing of the host's.
        var visible = result.GetProperty("visiblePids").EnumerateObject().Select(p => $"{p.Name}: {p.Value.GetString()}").ToList();
        Assert.True(visible.Count <= 4, $"The sandbox should see only its own processes: {string.Join("; ", visible)}");
        Assert.DoesNotContain(visible, line => line.Contains("nimbusd", StringComparison.Ordinal));

        // The victim's instance lived through it: the same process answers.
        Assert.Equal(victimInstance, Ok(await scope.Lambda.InvokeAsync(victim, "{}")).Str("instance"));
        Assert.True(PrestartTests.IsAlive(victimPid), $"The victim's runtime (host pid {victimPid}) should still be alive.");
        await AssertBenignAnswersAsync(scope);
    });

    [Fact]
    public Task A_function_cannot_raise_its_open_files_limit() => fixture.RunAsync(async scope =>
    {
        var name = scope.NewFunctionName();
        await CreateAsync(scope, name, FunctionZips.PythonSandbox, PythonRuntime, Hostile);

        var result = Ok(await scope.Lambda.InvokeAsync(name, """{"raiseFiles":65536}"""));

        // A soft-only limit could be raised by the function itself (to the host's hard limit, far above 1,024).
        Assert.Equal("ValueError", result.Str("raiseFiles"));
        Assert.Equal([1024L, 1024L], result.Array("openFilesLimit").Select(limit => limit.GetInt64()).ToArray());
    });

    [Fact]
    public Task Bombs_going_off_together_are_contained_and_a_benign_function_answers_throughout() => fixture.RunAsync(async scope =>
    {
        var memory = scope.NewFunctionName();
        var fork = scope.NewFunctionName();
        var tmp = scope.NewFunctionName();
        var files = scope.NewFunctionName();
        var benign = scope.NewFunctionName();
        await CreateAsync(scope, memory, FunctionZips.NodeLimits, NodeRuntime, "memory.handler", memorySize: 128, timeout: 60);
        await CreateAsync(scope, fork, FunctionZips.PythonSandbox, PythonRuntime, "fork.handler", memorySize: 1024, timeout: 60);
        await CreateAsync(scope, tmp, FunctionZips.PythonSandbox, PythonRuntime, "tmp.handler", memorySize: 1024, timeout: 60);
        await CreateAsync(scope, files, FunctionZips.PythonSandbox, PythonRuntime, "files.handler", memorySize: 128, timeout: 60);
        await CreateAsync(scope, benign, FunctionZips.Python, PythonRuntime, "lambda_function.lambda_handler");
        await AssertBenignAnswersAsync(scope, benign, expectedCount: 1);

        // Each bomb's instance is started with a harmless call first: a cold start (10 s init limit) competing with
        // a thousand forked processes on a loaded machine is not what this test is about.
        _ = Ok(await scope.Lambda.InvokeAsync(memory, """{"mb":1}"""));
        _ = Ok(await scope.Lambda.InvokeAsync(fork, """{"max":1}"""));
        _ = Ok(await scope.Lambda.InvokeAsync(tmp, """{"action":"exists","path":"/tmp/fill"}"""));
        _ = Ok(await scope.Lambda.InvokeAsync(files, """{"max":1}"""));

        var bombs = new[]
        {
            scope.Lambda.InvokeAsync(memory, """{"mb":300}"""),
            scope.Lambda.InvokeAsync(fork, """{"max":2000}"""),
            scope.Lambda.InvokeAsync(tmp, """{"action":"fill","path":"/tmp/fill","maxMb":600}"""),
            scope.Lambda.InvokeAsync(files, """{"max":5000}"""),
        };

        // The benign function is called over and over while the bombs go off; each answer must be its own, right one.
        var answered = 1;
        var clock = Stopwatch.StartNew();
        while (!bombs.All(bomb => bomb.IsCompleted) && clock.Elapsed < TimeSpan.FromSeconds(120))
        {
            await AssertBenignAnswersAsync(scope, benign, expectedCount: ++answered);
            await Task.Delay(TimeSpan.FromMilliseconds(50));
        }

        var outcomes = await Task.WhenAll(bombs);
        Assert.True(answered > 1, "The benign function should have been called while the bombs ran.");
        Assert.Equal("Runtime.OutOfMemory", Unhandled(outcomes[0]).Str("errorType"));
        Assert.Equal("EAGAIN", Ok(outcomes[1]).Str("error"));
        Assert.Equal("ENOSPC", Ok(outcomes[2]).Str("errno"));
        Assert.Equal("EMFILE", Ok(outcomes[3]).Str("error"));
        await AssertBenignAnswersAsync(scope, benign, expectedCount: answered + 1);
    });

    /// <summary>
    /// In the default, isolated, network mode: sockets an instance leaves open (a listening TCP port, an abstract Unix
    /// socket, a connection to the node's AWS endpoint holding half a request) hold neither the invocation nor the server,
    /// reach no other instance (the port and the abstract socket are in the holder's network namespace only), and close
    /// with the instance: its namespace, which the slot keeps for the next instance, holds none of them afterwards.
    /// </summary>
    [Fact]
    public Task Sockets_left_open_neither_hold_the_invocation_nor_reach_another_function_or_outlive_the_instance() => fixture.RunAsync(async scope =>
    {
        var holder = scope.NewFunctionName();
        var prober = scope.NewFunctionName();
        await CreateAsync(scope, holder, FunctionZips.PythonSandbox, PythonRuntime, Hostile, timeout: 10);
        await CreateAsync(scope, prober, FunctionZips.PythonSandbox, PythonRuntime, Hostile);
        var abstractName = $"nimbus-hostile-{Guid.NewGuid():N}";
        var hostAbstractName = $"nimbus-host-{Guid.NewGuid():N}";
        var marker = $"/tmp/holder-{Guid.NewGuid():N}";
        using var hostListener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        hostListener.Bind(new UnixDomainSocketEndPoint("\0" + hostAbstractName));
        hostListener.Listen(4);

        // A listening TCP socket and an abstract Unix socket that answer "leaked", and a connection to the node's AWS
        // endpoint (AWS_ENDPOINT_URL, on the namespace's loopback) holding half a request, all kept open past the
        // invocation. A runtime or server waiting on any of them would turn this into Sandbox.Timedout after 10 s.
        var held = Ok(await scope.Lambda.InvokeAsync(holder, new JsonObject
        {
            ["listenTcp"] = "leaked",
            ["listenAbstract"] = abstractName,
            ["holdEndpoint"] = true,
            ["leave"] = new JsonObject { ["files"] = new JsonArray(marker) },
        }.ToJsonString()));
        Assert.Equal("ok", held.Str("listenAbstract"));
        Assert.Equal("ok", held.Str("holdEndpoint"));
        var port = held.Num("port");
        var endpointPort = held.Num("endpointPort");
        await AssertBenignAnswersAsync(scope);

        // The sockets exist, in the holder's network namespace: its listener, and its connection to the endpoint.
        var holderPid = RuntimePidWithFile(marker);
        var holderNetwork = NetworkNamespaceOf(holderPid);
        var holderSockets = TcpSockets(File.ReadLines($"/proc/{holderPid}/net/tcp"));
        Assert.Contains(holderSockets, socket => socket.LocalPort == port && socket.Listening);
        Assert.Contains(holderSockets, socket => socket.RemotePort == endpointPort && socket.Established);

        // Another function's instance, in a namespace of its own, finds nothing on that port, and neither the holder's
        // abstract socket nor one bound on the host (a namespace's abstract sockets are its own; Landlock refuses the rest).
        var probe = Ok(await scope.Lambda.InvokeAsync(prober, new JsonObject { ["connectTcp"] = port, ["connectAbstract"] = abstractName }.ToJsonString()));
        Assert.Equal("ECONNREFUSED", probe.Str("connectTcp"));
        Assert.Contains(probe.Str("connectAbstract"), (string[])["ECONNREFUSED", "EPERM"]);
        var hostProbe = Ok(await scope.Lambda.InvokeAsync(prober, new JsonObject { ["connectAbstract"] = hostAbstractName }.ToJsonString()));
        Assert.Contains(hostProbe.Str("connectAbstract"), (string[])["ECONNREFUSED", "EPERM"]);

        // The sockets die with the instance: once the function is deleted, the slot's namespace holds neither the
        // listener nor the held connection.
        var deleted = await scope.Lambda.DeleteFunctionAsync(holder);
        Assert.True(deleted.StatusCode == 204, $"DeleteFunction should answer 204.{Environment.NewLine}{deleted}");
        await WaitUntilAsync(() => !PrestartTests.IsAlive(holderPid), $"the deleted function's runtime (host pid {holderPid}) to be gone");
        var left = new List<TcpSocket>();
        await WaitUntilAsync(
            () =>
            {
                left = [.. TcpSockets(SocketTableOf(scope.Server.ProcessId, holderNetwork)).Where(socket => (socket.LocalPort == port && socket.Listening) || (socket.RemotePort == endpointPort && socket.Established))];
                return left.Count == 0;
            },
            $"the deleted instance's sockets to close in its namespace {holderNetwork} (left: {string.Join(", ", left)})");
        await AssertBenignAnswersAsync(scope);
    });

    /// <summary>
    /// In the default, isolated, network mode each instance has a network namespace of its own: a port an instance
    /// listens on exists in no other instance's namespace nor the host's, the host's sockets are not in its /proc/net, the
    /// node's own listener is not reachable, and still the Runtime API (from a pre-started runtime too) and the node's S3
    /// through <c>AWS_ENDPOINT_URL</c> with the function's credentials work. Egress goes out through slirp4netns: a server
    /// on the host's own address answers, one on the host's loopback does not; names resolve; another function's URL is
    /// reached on <c>AWS_ENDPOINT_URL</c>. A slirp4netns killed while the server runs is started again, and egress with it.
    /// </summary>
    [Fact]
    public Task With_isolated_networks_an_instance_reaches_only_its_Runtime_API_and_the_nodes_AWS_APIs() => fixture.RunAsync(async scope =>
    {
        var server = scope.Server;
        var lambda = scope.Lambda;
        var holder = scope.NewFunctionName();
        var prober = scope.NewFunctionName();
        var reader = scope.NewFunctionName();
        foreach (var name in (string[])[holder, prober])
        {
            await CreateAsync(scope, name, FunctionZips.PythonSandbox, PythonRuntime, Hostile);
        }

        var marker = $"/tmp/listener-{Guid.NewGuid():N}";
        var held = Ok(await lambda.InvokeAsync(holder, new JsonObject
        {
            ["listenTcp"] = "leaked",
            ["leave"] = new JsonObject { ["files"] = new JsonArray(marker) },
        }.ToJsonString()));
        var port = held.Num("port");

        // The listener exists, in the holder's namespace only: its socket is not in the host's table.
        var holderPid = RuntimePidWithFile(marker);
        var listener = File.ReadLines($"/proc/{holderPid}/net/tcp").Select(line => line.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Single(fields => fields[1] == $"0100007F:{port:X4}" && fields[3] == "0A");
        var hostInodes = File.ReadLines("/proc/net/tcp").Concat(File.ReadLines("/proc/net/tcp6")).Skip(1)
            .Select(line => line.Split(' ', StringSplitOptions.RemoveEmptyEntries)).Where(fields => fields.Length > 9).Select(fields => fields[9]).ToHashSet();
        Assert.False(hostInodes.Contains(listener[9]), $"The holder's listening socket (inode {listener[9]}, port {port}) should not be in the host's network namespace.");

        // Another function's instance finds nothing on that port, nor the node's own listener, and its /proc/net lists
        // none of the host's sockets (the node's listener is there, on the host).
        var mainPort = $":{server.EndpointUri.Port:X4}";
        Assert.Contains(File.ReadLines("/proc/net/tcp").Concat(File.ReadLines("/proc/net/tcp6")), line => line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1].EndsWith(mainPort, StringComparison.Ordinal));
        var proberMarker = $"/tmp/prober-{Guid.NewGuid():N}";
        var probe = Ok(await lambda.InvokeAsync(prober, new JsonObject { ["connectTcp"] = port, ["socketTable"] = true, ["leave"] = new JsonObject { ["files"] = new JsonArray(proberMarker) } }.ToJsonString()));
        Assert.Equal("ECONNREFUSED", probe.Str("connectTcp"));
        var table = probe.At("socketTable").EnumerateArray().Select(entry => entry.GetString()!).ToList();
        Assert.NotEmpty(table);
        Assert.DoesNotContain(table, local => local.EndsWith(mainPort, StringComparison.Ordinal));
        var node = Ok(await lambda.InvokeAsync(prober, new JsonObject { ["connectTcp"] = server.EndpointUri.Port }.ToJsonString()));
        Assert.Equal("ECONNREFUSED", node.Str("connectTcp"));

        // Egress: a server on one of the host's other addresses answers (as another host or the internet would); one on
        // the host's 127.0.0.1 cannot be reached, neither as 127.0.0.1 (the namespace's own loopback) nor through the
        // NAT's gateway 10.0.2.2, which leads elsewhere to the host's loopback.
        var hostAddress = HostAddress.NonLoopback();
        using var outside = ReplyingListener(hostAddress, "outside");
        using var loopback = ReplyingListener(System.Net.IPAddress.Loopback, "loopback");
        var loopbackPort = ((System.Net.IPEndPoint)loopback.LocalEndpoint).Port;
        var outsideTarget = $"{hostAddress}:{((System.Net.IPEndPoint)outside.LocalEndpoint).Port}";
        string[] targets = [outsideTarget, $"127.0.0.1:{loopbackPort}", $"10.0.2.2:{loopbackPort}"];
        var egress = Ok(await lambda.InvokeAsync(prober, new JsonObject
        {
            ["connectTo"] = ConnectTargets(targets),
            ["resolve"] = new JsonArray("localhost"),
            ["cat"] = "/etc/resolv.conf",
        }.ToJsonString()));

        // Target names hold dots, which JsonAssert's paths would split.
        var reached = egress.At("connectTo");
        Assert.True(reached.GetProperty(targets[0]).GetString() == "data:outside", $"An isolated instance should reach a server on the host's address {hostAddress}: {egress.GetRawText()}");
        Assert.Equal("ECONNREFUSED", reached.GetProperty(targets[1]).GetString());
        Assert.False(reached.GetProperty(targets[2]).GetString()!.StartsWith("data:", StringComparison.Ordinal), $"The NAT's gateway should not lead to the host's loopback: {egress.GetRawText()}");

        // Names: /etc/hosts as on the host, and DNS through slirp4netns's forwarder, whatever the host's resolver.
        Assert.Equal(["127.0.0.1"], egress.At("resolve").Array("localhost").Select(address => address.GetString()!).ToArray());
        Assert.StartsWith("nameserver 10.0.2.3\n", egress.Str("cat"), StringComparison.Ordinal);

        // A slirp4netns killed while the server runs: the server starts another for the slot (events 4140, 4141), and the
        // prober's instance, still the same, has egress again.
        var proberPid = RuntimePidWithFile(proberMarker);
        var slirp = SlirpOf(server.ProcessId, NetworkNamespaceOf(proberPid));
        using (var killed = Process.GetProcessById(slirp))
        {
            killed.Kill();
        }

        var replacement = 0;
        await WaitUntilAsync(
            () =>
            {
                replacement = SlirpOf(server.ProcessId, NetworkNamespaceOf(proberPid), required: false);
                return replacement != 0 && replacement != slirp && server.DescribeOutput(2_000).Contains("runs again: instances in that slot have egress again", StringComparison.Ordinal);
            },
            $"the killed slirp4netns (pid {slirp}) of the prober's slot to be started again",
            TimeSpan.FromSeconds(60));
        var again = Ok(await lambda.InvokeAsync(prober, new JsonObject { ["connectTo"] = ConnectTargets([outsideTarget]) }.ToJsonString()));
        Assert.True(again.At("connectTo").GetProperty(outsideTarget).GetString() == "data:outside", $"The same instance should have egress again after its slirp4netns was restarted: {again.GetRawText()}");
        Assert.Equal(proberPid, RuntimePidWithFile(proberMarker));

        // The node's function URLs from inside: on AWS_ENDPOINT_URL, by path (the main port is the host's loopback).
        using var url = await server.Http.PostAsync($"/2021-10-31/functions/{holder}/url", new StringContent("""{"AuthType":"NONE"}""", Encoding.UTF8, "application/json"));
        var urlText = await url.Content.ReadAsStringAsync();
        Assert.True(url.StatusCode == System.Net.HttpStatusCode.Created, $"CreateFunctionUrlConfig: {(int)url.StatusCode} {urlText}");
        var urlId = new Uri(JsonAssert.Parse(urlText, "CreateFunctionUrlConfig").Str("FunctionUrl")).Host.Split('.')[0];
        var called = Ok(await lambda.InvokeAsync(prober, new JsonObject { ["httpGet"] = $"/lambda-url/{urlId}/" }.ToJsonString()));
        Assert.True(called.Str("httpGet").StartsWith("200 ", StringComparison.Ordinal) && called.Str("httpGet").Contains(held.Str("instance"), StringComparison.Ordinal),
            $"An isolated instance should call another function's URL through AWS_ENDPOINT_URL: {called.GetRawText()}");

        // The node's S3 through AWS_ENDPOINT_URL, signed with the function's own credentials (boto3).
        var bucket = BucketCliTests.NewBucketName();
        using var s3 = S3SdkTests.Client(server);
        await s3.PutBucketAsync(bucket);
        await s3.PutObjectAsync(new Amazon.S3.Model.PutObjectRequest { BucketName = bucket, Key = "incoming/data.csv", ContentBody = "a,b\n1,2\n3,4\n" });
        var created3 = await lambda.CreateFunctionAsync(LambdaHttp.CreateFunctionRequest(reader, FunctionZips.Build(BucketNotificationTests.S3Python), "python3.12", "app.handler"));
        Assert.True(created3.StatusCode == 201, $"CreateFunction {reader} should answer 201.{Environment.NewLine}{created3}");
        var record = new JsonObject
        {
            ["eventName"] = "ObjectCreated:Put",
            ["s3"] = new JsonObject { ["bucket"] = new JsonObject { ["name"] = bucket }, ["object"] = new JsonObject { ["key"] = "incoming/data.csv" } },
        };
        var read = Ok(await lambda.InvokeAsync(reader, new JsonObject { ["Records"] = new JsonArray(record) }.ToJsonString()));
        Assert.Equal(3, read.Num("rows"));
        using var written = await s3.GetObjectAsync(bucket, "processed/data.json");
        Assert.Equal("incoming/data.csv", JsonDocument.Parse(written.ResponseStream).RootElement.GetProperty("source").GetString());
    });

    [Fact]
    public Task A_function_leaves_no_state_in_another_functions_instance() => fixture.RunAsync(async scope =>
    {
        var leaver = scope.NewFunctionName();
        var finder = scope.NewFunctionName();
        var request = LambdaHttp.CreateFunctionRequest(leaver, FunctionZips.Build(FunctionZips.PythonSandbox), PythonRuntime, Hostile);
        request["Environment"] = new JsonObject { ["Variables"] = new JsonObject { ["LEAVER_SECRET"] = "s3cr3t" } };
        var created = await scope.Lambda.CreateFunctionAsync(request);
        Assert.True(created.StatusCode == 201, $"CreateFunction {leaver} should answer 201.{Environment.NewLine}{created}");
        await CreateAsync(scope, finder, FunctionZips.PythonSandbox, PythonRuntime, Hostile);
        var unique = Guid.NewGuid().ToString("N");
        string[] files = [$"/tmp/left-{unique}", $"/dev/shm/left-{unique}"];
        string[] variables = ["LEAVER_SECRET", $"LEFT_{unique}"];

        var left = Ok(await scope.Lambda.InvokeAsync(leaver, new JsonObject
        {
            ["leave"] = new JsonObject
            {
                ["files"] = new JsonArray([.. files.Select(file => (JsonNode)file)]),
                ["environment"] = new JsonObject { [variables[1]] = "left" },
            },
            ["find"] = new JsonObject { ["environment"] = new JsonArray("LEAVER_SECRET") },
        }.ToJsonString()));

        // Control: the leaver has its own variable and its /tmp file.
        Assert.Equal(["LEAVER_SECRET"], left.At("found").Array("environment").Select(v => v.GetString()!).ToArray());
        Assert.Equal("ok", Outcome(left, "left", files[0]));

        var found = Ok(await scope.Lambda.InvokeAsync(finder, new JsonObject
        {
            ["find"] = new JsonObject
            {
                ["files"] = new JsonArray([.. files.Select(file => (JsonNode)file)]),
                ["environment"] = new JsonArray([.. variables.Select(variable => (JsonNode)variable)]),
            },
        }.ToJsonString()));

        Assert.Empty(found.At("found").Array("files"));
        Assert.Empty(found.At("found").Array("environment"));
        Assert.All(files, file => Assert.False(File.Exists(file), $"The host should not see {file} left by {leaver}."));
    });

    [Fact]
    public async Task A_server_killed_with_its_whole_process_tree_leaves_no_frozen_instance_or_pre_started_runtime_behind()
    {
        using var data = new TempDirectory("nimbus-it-hostile");

        // In the default, isolated, network mode: the instances' network namespaces and their slirp4netns keep nothing alive either.
        var server = await NimbusServer.StartAsync(data.Path, new Dictionary<string, string> { ["NIMBUS_MAX_INSTANCES"] = "8" });
        try
        {
            await Failures.WithContextAsync(
                async () =>
                {
                    var lambda = new LambdaHttp(server.Http);
                    var name = $"t-{Guid.NewGuid():N}"[..20];
                    var created = await lambda.CreateFunctionAsync(LambdaHttp.CreateFunctionRequest(name, FunctionZips.Build(FunctionZips.PythonSandbox), PythonRuntime, Hostile));
                    Assert.True(created.StatusCode == 201, $"CreateFunction {name} should answer 201.{Environment.NewLine}{created}");
                    var marker = $"/tmp/idle-{Guid.NewGuid():N}";
                    _ = Ok(await lambda.InvokeAsync(name, new JsonObject { ["leave"] = new JsonObject { ["files"] = new JsonArray(marker) } }.ToJsonString()));
                    var instance = RuntimePidWithFile(marker);

                    // The idle instance is frozen: no signal reaches it, bwrap's death signal included, until it is thawed.
                    // Beside it, a pre-started runtime no function has taken yet waits for one. The instance's own bwrap
                    // processes are its parent and grandparent; any other sandbox is a pre-started runtime.
                    await WaitUntilAsync(() => PrestartTests.IsFrozen(instance), "the idle instance to be frozen");
                    int[] instanceSandbox = [ParentOf(instance), ParentOf(ParentOf(instance))];
                    await WaitUntilAsync(() => ShutdownTests.SandboxPids(data.Path).Except(instanceSandbox).Any(), "a pre-started runtime to be running");
                    var processes = Descendants(server.ProcessId);
                    Assert.Contains(instance, processes);
                    var guardian = Guardians(data.Path);
                    Assert.True(guardian.Count == 1, $"One guardian should watch the server's instances; found {guardian.Count}.");
                    Assert.DoesNotContain(guardian[0], processes);

                    // What a supervisor or the test harness does: SIGKILL to every process of the server's tree.
                    using var process = Process.GetProcessById(server.ProcessId);
                    process.Kill(entireProcessTree: true);

                    Assert.True(await server.WaitForExitAsync(Deadline), "The killed server should exit.");
                    await WaitUntilAsync(() => !processes.Concat(guardian).Any(PrestartTests.IsAlive), "every process of the killed server and its guardian to be gone", TimeSpan.FromSeconds(60));
                    var cgroups = InstanceCgroups(data.Path);
                    Assert.True(cgroups.Count == 0, $"The killed server's instance cgroups should be removed: {string.Join(", ", cgroups)}");
                },
                () => server.DescribeOutput());
        }
        finally
        {
            await server.DisposeAsync();
        }
    }

    /// <summary>A TCP listener that writes <paramref name="reply"/> to each connection and closes it, until disposed.</summary>
    private static TcpListenerScope ReplyingListener(System.Net.IPAddress address, string reply)
    {
        var listener = new TcpListener(address, 0);
        listener.Start();
        _ = Task.Run(async () =>
        {
            try
            {
                while (true)
                {
                    using var client = await listener.AcceptTcpClientAsync();
                    await client.GetStream().WriteAsync(Encoding.ASCII.GetBytes(reply));
                }
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException or IOException)
            {
                // Stopped.
            }
        });
        return new TcpListenerScope(listener);
    }

    private sealed class TcpListenerScope(TcpListener listener) : IDisposable
    {
        public System.Net.EndPoint LocalEndpoint => listener.LocalEndpoint;

        public void Dispose() => listener.Stop();
    }

    private static async Task<HttpResult> CreateAsync(TestScope scope, string name, string fixtureName, string runtime, string handler, int memorySize = 128, int timeout = 10)
    {
        var request = LambdaHttp.CreateFunctionRequest(name, FunctionZips.Build(fixtureName), runtime, handler);
        request["MemorySize"] = memorySize;
        request["Timeout"] = timeout;
        var result = await scope.Lambda.CreateFunctionAsync(request);
        Assert.True(result.StatusCode == 201, $"CreateFunction {name} should answer 201.{Environment.NewLine}{result}");
        return result;
    }

    /// <summary>A benign function, created for the check, answers with its own name and the right count.</summary>
    private static async Task AssertBenignAnswersAsync(TestScope scope)
    {
        var benign = scope.NewFunctionName();
        await CreateAsync(scope, benign, FunctionZips.Python, PythonRuntime, "lambda_function.lambda_handler");
        await AssertBenignAnswersAsync(scope, benign, expectedCount: 1);
    }

    private static async Task AssertBenignAnswersAsync(TestScope scope, string benign, int expectedCount)
    {
        var payload = $"benign-{expectedCount}";
        var answer = Ok(await scope.Lambda.InvokeAsync(benign, new JsonObject { ["name"] = payload }.ToJsonString()));
        Assert.Equal(benign, answer.Str("fn"));
        Assert.Equal(payload, answer.Str("name"));
        Assert.Equal(expectedCount, answer.Num("count"));
    }

    /// <summary>What the function reported for <paramref name="key"/> (a path, which may hold dots) of one act.</summary>
    private static string Outcome(JsonElement result, string act, string key)
    {
        Assert.True(result.At(act).TryGetProperty(key, out var outcome) && outcome.ValueKind == JsonValueKind.String, $"Expected an outcome for {key} in '{act}': {result.GetRawText()}");
        return outcome.GetString()!;
    }

    private static JsonElement Ok(HttpResult response)
    {
        Assert.True(response.StatusCode == 200 && response.Header("X-Amz-Function-Error") is null, $"Expected 200 without X-Amz-Function-Error.{Environment.NewLine}{response}");
        return response.Json();
    }

    private static JsonElement Unhandled(HttpResult response)
    {
        Assert.True(response.StatusCode == 200 && response.Header("X-Amz-Function-Error") == "Unhandled", $"Expected 200 with X-Amz-Function-Error: Unhandled.{Environment.NewLine}{response}");
        return response.Json();
    }

    private static async Task WaitUntilAsync(Func<bool> condition, string what, TimeSpan? timeout = null)
    {
        var limit = timeout ?? Deadline;
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(clock.Elapsed < limit, $"Timed out after {limit.TotalSeconds} s waiting for {what}.");
            await Task.Delay(TimeSpan.FromMilliseconds(100));
        }
    }

    /// <summary>The host pid of the runtime whose sandbox holds <paramref name="file"/> in its /tmp (seen through /proc/&lt;pid&gt;/root).</summary>
    internal static int RuntimePidWithFile(string file)
    {
        var found = new List<int>();
        foreach (var pid in HostPids())
        {
            try
            {
                var commandLine = File.ReadAllText($"/proc/{pid}/cmdline");
                if (!commandLine.Contains("bwrap", StringComparison.Ordinal) && File.Exists($"/proc/{pid}/root{file}"))
                {
                    found.Add(pid);
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Exited meanwhile.
            }
        }

        Assert.True(found.Count == 1, $"Expected one runtime process whose sandbox holds {file}; found {found.Count} ({string.Join(", ", found)}).");
        return found[0];
    }

    /// <summary>The network namespace of <paramref name="pid"/>, as the kernel names it ("net:[inode]").</summary>
    private static string NetworkNamespaceOf(int pid) =>
        new FileInfo($"/proc/{pid}/ns/net").LinkTarget ?? throw new InvalidOperationException($"/proc/{pid}/ns/net is not a link.");

    /// <summary>
    /// /proc/net/tcp of the network namespace <paramref name="network"/> ("net:[inode]"), read from inside it through the
    /// server's own descriptor of it (nsenter): a slot's namespace outlives its instances, as the server holds it.
    /// </summary>
    private static string[] SocketTableOf(int serverPid, string network)
    {
        var descriptor = Directory.EnumerateFiles($"/proc/{serverPid}/fd")
            .FirstOrDefault(fd => new FileInfo(fd).LinkTarget == network);
        Assert.True(descriptor is not null, $"The server (pid {serverPid}) should hold the namespace {network} of its slot.");
        using var nsenter = Process.Start(new ProcessStartInfo("nsenter", ["--net=" + descriptor, "cat", "/proc/net/tcp"]) { RedirectStandardOutput = true, RedirectStandardError = true })!;
        var table = nsenter.StandardOutput.ReadToEnd();
        nsenter.WaitForExit();
        Assert.True(nsenter.ExitCode == 0, $"nsenter --net={descriptor} cat /proc/net/tcp failed: {nsenter.StandardError.ReadToEnd()}");
        return table.Split('\n');
    }

    /// <summary>The pid of the slirp4netns (a child of the server) giving the namespace <paramref name="network"/> egress; 0 when none runs.</summary>
    private static int SlirpOf(int serverPid, string network, bool required = true)
    {
        foreach (var pid in Descendants(serverPid))
        {
            try
            {
                var arguments = File.ReadAllText($"/proc/{pid}/cmdline").Split('\0');
                var path = arguments.FirstOrDefault(argument => argument.StartsWith($"/proc/{serverPid}/fd/", StringComparison.Ordinal));
                if (Path.GetFileName(arguments[0]) == "slirp4netns" && path is not null && new FileInfo(path).LinkTarget == network)
                {
                    return pid;
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Exited meanwhile.
            }
        }

        Assert.False(required, $"A slirp4netns of the server (pid {serverPid}) should serve the namespace {network}.");
        return 0;
    }

    private static JsonArray ConnectTargets(IEnumerable<string> targets) =>
        [.. targets.Select(target => (JsonNode)new JsonArray(target.Split(':')[0], int.Parse(target.Split(':')[1], CultureInfo.InvariantCulture)))];

    /// <summary>The TCP sockets of a /proc/net/tcp table.</summary>
    private static List<TcpSocket> TcpSockets(IEnumerable<string> table) =>
        [.. table.Skip(1)
            .Select(line => line.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Where(fields => fields.Length > 3)
            .Select(fields => new TcpSocket(
                int.Parse(fields[1].Split(':')[1], NumberStyles.HexNumber, CultureInfo.InvariantCulture),
                int.Parse(fields[2].Split(':')[1], NumberStyles.HexNumber, CultureInfo.InvariantCulture),
                fields[3]))];

    /// <summary>One row of /proc/net/tcp: ports and state (0A listening, 01 established).</summary>
    private sealed record TcpSocket(int LocalPort, int RemotePort, string State)
    {
        public bool Listening => State == "0A";

        public bool Established => State == "01";
    }

    /// <summary>The parent of <paramref name="pid"/> from /proc/&lt;pid&gt;/stat; 0 when it is gone.</summary>
    private static int ParentOf(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            return int.Parse(stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[1], CultureInfo.InvariantCulture);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return 0;
        }
    }

    /// <summary>Every live process below <paramref name="root"/>, by parent links in /proc.</summary>
    private static List<int> Descendants(int root)
    {
        var parents = new Dictionary<int, int>();
        foreach (var pid in HostPids())
        {
            parents[pid] = ParentOf(pid);
        }

        var found = new List<int>();
        var pending = new Queue<int>([root]);
        while (pending.Count > 0)
        {
            var parent = pending.Dequeue();
            foreach (var child in parents.Where(p => p.Value == parent).Select(p => p.Key))
            {
                found.Add(child);
                pending.Enqueue(child);
            }
        }

        return found;
    }

    /// <summary>The guardian shells watching the instance cgroups of the server on <paramref name="dataDirectory"/>.</summary>
    private static List<int> Guardians(string dataDirectory)
    {
        var node = NodeName(dataDirectory);
        var found = new List<int>();
        foreach (var pid in HostPids())
        {
            try
            {
                var arguments = File.ReadAllText($"/proc/{pid}/cmdline").Split('\0');
                if (arguments.Contains("nimbus-guardian") && arguments.Any(argument => argument.EndsWith("/nimbus/" + node, StringComparison.Ordinal)))
                {
                    found.Add(pid);
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
            }
        }

        return found;
    }

    /// <summary>Instance cgroups (any controller, v1 or v2) still present for the server on <paramref name="dataDirectory"/>.</summary>
    private static List<string> InstanceCgroups(string dataDirectory)
    {
        var node = NodeName(dataDirectory);
        var found = new List<string>();
        foreach (var nimbus in Directory.EnumerateDirectories("/sys/fs/cgroup", "nimbus", new EnumerationOptions { RecurseSubdirectories = true, MaxRecursionDepth = 4, IgnoreInaccessible = true }))
        {
            var parent = Path.Combine(nimbus, node);
            if (Directory.Exists(parent))
            {
                found.AddRange(Directory.EnumerateDirectories(parent));
            }
        }

        return found;
    }

    /// <summary>The cgroup directory name of a server's node, as CgroupManager derives it from the data directory.</summary>
    private static string NodeName(string dataDirectory) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(dataDirectory)))[..16];

    private static IEnumerable<int> HostPids()
    {
        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            if (int.TryParse(Path.GetFileName(directory), NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
            {
                yield return pid;
            }
        }
    }
}
