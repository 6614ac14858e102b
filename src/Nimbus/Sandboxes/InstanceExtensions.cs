using System.Threading.Channels;

namespace Nimbus.Sandboxes;

/// <summary>
/// The external extensions of one instance (Extensions API 2020-01-01): executables from the layers'
/// <c>/opt/extensions</c>, started beside the runtime. Init ends once each of them registered and asked for its
/// first event; an invocation hands INVOKE to those that subscribed, and the instance is reused only once they have
/// all asked for their next event again; SHUTDOWN goes out when the instance is stopped. All state is guarded by
/// one lock; event delivery goes through a small bounded channel per extension.
/// </summary>
internal sealed class InstanceExtensions(IReadOnlyList<string> names)
{
    /// <summary>Lambda allows ten extensions per function.</summary>
    public const int MaxExtensions = 10;

    private readonly Lock _lock = new();
    private readonly List<RegisteredExtension> _registered = [];
    private readonly TaskCompletionSource _initDone = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private TaskCompletionSource _idle = Completed();
    private int _outstanding;

    /// <summary>The executables' file names, as found in /opt/extensions when the instance started.</summary>
    public IReadOnlyList<string> Names { get; } = names;

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
    public ValueTask<byte[]> NextAsync(RegisteredExtension extension, CancellationToken cancellationToken)
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
        }

        return extension.Events.Reader.ReadAsync(cancellationToken);
    }

    /// <summary>Hands an INVOKE (or SHUTDOWN) event to every extension that subscribed to it; false when none did.</summary>
    public bool Dispatch(byte[] body, bool shutdown)
    {
        var any = false;
        lock (_lock)
        {
            foreach (var extension in _registered)
            {
                if ((shutdown ? extension.Shutdown : extension.Invoke) && !extension.Busy && extension.Events.Writer.TryWrite(body))
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

    /// <summary>At most one event is outstanding; the second slot lets SHUTDOWN queue behind an unread INVOKE.</summary>
    public Channel<byte[]> Events { get; } = Channel.CreateBounded<byte[]>(new BoundedChannelOptions(2)
    {
        SingleReader = true,
        FullMode = BoundedChannelFullMode.Wait,
    });
}
