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

    private const int EarlyLines = 4;
    private const int EarlyLineLength = 300;

    // The last lines written before the assignment (guarded by itself).
    private readonly Queue<string> _early = new();
    private int _stopping;

    public PrestartKey Key { get; } = key;

    public string Id { get; } = id;

    public int Port { get; } = port;

    public int UserId { get; } = userId;

    public ISandbox? Sandbox { get; private set; }

    /// <summary>True once the runtime client has loaded and asked for its function.</summary>
    public bool IsWaiting => _waiting.Task.IsCompleted;

    public bool IsAssigned => _assignment.Task.IsCompleted;

    public void Attach(ISandbox sandbox) => Sandbox = sandbox;

    /// <summary>True for the first caller only: that caller stops the runtime and returns its port.</summary>
    public bool TryBeginStop() => Interlocked.Exchange(ref _stopping, 1) == 0;

    /// <summary>
    /// Lines the runtime writes: that instance's log once it belongs to an instance; before that only the last few are
    /// kept (bounded, <see cref="EarlyOutput"/>), so that a runtime that dies unused can say why.
    /// </summary>
    public ValueTask OnOutputLineAsync(string line)
    {
        if (_sink is { } sink)
        {
            return sink(line);
        }

        lock (_early)
        {
            if (_early.Count == EarlyLines)
            {
                _early.Dequeue();
            }

            _early.Enqueue(line.Length > EarlyLineLength ? line[..EarlyLineLength] : line);
        }

        return ValueTask.CompletedTask;
    }

    /// <summary>
    /// The last lines the runtime (or its sandbox's wrappers: the instance shell, bwrap, setpriv) wrote before any function
    /// used it, control characters replaced, joined by " / "; empty when it wrote none.
    /// </summary>
    public string EarlyOutput()
    {
        lock (_early)
        {
            return string.Join(" / ", _early.Select(line => string.Concat(line.Select(c => char.IsControl(c) ? '?' : c))));
        }
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
