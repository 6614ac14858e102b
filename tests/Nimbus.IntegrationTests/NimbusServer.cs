using System.Diagnostics;
using System.Text.RegularExpressions;

namespace Nimbus.IntegrationTests;

/// <summary>
/// A running <c>nimbus serve</c> process on a free loopback port. Disposing kills the whole process
/// tree (server and sandboxes); the data directory belongs to the caller.
/// </summary>
internal sealed partial class NimbusServer : IAsyncDisposable
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(120);
    private static readonly TimeSpan HealthTimeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan ExitTimeout = TimeSpan.FromSeconds(30);

    private readonly Process _process;
    private readonly OutputBuffer _output;
    private HttpClient? _http;
    private HttpClient? _unsignedHttp;
    private Uri? _endpoint;
    private bool _disposed;

    private NimbusServer(Process process, OutputBuffer output, string dataDirectory)
    {
        _process = process;
        _output = output;
        DataDirectory = dataDirectory;
    }

    public string DataDirectory { get; }

    /// <summary>The server's own process (./nimbus execs it).</summary>
    public int ProcessId => _process.Id;

    /// <summary>True when the server exited within <paramref name="timeout"/>.</summary>
    public async Task<bool> WaitForExitAsync(TimeSpan timeout)
    {
        using var deadline = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(deadline.Token);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    /// <summary>Base URL, e.g. <c>http://127.0.0.1:41234</c>, without a trailing slash.</summary>
    public string Endpoint => EndpointUri.GetLeftPart(UriPartial.Authority);

    public Uri EndpointUri => _endpoint ?? throw new InvalidOperationException("The server is not ready yet.");

    /// <summary>The root credentials every test server starts with (what the AWS CLIs and SDKs in the tests sign with).</summary>
    public const string RootAccessKeyId = "test";

    public const string RootSecretAccessKey = "test";

    /// <summary>A client whose BaseAddress is the server; requests are signed with the root key (<see cref="SigV4SigningHandler"/>).</summary>
    public HttpClient Http => _http ?? throw new InvalidOperationException("The server is not ready yet.");

    /// <summary>A client whose BaseAddress is the server; requests go out unsigned.</summary>
    public HttpClient UnsignedHttp => _unsignedHttp ?? throw new InvalidOperationException("The server is not ready yet.");

    public static async Task<NimbusServer> StartAsync(string dataDirectory, IReadOnlyDictionary<string, string>? environment = null)
    {
        var launcher = FindLauncher();
        var startInfo = new ProcessStartInfo(launcher)
        {
            WorkingDirectory = Path.GetDirectoryName(launcher)!,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[] { "serve", "--listen", "http://127.0.0.1:0", "--data", dataDirectory })
        {
            startInfo.ArgumentList.Add(argument);
        }

        startInfo.Environment["DOTNET_NOLOGO"] = "1";
        startInfo.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        startInfo.Environment["NIMBUS_ROOT_ACCESS_KEY_ID"] = RootAccessKeyId;
        startInfo.Environment["NIMBUS_ROOT_SECRET_ACCESS_KEY"] = RootSecretAccessKey;

        // The suite starts many servers at once: each keeps one pre-started runtime per shape (the default of 16 for node
        // and python is for a node serving bursts of new functions), unless a test sets its own.
        startInfo.Environment["NIMBUS_PRESTART_POOL"] = "1";
        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            startInfo.Environment[key] = value;
        }

        var output = new OutputBuffer(capacity: 2_000);
        var ready = new TaskCompletionSource<Uri>(TaskCreationOptions.RunContinuationsAsynchronously);
        var process = new Process { StartInfo = startInfo, EnableRaisingEvents = true };
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null)
            {
                return;
            }

            output.Add(e.Data);
            var match = ReadyLine().Match(e.Data);
            if (match.Success && Uri.TryCreate(match.Groups[1].Value.TrimEnd('.', ',', ';'), UriKind.Absolute, out var url))
            {
                ready.TrySetResult(url);
            }
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                output.Add("[stderr] " + e.Data);
            }
        };
        process.Exited += (_, _) => ready.TrySetException(
            new InvalidOperationException($"`nimbus serve` exited with code {process.ExitCode} before printing 'Nimbus is ready on http://...'."));

        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        var server = new NimbusServer(process, output, dataDirectory);
        try
        {
            var url = await ready.Task.WaitAsync(StartTimeout);
            server._endpoint = url;
            server._http = new HttpClient(new SigV4SigningHandler(RootAccessKeyId, RootSecretAccessKey, Aws.Region)) { BaseAddress = url, Timeout = TimeSpan.FromMinutes(2) };
            server._unsignedHttp = new HttpClient { BaseAddress = url, Timeout = TimeSpan.FromMinutes(2) };
            await server.WaitUntilHealthyAsync();
            if (environment?.ContainsKey("NIMBUS_ROOT_ACCESS_KEY_ID") != true)
            {
                await server.GrantFixtureRolesAsync();
            }

            return server;
        }
        catch (Exception ex) when (ex is TimeoutException or InvalidOperationException or HttpRequestException)
        {
            var reason = ex is TimeoutException
                ? $"no 'Nimbus is ready on http://...' line within {StartTimeout.TotalSeconds:0} s"
                : ex.Message;
            var description = server.DescribeOutput();
            await server.DisposeAsync();
            throw new InvalidOperationException(
                $"Nimbus did not start ({launcher} serve --data {dataDirectory}): {reason}{Environment.NewLine}{description}", ex);
        }
    }

    /// <summary>
    /// Runs <c>nimbus serve --listen http://127.0.0.1:0 --data <paramref name="dataDirectory"/> [arguments]</c> for a start
    /// expected to fail: its exit code and what it printed on stdout and stderr. Killed after two minutes if it does start.
    /// </summary>
    public static async Task<(int ExitCode, string Stdout, string Stderr)> RunUntilExitAsync(
        string dataDirectory, IReadOnlyDictionary<string, string>? environment = null, params string[] arguments)
    {
        var launcher = FindLauncher();
        var startInfo = new ProcessStartInfo(launcher) { WorkingDirectory = Path.GetDirectoryName(launcher)! };
        foreach (var argument in new[] { "serve", "--listen", "http://127.0.0.1:0", "--data", dataDirectory }.Concat(arguments))
        {
            startInfo.ArgumentList.Add(argument);
        }

        startInfo.Environment["NIMBUS_ROOT_ACCESS_KEY_ID"] = RootAccessKeyId;
        startInfo.Environment["NIMBUS_ROOT_SECRET_ACCESS_KEY"] = RootSecretAccessKey;
        startInfo.Environment.Remove("NIMBUS_DEBUG");
        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            startInfo.Environment[key] = value;
        }

        var outcome = await BoundedProcess.RunAsync(startInfo, StartTimeout);
        return outcome.TimedOut
            ? throw new TimeoutException($"`nimbus serve` was expected to fail but still ran after {StartTimeout.TotalSeconds:0} s.{Environment.NewLine}{outcome.Stdout}{outcome.Stderr}")
            : (outcome.ExitCode, outcome.Stdout, outcome.Stderr);
    }

    /// <summary>
    /// The roles the fixtures name get what their functions and schedules do, as a test account's roles would: the
    /// functions' execution role (<see cref="Aws.Role"/>) may use every service (the bucket pipelines read and write S3
    /// with its credentials, event source mappings need its SQS permissions), and the schedules' role may invoke
    /// functions. Tests of permissions themselves (AuthServicesTests) use roles of their own.
    /// </summary>
    private async Task GrantFixtureRolesAsync()
    {
        var grants = new[]
        {
            (Role: Aws.Role[(Aws.Role.LastIndexOf('/') + 1)..], Policy: """{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"""),
            (Role: "scheduler", Policy: $$"""{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"lambda:InvokeFunction","Resource":"arn:aws:lambda:{{Aws.Region}}:{{Aws.AccountId}}:function:*"},{"Effect":"Allow","Action":"sqs:SendMessage","Resource":"arn:aws:sqs:{{Aws.Region}}:{{Aws.AccountId}}:*"}]}"""),
        };
        foreach (var (role, policy) in grants)
        {
            using var put = await Http.PutAsync($"/nimbus/admin/roles/{role}/policies/fixtures", new StringContent(policy, System.Text.Encoding.UTF8, "application/json"));
            if ((int)put.StatusCode != 204)
            {
                throw new InvalidOperationException($"Could not grant the fixture role {role}: {(int)put.StatusCode} {await put.Content.ReadAsStringAsync()}");
            }
        }
    }

    /// <summary>The first error entries (<c>fail:</c>, <c>crit:</c>) the server logged, with their stack traces; empty when none.</summary>
    public string LoggedErrors() => _output.Errors();

    /// <summary>The server's state and the last lines it printed, for failure messages.</summary>
    public string DescribeOutput(int lines = 200)
    {
        string state;
        try
        {
            state = _process.HasExited ? $"exited with code {_process.ExitCode}" : $"running, pid {_process.Id}";
        }
        catch (InvalidOperationException)
        {
            state = "not started";
        }

        return $"--- nimbus serve ({state}, data {DataDirectory}): last {Math.Min(lines, _output.Count)} of {_output.Total} output lines ---"
            + Environment.NewLine + _output.Tail(lines);
    }

    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
            }

            using var exited = new CancellationTokenSource(ExitTimeout);
            await _process.WaitForExitAsync(exited.Token);
        }
        catch (InvalidOperationException)
        {
            // The process was never started or has already been reaped.
        }
        catch (OperationCanceledException)
        {
            // Killed but not reaped within the deadline; nothing more a test can do about it.
        }
        finally
        {
            _http?.Dispose();
            _unsignedHttp?.Dispose();
            _process.Dispose();
        }
    }

    private async Task WaitUntilHealthyAsync()
    {
        var deadline = DateTime.UtcNow + HealthTimeout;
        var last = "no answer yet";
        while (DateTime.UtcNow < deadline)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"`nimbus serve` exited with code {_process.ExitCode} before GET /health answered 200.");
            }

            try
            {
                using var probe = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                using var response = await Http.GetAsync(new Uri("/health", UriKind.Relative), probe.Token);
                if (response.IsSuccessStatusCode)
                {
                    return;
                }

                last = $"HTTP {(int)response.StatusCode}";
            }
            catch (HttpRequestException ex)
            {
                last = ex.Message;
            }
            catch (TaskCanceledException)
            {
                last = "timed out";
            }

            await Task.Delay(TimeSpan.FromMilliseconds(100));
        }

        throw new InvalidOperationException($"GET /health did not answer 200 within {HealthTimeout.TotalSeconds:0} s (last: {last}).");
    }

    /// <summary>Finds <c>&lt;repo&gt;/nimbus</c>: the directory above the test binaries holding Nimbus.slnx.</summary>
    internal static string FindLauncher()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (!File.Exists(Path.Combine(directory.FullName, "Nimbus.slnx")))
            {
                continue;
            }

            var launcher = Path.Combine(directory.FullName, "nimbus");
            return File.Exists(launcher)
                ? launcher
                : throw new InvalidOperationException(
                    $"The launcher {launcher} does not exist; the integration tests start the server with `{launcher} serve`.");
        }

        throw new InvalidOperationException(
            $"No directory above {AppContext.BaseDirectory} contains Nimbus.slnx; run the tests from a Nimbus checkout.");
    }

    [GeneratedRegex(@"Nimbus is ready on (http://\S+)")]
    private static partial Regex ReadyLine();
}
