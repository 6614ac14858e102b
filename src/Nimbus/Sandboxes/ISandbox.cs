namespace Nimbus.Sandboxes;

/// <summary>How an instance ended: its exit code, or the signal that killed it.</summary>
internal readonly record struct SandboxExit(int ProcessId, int? ExitCode, int? Signal)
{
    /// <summary>Worded as Lambda words it in <c>Runtime exited with error: ...</c>.</summary>
    public string Describe() => Signal is { } signal ? $"signal: {SignalName(signal)}" : $"exit status {ExitCode}";

    private static string SignalName(int signal) => signal switch
    {
        9 => "killed",
        6 => "aborted",
        11 => "segmentation fault",
        15 => "terminated",
        _ => $"signal {signal}",
    };
}

/// <summary>Paths a runtime sees inside its sandbox.</summary>
internal sealed record SandboxPaths(string TaskRoot, string RuntimeDirectory);

/// <summary>
/// What to start: host paths, the command in sandbox paths, and the full environment. A null
/// <see cref="CodeDirectory"/> asks for a pre-started sandbox: /var/task stays empty until
/// <see cref="ISandbox.Specialize"/> hands it a function's code. <c>OptDirectory</c> is the function's layers
/// unpacked in order, mounted read-only at /opt (null: no layers). <c>Network</c> is the network namespace the
/// instance starts in (its Runtime API slot's, see <see cref="RuntimePortPool"/>); null: the server's own.
/// <c>Background</c>: the sandbox starts at the lowest CPU weight (a pre-started runtime), until <see cref="ISandbox.Specialize"/>
/// gives it its function's.
/// </summary>
internal sealed record SandboxSpec(
    string InstanceId,
    int UserId,
    string? CodeDirectory,
    string RuntimesDirectory,
    IReadOnlyList<string> ReadOnlyHostPaths,
    string Executable,
    IReadOnlyList<string> Arguments,
    IReadOnlyDictionary<string, string> Environment,
    int MemoryMb,
    int EphemeralStorageMb,
    string? OptDirectory = null,
    Microsoft.Win32.SafeHandles.SafeFileHandle? Network = null,
    bool Background = false);

/// <summary>
/// One running instance's process tree, isolated however the factory isolates it. The pool never knows how:
/// bubblewrap namespaces on Linux, a plain process where bubblewrap is missing.
/// </summary>
internal interface ISandbox : IAsyncDisposable
{
    int ProcessId { get; }

    /// <summary>The uid the runtime runs as, when the sandbox gives it one of its own; else null.</summary>
    int? UserId { get; }

    /// <summary>Completes when the whole tree has exited.</summary>
    Task<SandboxExit> Exited { get; }

    /// <summary>Kills the whole process tree at once (SIGKILL).</summary>
    void Kill();

    /// <summary>Peak memory of the tree so far, in bytes: the cgroup's peak where there is one.</summary>
    long PeakMemoryBytes();

    /// <summary>True when the kernel killed the instance for going over its memory limit.</summary>
    bool OutOfMemory { get; }

    /// <summary>Stops the tree between invocations so it uses no CPU (no-op without a freezer).</summary>
    void Freeze();

    /// <summary>Lets a frozen tree run again.</summary>
    void Thaw();

    /// <summary>
    /// Gives a pre-started sandbox its function: the code read-only at /var/task and the limits of
    /// <paramref name="memoryMb"/>. Throws <see cref="IOException"/> when the sandbox cannot take it.
    /// </summary>
    void Specialize(string codeDirectory, int memoryMb);

    /// <summary>Waits until every byte the tree wrote to stdout/stderr so far has been handed to the line sink.</summary>
    Task DrainOutputAsync(CancellationToken cancellationToken);
}

internal interface ISandboxFactory
{
    /// <summary>A short name for logs, such as "bubblewrap + cgroup v1" or "process".</summary>
    string Kind { get; }

    SandboxPaths PathsFor(string codeDirectory, string runtimesDirectory);

    /// <summary>True when this factory can start sandboxes before their function is known (a null code directory).</summary>
    bool CanPrestart { get; }

    Task<ISandbox> StartAsync(SandboxSpec spec, Func<string, ValueTask> onOutputLine);
}
