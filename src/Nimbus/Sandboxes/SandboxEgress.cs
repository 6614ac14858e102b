using System.Diagnostics;
using System.Globalization;
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Win32.SafeHandles;

namespace Nimbus.Sandboxes;

/// <summary>
/// Internet egress for isolated instance networks: one slirp4netns per network namespace, a user-mode NAT that gives
/// the namespace a tap device (10.0.2.100/24, default route via 10.0.2.2, DNS at 10.0.2.3 forwarding to the host's
/// resolvers) and makes each outgoing connection as an ordinary socket of the host. Nothing host-wide changes (no
/// routes, no firewall rules, no ip_forward), so two servers never collide and a killed server leaves nothing set.
/// <para>
/// With <c>--disable-host-loopback</c>, 10.0.2.2 does not lead to the host's 127.0.0.1, and the namespace's own
/// 127.0.0.1 is its loopback: the host's loopback services, this node's main port and other instances' namespaces stay
/// out of reach; the host's other addresses, other hosts and the internet are reachable, as from a Lambda function.
/// Each slirp4netns reads its stdin (<c>--exit-fd</c>), a pipe whose other end only this server holds: it exits when
/// the server does, kill -9 included. One that dies while the server runs is started again.
/// </para>
/// <para>
/// Slot 0's slirp4netns starts with the server, which shows that slirp4netns works here; every other slot's starts when
/// the slot is first rented (<see cref="EnsureStartedAsync"/>, once its namespace exists), so a node pays for the slots it uses, not for
/// <c>MaxInstances</c>. Without a working slirp4netns the namespaces stay isolated and have no egress: a warning at start
/// says what to install.
/// </para>
/// </summary>
internal sealed partial class SandboxEgress : IDisposable
{
    /// <summary>The resolver an isolated instance uses: slirp4netns's DNS forwarder.</summary>
    public const string NameServer = "10.0.2.3";

    /// <summary>The default of <c>Nimbus:Slirp4netns</c>: found on PATH.</summary>
    public const string DefaultProgram = "slirp4netns";

    private static readonly TimeSpan RestartDelay = TimeSpan.FromSeconds(1);

    private readonly string? _path;
    private readonly string? _unshare = FindOnPath("unshare");

    /// <summary>Each slot's namespace, known from its first start on (a restart needs it again).</summary>
    private readonly Dictionary<int, SafeFileHandle> _namespaces = [];
    private readonly ILogger _logger;
    private readonly TimeSpan _deadline;
    private readonly Dictionary<int, Process> _processes = [];

    /// <summary>Each slot's first start, once asked for: instances of the slot wait for it before they start.</summary>
    private readonly Dictionary<int, Task> _started = [];
    private readonly Lock _lock = new();
    private bool _disposed;

    private SandboxEgress(string? path, ILogger logger, TimeSpan deadline)
    {
        _path = path;
        _logger = logger;
        _deadline = deadline;
    }

    /// <summary>False when slirp4netns is missing or does not work here: the namespaces have no egress.</summary>
    public bool Enabled => _path is not null;

    /// <summary>
    /// Egress through <paramref name="program"/> (a path, or a name looked up on PATH): starts slot 0's slirp4netns in
    /// <paramref name="first"/> and waits until it has configured the namespace. When the program is missing or fails,
    /// logs a warning saying what to do and returns an egress that gives no namespace a route out.
    /// </summary>
    public static SandboxEgress Start(string program, SafeFileHandle first, ILogger logger, TimeSpan deadline)
    {
        var path = program.Contains('/', StringComparison.Ordinal) ? (File.Exists(program) ? program : null) : FindOnPath(program);
        if (path is null)
        {
            Log.EgressMissing(logger, program);
            return new SandboxEgress(null, logger, deadline);
        }

        var egress = new SandboxEgress(path, logger, deadline);
        lock (egress._lock)
        {
            egress._namespaces[0] = first;
        }

        try
        {
            egress.StartOneAsync(0).GetAwaiter().GetResult();
            lock (egress._lock)
            {
                egress._started[0] = Task.CompletedTask;
            }

            return egress;
        }
        catch (Exception e) when (e is InvalidOperationException or IOException or System.ComponentModel.Win32Exception)
        {
            egress.Dispose();
            Log.EgressBroken(logger, path, e.Message);
            return new SandboxEgress(null, logger, deadline);
        }
    }

