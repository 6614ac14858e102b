using System.Text.Json;

namespace Nimbus.Sandboxes;

/// <summary>
/// The shape a pre-started runtime is started in. Node's, .NET's and the JVM's heap limits are start-up settings derived from the
/// function's memory, and /tmp's size is fixed when the sandbox is made, so both are part of the shape;
/// everything else (code, environment, memory and CPU limits) is handed over at specialization.
/// </summary>
internal readonly record struct PrestartKey(RuntimeFamily Family, string Executable, int HeapMb, int EphemeralStorageMb);

/// <summary>
/// A runtime started in its sandbox before any function needed it: the runtime client has loaded and waits on
/// <see cref="RuntimeApi.AssignmentPath"/> for a function. Specializing it mounts the function's code at
/// /var/task, applies the function's limits and answers that request with the function's environment; from
/// then on it is an ordinary instance whose Init Duration starts at the specialization.
/// </summary>
internal sealed class PrestartedRuntime(PrestartKey key, string id, int port, int userId)
{
    private readonly TaskCompletionSource _waiting = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource<byte[]> _assignment = new(TaskCreationOptions.RunContinuationsAsynchronously);

    // Set once, by the specialization, before the assignment is released to the runtime.
    private volatile Func<string, ValueTask>? _sink;
    private int _stopping;

    /// <summary>Most lines of an unassigned runtime's output kept for the warning if it dies unused.</summary>
    internal const int KeptLines = 5;

    /// <summary>Longest kept line, in characters; longer lines are cut.</summary>
    internal const int KeptLineLength = 300;

    // The last lines written before any function took the runtime; guarded by itself.
    private readonly Queue<string> _recent = new();

    public PrestartKey Key { get; } = key;

    public string Id { get; } = id;

    public int Port { get; } = port;

    public int UserId { get; } = userId;

    public ISandbox? Sandbox { get; private set; }

    /// <summary>True once the runtime client has loaded and asked for its function.</summary>
    public bool IsWaiting => _waiting.Task.IsCompleted;

    /// <summary>Completes when the runtime client has loaded and asked for its function.</summary>
    public Task Loaded => _waiting.Task;

    public bool IsAssigned => _assignment.Task.IsCompleted;

    public void Attach(ISandbox sandbox) => Sandbox = sandbox;

    /// <summary>True for the first caller only: that caller stops the runtime and returns its port.</summary>
    public bool TryBeginStop() => Interlocked.Exchange(ref _stopping, 1) == 0;

    /// <summary>
    /// Lines the runtime writes: until it belongs to an instance, only the last <see cref="KeptLines"/> are kept (for
    /// <see cref="RecentOutput"/>); then they are that instance's log.
    /// </summary>
    public ValueTask OnOutputLineAsync(string line)
    {
        if (_sink is { } sink)
        {
            return sink(line);
        }

        lock (_recent)
        {
            if (_recent.Count == KeptLines)
            {
                _recent.Dequeue();
            }

            _recent.Enqueue(Sanitize(line));
        }

        return ValueTask.CompletedTask;
    }

    /// <summary>The last lines the runtime wrote before any function took it, joined by " | "; "" when none.</summary>
    public string RecentOutput()
    {
        lock (_recent)
        {
            return string.Join(" | ", _recent);
        }
    }

    private static string Sanitize(string line)
    {
        var cut = line.Length > KeptLineLength ? line[..KeptLineLength] + "…" : line;
        return string.Create(cut.Length, cut, static (span, source) =>
        {
            for (var i = 0; i < source.Length; i++)
            {
                span[i] = char.IsControl(source[i]) ? ' ' : source[i];
            }
        });
    }

    /// <summary>Runtime API side: the runtime waits here for the environment of the function it becomes.</summary>
    public Task<byte[]> WaitForAssignmentAsync(CancellationToken cancellationToken)
    {
        _waiting.TrySetResult();
        return _assignment.Task.WaitAsync(cancellationToken);
    }

    /// <summary>Manager side: releases the runtime into its function, with the full environment it must take on.</summary>
    public void Assign(IReadOnlyDictionary<string, string> environment, Func<string, ValueTask> sink)
    {
        _sink = sink;
        _assignment.TrySetResult(AssignmentBody(environment));
    }

    /// <summary><c>{"environment":{...}}</c>: the runtime replaces its whole environment with this one.</summary>
    internal static byte[] AssignmentBody(IReadOnlyDictionary<string, string> environment)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteStartObject("environment");
            foreach (var (name, value) in environment)
            {
                writer.WriteString(name, value);
            }

            writer.WriteEndObject();
            writer.WriteEndObject();
        }

        return buffer.ToArray();
    }
}
