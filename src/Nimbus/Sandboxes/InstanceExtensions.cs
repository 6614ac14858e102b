using System.Threading.Channels;

namespace Nimbus.Sandboxes;

/// <summary>
/// The external extensions of one instance (Extensions API 2020-01-01): executables from the layers'
/// <c>/opt/extensions</c>, started beside the runtime. Init ends once each of them registered and asked for its
/// first event; an invocation hands INVOKE to those that subscribed, and the instance is reused only once they have
/// all asked for their next event again; SHUTDOWN goes out when the instance is stopped, after a timeout or after an
/// extension crashed. Each extension runs under a watcher that prints <see cref="ExitMarker"/> when it exits, which
/// is how an extension's death is known (<see cref="TryParseExit"/>). All state is guarded by one lock; event
/// delivery goes through a small bounded channel per extension.
/// </summary>
internal sealed class InstanceExtensions(IReadOnlyList<string> names, string exitMarker)
{
    /// <summary>The line's start a watcher prints when its extension exits: <c>nimbus-extension-exited &lt;nonce&gt; &lt;status&gt; &lt;file name&gt;</c>.</summary>
    public const string ExitMarkerPrefix = "nimbus-extension-exited ";

    /// <summary>Lambda allows ten extensions per function.</summary>
    public const int MaxExtensions = 10;

    private readonly Lock _lock = new();
    private readonly List<RegisteredExtension> _registered = [];
    private readonly TaskCompletionSource _initDone = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource<string> _crashed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private TaskCompletionSource _idle = Completed();
    private int _outstanding;

    // The shutdown phase: the SHUTDOWN event's body (compared by reference), and the extensions yet to finish it.
    private byte[]? _shutdownBody;
    private TaskCompletionSource? _shutdownDone;
    private int _shutdownPending;

    /// <summary>The executables' file names, as found in /opt/extensions when the instance started.</summary>
    public IReadOnlyList<string> Names { get; } = names;

    /// <summary><see cref="ExitMarkerPrefix"/> and this instance's nonce: only its own watchers print it.</summary>
    public string ExitMarker { get; } = ExitMarkerPrefix + exitMarker + " ";

    /// <summary>Completes with how an extension ended (<c>exit code N</c>) when one exited outside the shutdown phase.</summary>
    public Task<string> Crashed => _crashed.Task;

    /// <summary>Completes once every extension registered and asked for its first event.</summary>
    public Task InitDone => _initDone.Task;

    /// <summary>Completes once no extension still works on an event it was given.</summary>
    public Task Idle
    {
        get
        {
            lock (_lock)
            {
                return _idle.Task;
            }
        }
    }

    public bool IsIdle
    {
        get
        {
            lock (_lock)
            {
                return _outstanding == 0;
            }
        }
    }

    /// <summary>Registers an extension during init; null and a reason once init is over or the limit is reached.</summary>
    public (RegisteredExtension? Extension, string? Error) Register(string name, bool invoke, bool shutdown)
    {
        lock (_lock)
        {
            if (_initDone.Task.IsCompleted)
            {
                return (null, "Extensions can only register during the init phase.");
            }

            if (_registered.Count >= MaxExtensions)
            {
                return (null, $"A function can have at most {MaxExtensions} extensions.");
            }

            if (_registered.Any(e => e.Name == name))
            {
                return (null, $"Extension {name} is already registered.");
            }

            var extension = new RegisteredExtension(Guid.NewGuid().ToString(), name, invoke, shutdown);
            _registered.Add(extension);
            return (extension, null);
        }
    }

    public RegisteredExtension? Find(string id)
    {
        lock (_lock)
        {
            return _registered.Find(e => e.Id == id);
        }
    }

    /// <summary>GET event/next: the extension is done with its last event (or with init); waits for its next one.</summary>
    public async ValueTask<byte[]> NextAsync(RegisteredExtension extension, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            if (!extension.InitReady)
            {
                extension.InitReady = true;
                if (_registered.Count >= Names.Count && _registered.All(e => e.InitReady))
                {
                    _initDone.TrySetResult();
                }
            }

            if (extension.Busy)
            {
                extension.Busy = false;
                if (--_outstanding == 0)
                {
                    _idle.TrySetResult();
                }
            }

            if (extension.ShutdownReceived)
            {
                FinishShutdownLocked(extension);
            }
        }

        var body = await extension.Events.Reader.ReadAsync(cancellationToken).ConfigureAwait(false);
        if (ReferenceEquals(body, Volatile.Read(ref _shutdownBody)))
        {
            lock (_lock)
            {
                extension.ShutdownReceived = true;
            }
        }

