using System.Diagnostics;
using System.Runtime.InteropServices;
using Microsoft.Data.Sqlite;

namespace Nimbus.IntegrationTests;

/// <summary>
/// SIGTERM stops a server gracefully: invocations in flight finish on their instance and their callers get the
/// result, new invocations are refused, then every instance is stopped and the server exits. A start that fails
/// exits 2 (a setting is invalid) or 1 (anything else) with one line per problem saying what to do, and no stack trace.
/// </summary>
public sealed partial class ShutdownTests
{
    [Fact]
    public async Task SIGTERM_lets_an_invocation_in_flight_finish_then_the_server_exits_leaving_no_instance()
    {
        using var data = new TempDirectory("nimbus-it-shutdown");
        NimbusServer? server = null;
        try
        {
            await Failures.WithContextAsync(
                async () =>
                {
                    server = await NimbusServer.StartAsync(data.Path);
                    var lambda = new LambdaHttp(server.Http);
                    var name = $"t-{Guid.NewGuid():N}"[..20];
                    await lambda.CreateFunctionAsync(name, FunctionZips.Build(FunctionZips.NodeBehaviours), "nodejs20.x", "sleep.handler", timeout: 30);

                    var inFlight = lambda.InvokeAsync(name, """{"ms":2500}""");
                    await WaitUntilStartedAsync(data.Path, name);
                    var instancePids = SandboxPids(data.Path);
                    Assert.NotEmpty(instancePids);

                    Assert.Equal(0, Kill(server.ProcessId, Sigterm));
                    var result = await inFlight;

                    Assert.True(result.StatusCode == 200 && result.Header("X-Amz-Function-Error") is null, $"The invocation in flight should finish normally.{Environment.NewLine}{result}");
                    Assert.Equal(2500, result.Json().Num("slept"));
                    Assert.True(await server.WaitForExitAsync(TimeSpan.FromSeconds(20)), "The server should exit once nothing is in flight.");
                    Assert.All(instancePids, pid => Assert.False(IsAlive(pid), $"Sandbox process {pid} outlived the server."));
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
    public async Task A_start_that_fails_exits_with_one_line_saying_what_to_do_and_no_stack_trace()
    {
        using var data = new TempDirectory("nimbus-it-badstart");

        // Invalid settings: every problem at once, exit code 2 (as for an unknown command).
        var invalid = await NimbusServer.RunUntilExitAsync(data.Path, new Dictionary<string, string> { ["NIMBUS_MAX_INSTANCES"] = "0" }, "--listen", "ftp://x");
        AssertFailedStart(invalid, 2,
            "Nimbus could not start: invalid configuration: Listen 'ftp://x' must be an absolute http:// URL such as http://127.0.0.1:4566. (set with Nimbus:Listen (NIMBUS_LISTEN, --listen))",
            "Nimbus could not start: invalid configuration: MaxInstances 0 must be between 1 and 4096.");

        // A value that does not even bind: which variable, and what it takes.
        var unbound = await NimbusServer.RunUntilExitAsync(data.Path, new Dictionary<string, string> { ["NIMBUS_SANDBOX_NETWORK"] = "sideways" });
        AssertFailedStart(unbound, 2, "Nimbus:SandboxNetwork (NIMBUS_SANDBOX_NETWORK) is not a valid choice: use one of host, isolated.");

        // The port is taken: which address, and how to pick another.
        using (var taken = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0))
        {
            taken.Start();
            var port = ((System.Net.IPEndPoint)taken.LocalEndpoint).Port;
            var busy = await NimbusServer.RunUntilExitAsync(data.Path, null, "--listen", $"http://127.0.0.1:{port}");
            AssertFailedStart(busy, 1, $"127.0.0.1:{port}", "address already in use", "choose another port with --listen (NIMBUS_LISTEN)");
        }

        // A data directory that cannot be made (a file stands in its way).
        var file = Path.Combine(data.Path, "not-a-directory");
        await File.WriteAllTextAsync(file, "");
        var blocked = await NimbusServer.RunUntilExitAsync(Path.Combine(file, "data"), null);
        AssertFailedStart(blocked, 1, Path.Combine(file, "data"), "point --data at another directory");
    }

    /// <summary>
    /// A failed start as a user sees it: <paramref name="exitCode"/>, each of <paramref name="expected"/> on a stderr
    /// line saying "Nimbus could not start", and no stack trace on stderr or stdout (the log).
    /// </summary>
    internal static void AssertFailedStart((int ExitCode, string Stdout, string Stderr) run, int exitCode, params string[] expected)
    {
        var described = $"exit code {run.ExitCode}{Environment.NewLine}--- stderr ---{Environment.NewLine}{run.Stderr}--- stdout ---{Environment.NewLine}{run.Stdout}";
        Assert.True(run.ExitCode == exitCode, $"Expected exit code {exitCode}: {described}");
        var problems = run.Stderr.Split('\n').Where(line => line.StartsWith("Nimbus could not start: ", StringComparison.Ordinal)).ToList();
        Assert.True(problems.Count > 0, $"No 'Nimbus could not start: ' line on stderr: {described}");
        foreach (var text in expected)
        {
            Assert.True(problems.Any(line => line.Contains(text, StringComparison.Ordinal)), $"No stderr line says '{text}': {described}");
        }

        var stackLines = (run.Stderr + run.Stdout).Split('\n').Where(line => line.TrimStart().StartsWith("at ", StringComparison.Ordinal) && line.StartsWith("   ", StringComparison.Ordinal)).ToList();
        Assert.True(stackLines.Count == 0, $"A stack trace was printed: {described}");
        Assert.DoesNotContain("Unhandled exception", run.Stderr, StringComparison.Ordinal);
    }

    private const int Sigterm = 15;

    /// <summary>The invocation has reached its instance once START is in the function's log.</summary>
    internal static async Task WaitUntilStartedAsync(string dataDirectory, string function)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (DateTime.UtcNow < deadline)
        {
            using (var connection = new SqliteConnection($"Data Source={Path.Combine(dataDirectory, "logs.db")};Mode=ReadOnly;Pooling=False"))
            {
                connection.Open();
                using var command = connection.CreateCommand();
                command.CommandText = "SELECT COUNT(*) FROM log_events WHERE log_group = $group AND message LIKE 'START RequestId:%';";
                command.Parameters.AddWithValue("$group", $"/aws/lambda/{function}");
                if (Convert.ToInt64(command.ExecuteScalar()) > 0)
                {
                    return;
                }
            }

            await Task.Delay(50);
        }

        throw new TimeoutException($"The invocation of {function} did not start within 30 s.");
    }

    /// <summary>Processes whose command line shows a sandbox of this server's data directory.</summary>
    internal static List<int> SandboxPids(string dataDirectory)
    {
        var pids = new List<int>();
        foreach (var entry in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(entry), out var pid))
            {
                continue;
            }

            try
            {
                var commandLine = File.ReadAllText(Path.Combine(entry, "cmdline")).Replace('\0', ' ');
                if (commandLine.Contains("bwrap", StringComparison.Ordinal) && commandLine.Contains(dataDirectory, StringComparison.Ordinal))
                {
                    pids.Add(pid);
                }
            }
            catch (IOException)
            {
            }
        }

        return pids;
    }

    private static bool IsAlive(int pid)
    {
        try
        {
            using var process = Process.GetProcessById(pid);
            return !process.HasExited && !File.ReadAllText($"/proc/{pid}/stat").Contains(") Z ", StringComparison.Ordinal);
        }
        catch (ArgumentException)
        {
            return false;
        }
        catch (IOException)
        {
            return false;
        }
    }

    [LibraryImport("libc", EntryPoint = "kill")]
    private static partial int Kill(int pid, int signal);
}