    /// <summary>
    /// Starts the slirp4netns of <paramref name="slot"/> in <paramref name="network"/> unless it was started already;
    /// completes when it has configured the namespace (or failed to, logged: the slot's instances then have no egress).
    /// Never throws.
    /// </summary>
    public Task EnsureStartedAsync(int slot, SafeFileHandle network)
    {
        lock (_lock)
        {
            if (_path is null || _disposed)
            {
                return Task.CompletedTask;
            }

            if (!_started.TryGetValue(slot, out var started))
            {
                _namespaces[slot] = network;
                started = StartFirstAsync(slot);
                _started[slot] = started;
            }

            return started;
        }
    }

    /// <summary>The /etc/resolv.conf of an isolated instance: slirp4netns's forwarder, with the host's search domains and options.</summary>
    public static string ResolvConf(string hostResolvConf)
    {
        var text = new StringBuilder($"nameserver {NameServer}\n");
        if (File.Exists(hostResolvConf))
        {
            foreach (var line in File.ReadLines(hostResolvConf))
            {
                var trimmed = line.Trim();
                if (trimmed.StartsWith("search ", StringComparison.Ordinal) || trimmed.StartsWith("domain ", StringComparison.Ordinal) || trimmed.StartsWith("options ", StringComparison.Ordinal))
                {
                    text.Append(trimmed).Append('\n');
                }
            }
        }

        return text.ToString();
    }

    public void Dispose()
    {
        Process[] processes;
        lock (_lock)
        {
            _disposed = true;
            processes = [.. _processes.Values];
            _processes.Clear();
        }

        foreach (var process in processes)
        {
            try
            {
                // Closing its stdin is the signal (--exit-fd); the kill covers one that does not listen.
                process.StandardInput.Close();
                process.Kill();
            }
            catch (Exception e) when (e is InvalidOperationException or IOException or System.ComponentModel.Win32Exception)
            {
                // Already gone.
            }

            process.Dispose();
        }
    }

    private async Task StartFirstAsync(int slot)
    {
        // Off the caller's thread: the caller holds the lock, and starting a process blocks.
        await Task.Yield();
        try
        {
            await StartOneAsync(slot);
        }
        catch (Exception e) when (e is InvalidOperationException or IOException or System.ComponentModel.Win32Exception)
        {
            Log.EgressStartFailed(_logger, slot, e.Message);
        }
    }