        return body;
    }

    /// <summary>Hands an INVOKE event to every extension that subscribed to it; false when none did.</summary>
    public bool Dispatch(byte[] body)
    {
        var any = false;
        lock (_lock)
        {
            foreach (var extension in _registered)
            {
                if (extension.Invoke && !extension.Busy && !extension.Exited && extension.Events.Writer.TryWrite(body))
                {
                    extension.Busy = true;
                    if (_outstanding++ == 0)
                    {
                        _idle = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                    }

                    any = true;
                }
            }
        }

        return any;
    }

    /// <summary>
    /// Starts the shutdown phase: SHUTDOWN to every live extension that subscribed to it, even one still at work on
    /// an INVOKE (it reads SHUTDOWN next). Completes once each has asked for its next event again or exited; null
    /// when none subscribed. From now on an extension's exit is no crash.
    /// </summary>
    public Task? DispatchShutdown(byte[] body)
    {
        lock (_lock)
        {
            if (_shutdownBody is not null)
            {
                return _shutdownDone?.Task;
            }

            Volatile.Write(ref _shutdownBody, body);
            foreach (var extension in _registered)
            {
                if (extension.Shutdown && !extension.Exited && extension.Events.Writer.TryWrite(body))
                {
                    extension.ShutdownPending = true;
                    _shutdownPending++;
                }
            }

            if (_shutdownPending == 0)
            {
                return null;
            }

            _shutdownDone = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            return _shutdownDone.Task;
        }
    }

    /// <summary>
    /// A line the instance printed: true when it is one of this instance's exit markers, with the extension's file
    /// name and how it ended (<c>exit code N</c>, or the signal). The watcher reports the shell's status: above
    /// 128 means killed by signal status - 128.
    /// </summary>
    public bool TryParseExit(string line, out string name, out string ended)
    {
        name = ended = "";
        if (!line.StartsWith(ExitMarker, StringComparison.Ordinal))
        {
            return false;
        }

        var rest = line.AsSpan(ExitMarker.Length);
        var space = rest.IndexOf(' ');
        if (space <= 0 || !int.TryParse(rest[..space], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var status))
        {
            return false;
        }

        name = rest[(space + 1)..].ToString();
        // Lambda words an extension's end "exit code N" (a runtime's, "exit status N").
        ended = status > 128 ? new SandboxExit(0, null, status - 128).Describe() : string.Create(System.Globalization.CultureInfo.InvariantCulture, $"exit code {status}");
        return true;
    }

    /// <summary>An extension's process ended: a crash unless the shutdown phase began. True when it was one.</summary>
    public bool OnExited(string name, string ended)
    {
        lock (_lock)
        {
            var extension = _registered.Find(e => e.Name == name);
            if (extension is not null)
            {
                extension.Exited = true;
                if (extension.Busy)
                {
                    extension.Busy = false;
                    if (--_outstanding == 0)
                    {
                        _idle.TrySetResult();
                    }
                }

                FinishShutdownLocked(extension);
            }

            return _shutdownBody is null && _crashed.TrySetResult(ended);
        }
    }

    private void FinishShutdownLocked(RegisteredExtension extension)
    {
        if (extension.ShutdownPending)
        {
            extension.ShutdownPending = false;
            if (--_shutdownPending == 0)
            {
                _shutdownDone?.TrySetResult();
            }
        }
    }

    private static TaskCompletionSource Completed()
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        done.SetResult();
        return done;
    }
}

/// <summary>One registered extension; its flags are guarded by <see cref="InstanceExtensions"/>'s lock.</summary>
internal sealed class RegisteredExtension(string id, string name, bool invoke, bool shutdown)
{
    public string Id { get; } = id;

    public string Name { get; } = name;

    public bool Invoke { get; } = invoke;

    public bool Shutdown { get; } = shutdown;

    /// <summary>Asked for its first event: its init is done.</summary>
    public bool InitReady { get; set; }

    /// <summary>Holds an event it has not finished yet (it has not asked for the next one).</summary>
    public bool Busy { get; set; }

    /// <summary>Its process has exited.</summary>
    public bool Exited { get; set; }

    /// <summary>Was sent SHUTDOWN and has neither asked for its next event since reading it nor exited.</summary>
    public bool ShutdownPending { get; set; }

    /// <summary>Has read SHUTDOWN: its next event/next call ends its shutdown.</summary>
    public bool ShutdownReceived { get; set; }

    /// <summary>At most one event is outstanding; the second slot lets SHUTDOWN queue behind an unread INVOKE.</summary>
    public Channel<byte[]> Events { get; } = Channel.CreateBounded<byte[]>(new BoundedChannelOptions(2)
    {
        SingleReader = true,
        FullMode = BoundedChannelFullMode.Wait,
    });
}
