using System.Diagnostics;

namespace Nimbus.Sandboxes;

/// <summary>
/// An <see cref="ISandbox"/> backed by one host process (bwrap, or the runtime itself) whose stdout and stderr
/// are pumped line by line. The manager owns it: it is killed when disposed or when the server exits.
/// </summary>
internal sealed class SandboxProcess : ISandbox
{
    /// <summary>Lambda's limit on file descriptors per execution environment.</summary>
    private const int MaxOpenFiles = 1_024;

    private readonly Process _process;
    private readonly OutputPump _stdout;
    private readonly OutputPump _stderr;
    private readonly bool _killTree;
    private readonly InstanceCgroup? _cgroup;
    private readonly Action? _cleanup;
    private readonly Action<string>? _assignCode;
    private long _peakMemory;

    // Without a cgroup: the peaks of the instance's process tree.
    private readonly ProcessTreePeak? _treePeak;
    private volatile bool _outOfMemoryAtExit;

    private SandboxProcess(Process process, Func<string, ValueTask> onOutputLine, bool killTree, InstanceCgroup? cgroup, Action? cleanup, int? userId, Action<string>? assignCode, int wrapperDepth)
    {
        _assignCode = assignCode;
        _process = process;
        UserId = userId;
        _killTree = killTree;
        _cgroup = cgroup;
        _cleanup = cleanup;
        _process.StandardInput.Close();
        ProcessId = _process.Id;
        _treePeak = cgroup is null ? new ProcessTreePeak(ProcessId, wrapperDepth) : null;
        _stdout = new OutputPump(_process.StandardOutput.BaseStream, onOutputLine);
        _stderr = new OutputPump(_process.StandardError.BaseStream, onOutputLine);
        Exited = WaitForExitAsync();
    }

    /// <summary>
    /// Starts the command (inside <paramref name="cgroup"/> from its first instruction, when given).
    /// <paramref name="assignCode"/> is how a pre-started sandbox receives its code later (see <see cref="Specialize"/>).
    /// <paramref name="network"/>: the network namespace to start in (null: the server's). <paramref name="wrapperDepth"/>:
    /// how many levels of the tree, from its first process down, are the sandbox's own wrappers, whose memory is set
    /// before the runtime starts (bwrap and its pid-1 child: 2; 0 when the command runs as the first process).
    /// </summary>
    public static async Task<SandboxProcess> StartAsync(ProcessStartInfo start, Func<string, ValueTask> onOutputLine, bool killTree, InstanceCgroup? cgroup, Action? cleanup = null, int? userId = null, Action<string>? assignCode = null, Microsoft.Win32.SafeHandles.SafeFileHandle? network = null, int wrapperDepth = 0)
    {
        start = WrapInInstanceShell(start, cgroup);

        start.UseShellExecute = false;
        start.RedirectStandardInput = true;
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        try
        {
            var process = await ProcessLauncher.StartAsync(start, network).ConfigureAwait(false);
            return new SandboxProcess(process, onOutputLine, killTree, cgroup, cleanup, userId, assignCode, wrapperDepth);
        }
        catch
        {
            cgroup?.Delete();
            cleanup?.Invoke();
            throw;
        }
    }

    public int ProcessId { get; }

    public int? UserId { get; }

    public Task<SandboxExit> Exited { get; }

    public bool OutOfMemory => _outOfMemoryAtExit || (_cgroup?.OutOfMemoryKilled() ?? false);

    public void Freeze() => _cgroup?.Freeze();

    public void Thaw() => _cgroup?.Thaw();

    public void Specialize(string codeDirectory, int memoryMb)
    {
        if (_assignCode is null)
        {
            throw new IOException("This sandbox was started with its code; it cannot take other code.");
        }

        _assignCode(codeDirectory);
        _cgroup?.SetLimits(CgroupLimits.ForMemory(memoryMb));
    }

    public void Kill()
    {
        // A frozen process cannot die until thawed; the cgroup also reaches processes that left the tree.
        _cgroup?.KillAll();
        try
        {
            _process.Kill(entireProcessTree: _killTree);
        }
        catch (InvalidOperationException)
        {
            // Already exited.
        }
    }

    public long PeakMemoryBytes()
    {
        if (_cgroup is not null)
        {
            return _peakMemory = Math.Max(_peakMemory, _cgroup.PeakMemoryBytes());
        }

        if (_treePeak is not null && !_process.HasExited)
        {
            _peakMemory = Math.Max(_peakMemory, _treePeak.Sample(Environment.TickCount64));
        }

        return _peakMemory;
    }

    public Task DrainOutputAsync(CancellationToken cancellationToken)
    {
        _stdout.Drain();
        _stderr.Drain();
        return Task.CompletedTask;
    }

    public async ValueTask DisposeAsync()
    {
        Kill();
        await Exited.ConfigureAwait(false);
        _process.Dispose();
    }

    private async Task<SandboxExit> WaitForExitAsync()
    {
        await _process.WaitForExitAsync().ConfigureAwait(false);
        await Task.WhenAll(_stdout.Completion, _stderr.Completion).WaitAsync(TimeSpan.FromSeconds(2)).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        if (_cgroup is not null)
        {
            _peakMemory = Math.Max(_peakMemory, _cgroup.PeakMemoryBytes());
            _outOfMemoryAtExit = _cgroup.OutOfMemoryKilled();
            _cgroup.KillAll();
            await _cgroup.DeleteAsync().ConfigureAwait(false);
        }

        _treePeak?.Dispose();
        _cleanup?.Invoke();
        var code = _process.ExitCode;

        // Both .NET and bwrap report death by signal N as 128 + N.
        return code is > 128 and < 160 ? new SandboxExit(ProcessId, null, code - 128) : new SandboxExit(ProcessId, code, null);
    }

    /// <summary>
    /// Runs the command through a shell that first sets Lambda's limit of 1,024 open files and writes its own
    /// pid into the instance's cgroup, then execs the command: the sandbox's first process is inside and
    /// limited before it can open or fork anything.
    /// </summary>
    private static ProcessStartInfo WrapInInstanceShell(ProcessStartInfo command, InstanceCgroup? cgroup)
    {
        var procsFiles = cgroup?.ProcsFiles ?? [];
        var wrapped = new ProcessStartInfo("/bin/sh") { WorkingDirectory = command.WorkingDirectory };
        wrapped.ArgumentList.Add("-c");
        wrapped.ArgumentList.Add($"ulimit -n {MaxOpenFiles} || exit 125; n=$1; shift; while [ \"$n\" -gt 0 ]; do echo $$ > \"$1\" || exit 125; shift; n=$((n-1)); done; exec \"$@\"");
        wrapped.ArgumentList.Add("nimbus-instance");
        wrapped.ArgumentList.Add(procsFiles.Count.ToString(System.Globalization.CultureInfo.InvariantCulture));
        foreach (var file in procsFiles)
        {
            wrapped.ArgumentList.Add(file);
        }

        wrapped.ArgumentList.Add(command.FileName);
        foreach (var argument in command.ArgumentList)
        {
            wrapped.ArgumentList.Add(argument);
        }

        wrapped.Environment.Clear();
        foreach (var (key, value) in command.Environment)
        {
            wrapped.Environment[key] = value;
        }

        return wrapped;
    }
}
