using System.Collections.Concurrent;
using System.Net;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Nimbus.Sandboxes;

/// <summary>
/// Loopback ports that serve the Runtime API, one per running instance: the port a request arrives on tells
/// which instance is calling, as <c>AWS_LAMBDA_RUNTIME_API</c> tells a runtime where to call. Kestrel binds them
/// all at start-up (it cannot add listeners later); the pool size caps how many instances run at once.
/// </summary>
internal sealed class RuntimePortPool
{
    private readonly List<ListenOptions> _listeners = [];
    private readonly ConcurrentQueue<int> _free = new();
    private readonly ConcurrentDictionary<int, SandboxInstance?> _owners = new();
    private readonly ConcurrentDictionary<int, PrestartedRuntime> _prestarted = new();
    private readonly Dictionary<int, int> _slots = [];
    private volatile bool _ready;

    public int Capacity => _listeners.Count;

    /// <summary>Adds <paramref name="count"/> listeners on 127.0.0.1 with OS-assigned ports.</summary>
    public void Configure(KestrelServerOptions kestrel, int count)
    {
        for (var i = 0; i < count; i++)
        {
            kestrel.Listen(IPAddress.Loopback, 0, listen => _listeners.Add(listen));
        }
    }

    /// <summary>Called once the server has bound: the real ports are known only now.</summary>
    public void OnServerStarted()
    {
        foreach (var listen in _listeners)
        {
            var port = listen.IPEndPoint!.Port;
            _slots[port] = _slots.Count;
            _owners[port] = null;
            _free.Enqueue(port);
        }

        _ready = true;
    }

    public bool IsRuntimePort(int port) => _ready && _owners.ContainsKey(port);

    public bool TryRent(out int port) => _free.TryDequeue(out port);

    /// <summary>Ports no instance or pre-started runtime holds.</summary>
    public int FreeCount => _free.Count;

    /// <summary>0-based index of a port in the pool: stable, unique among running instances.</summary>
    public int SlotOf(int port) => _slots[port];

    public void Bind(int port, SandboxInstance instance) => _owners[port] = instance;

    /// <summary>
    /// A pre-started runtime holds the port. It stays known after it becomes an instance, until the port is
    /// returned, so its request for the assignment is answered even when it arrives after the specialization.
    /// </summary>
    public void Bind(int port, PrestartedRuntime runtime) => _prestarted[port] = runtime;

    public SandboxInstance? Owner(int port) => _owners.TryGetValue(port, out var owner) ? owner : null;

    public PrestartedRuntime? PrestartedOwner(int port) => _prestarted.TryGetValue(port, out var runtime) ? runtime : null;

    public void Return(int port)
    {
        _prestarted.TryRemove(port, out _);
        _owners[port] = null;
        _free.Enqueue(port);
    }
}