    private async Task StartOneAsync(int slot)
    {
        SafeFileHandle network;
        lock (_lock)
        {
            network = _namespaces[slot];
        }

        // --enable-sandbox gives slirp4netns a mount namespace of its own, copied from the server's, and detaches the old
        // root from it; where the copies are still shared (the pre-started runtimes' code mounts are), the detach reaches
        // back and unmounts the server's own. unshare --propagation private first makes every copy private, so nothing
        // slirp4netns mounts or unmounts propagates (unshare execs slirp4netns: same pid, same pipes).
        var start = new ProcessStartInfo(_unshare ?? _path!)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (_unshare is not null)
        {
            foreach (var argument in (string[])["--mount", "--propagation", "private", _path!])
            {
                start.ArgumentList.Add(argument);
            }
        }

        // The namespace by a path to this server's own descriptor of it: slirp4netns opens it and setns()es in to create
        // and configure tap0. --enable-sandbox and --enable-seccomp confine slirp4netns itself (own mount namespace, no
        // capabilities but binding low ports, a syscall filter): it parses packets the instance sends. Without unshare
        // (see above) it runs without --enable-sandbox.
        var namespacePath = string.Create(CultureInfo.InvariantCulture, $"/proc/{Environment.ProcessId}/fd/{network.DangerousGetHandle()}");
        foreach (var argument in (string[])["--configure", "--mtu=65520", "--disable-host-loopback", .. (_unshare is null ? (string[])[] : ["--enable-sandbox"]), "--enable-seccomp", "--exit-fd=0", "--ready-fd=1", "--netns-type=path", namespacePath, "tap0"])
        {
            start.ArgumentList.Add(argument);
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {_path}");
        var errors = new StringBuilder();
        var drained = DrainAsync(process.StandardError, errors);
        try
        {
            using var timeout = new CancellationTokenSource(_deadline);
            if (!await WaitReadyAsync(process.StandardOutput, timeout.Token))
            {
                await drained.WaitAsync(TimeSpan.FromSeconds(1)).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                throw new InvalidOperationException(Describe(process, errors));
            }
        }
        catch
        {
            Stop(process);
            throw;
        }

        lock (_lock)
        {
            if (_disposed)
            {
                Stop(process);
                return;
            }

            _processes[slot] = process;
        }

        process.EnableRaisingEvents = true;
        process.Exited += (_, _) => _ = RestartAsync(slot, process, errors);
        if (process.HasExited)
        {
            _ = RestartAsync(slot, process, errors);
        }
    }

    private async Task RestartAsync(int slot, Process exited, StringBuilder errors)
    {
        lock (_lock)
        {
            if (_disposed || !_processes.TryGetValue(slot, out var current) || current != exited)
            {
                return;
            }

            _processes.Remove(slot);
        }

        string description;
        lock (errors)
        {
            description = Describe(exited, errors);
        }

        Log.EgressExited(_logger, slot, description);
        exited.Dispose();
        await Task.Delay(RestartDelay);
        try
        {
            await StartOneAsync(slot);
            Log.EgressRestarted(_logger, slot);
        }
        catch (Exception e) when (e is InvalidOperationException or IOException or System.ComponentModel.Win32Exception)
        {
            Log.EgressRestartFailed(_logger, slot, e.Message);
        }
    }

    /// <summary>slirp4netns writes "1" to --ready-fd once tap0 is configured; warnings come before it, a line each.</summary>
    private static async Task<bool> WaitReadyAsync(StreamReader output, CancellationToken cancellation)
    {
        var line = new StringBuilder();
        var buffer = new char[256];
        try
        {
            while (true)
            {
                var read = await output.ReadAsync(buffer, cancellation);
                if (read == 0)
                {
                    return false;
                }

                foreach (var c in buffer.AsSpan(0, read))
                {
                    if (c == '\n')
                    {
                        line.Clear();
                    }
                    else
                    {
                        line.Append(c);
                    }
                }

                if (line.ToString() == "1")
                {
                    _ = output.BaseStream.CopyToAsync(Stream.Null, CancellationToken.None);
                    return true;
                }
            }
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    /// <summary>Keeps the last lines slirp4netns printed (bounded), to tell why one failed or died.</summary>
    private static async Task DrainAsync(StreamReader error, StringBuilder kept)
    {
        try
        {
            while (await error.ReadLineAsync() is { } line)
            {
                lock (kept)
                {
                    if (kept.Length > 2048)
                    {
                        kept.Remove(0, kept.Length - 1024);
                    }

                    kept.Append(line.Length > 200 ? line[..200] : line).Append(" / ");
                }
            }
        }
        catch (IOException)
        {
            // The process is gone.
        }
    }

    private static string Describe(Process process, StringBuilder errors)
    {
        var said = errors.ToString().TrimEnd(' ', '/');
        var exit = process.HasExited ? $"exit code {process.ExitCode}" : "not ready in time";
        return said.Length == 0 ? exit : $"{exit}: {said}";
    }

    private static void Stop(Process process)
    {
        try
        {
            process.Kill();
        }
        catch (Exception e) when (e is InvalidOperationException or System.ComponentModel.Win32Exception)
        {
            // Already gone.
        }

        process.Dispose();
    }

    private static string? FindOnPath(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin:/bin")
            .Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Select(directory => Path.Combine(directory, name))
            .FirstOrDefault(File.Exists);
}
