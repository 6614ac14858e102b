using System.Diagnostics;

namespace Nimbus.Sandboxes;

/// <summary>
/// An <see cref="ISandbox"/> backed by one host process (bwrap, or the runtime itself) whose stdout and stderr
/// are pumped line by line. The manager owns it: it is killed when disposed or when the server exits.
/// </summary>
internal sealed class SandboxProcess : ISandbox
{
    private readonly Process _process;
    private readonly OutputPump _stdout;
    private readonly OutputPump _stderr;
    private readonly bool _killTree;
    private readonly Action? _cleanup;
    private long _peakMemory;

    public SandboxProcess(ProcessStartInfo start, Func<string, ValueTask> onOutputLine, bool killTree, Action? cleanup = null)
    {
        start.UseShellExecute = false;
        start.RedirectStandardInput = true;
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        _killTree = killTree;
        _cleanup = cleanup;
        _process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {start.FileName}.");
        _process.StandardInput.Close();
        ProcessId = _process.Id;
        _stdout = new OutputPump(_process.StandardOutput.BaseStream, onOutputLine);
        _stderr = new OutputPump(_process.StandardError.BaseStream, onOutputLine);
        Exited = WaitForExitAsync();
    }

    public int ProcessId { get; }

    public Task<SandboxExit> Exited { get; }

    public void Kill()
    {
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
        if (!_process.HasExited)
        {
            _peakMemory = Math.Max(_peakMemory, ProcessTree.PeakResidentBytes(ProcessId));
        }

        return _peakMemory;
    }

    public async Task DrainOutputAsync(CancellationToken cancellationToken)
    {
        await Task.WhenAll(_stdout.DrainAsync(cancellationToken), _stderr.DrainAsync(cancellationToken)).ConfigureAwait(false);
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
        _cleanup?.Invoke();
        var code = _process.ExitCode;

        // Both .NET and bwrap report death by signal N as 128 + N.
        return code is > 128 and < 160 ? new SandboxExit(ProcessId, null, code - 128) : new SandboxExit(ProcessId, code, null);
    }
}
