using System.Diagnostics;
using System.Runtime.InteropServices;
using Microsoft.Data.Sqlite;

namespace Nimbus.IntegrationTests;

/// <summary>
/// SIGTERM stops a server gracefully: invocations in flight finish on their instance and their callers get the
/// result, new invocations are refused, then every instance is stopped and the server exits.
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
