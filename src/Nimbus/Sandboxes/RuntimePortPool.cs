using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Logging;
using Microsoft.Win32.SafeHandles;

namespace Nimbus.Sandboxes;

/// <summary>
/// Loopback ports that serve the Runtime API, one per running instance: the port a request arrives on tells
/// which instance is calling, as <c>AWS_LAMBDA_RUNTIME_API</c> tells a runtime where to call. Kestrel binds them
/// all at start-up (it cannot add listeners later); the pool size caps how many instances run at once.
/// <para>
/// With <see cref="SandboxNetwork.Isolated"/> (the default), each port is a slot with a network namespace of its own,
/// created at start (Kestrel takes its listeners then) and reused by the instances that rent the port one after the
/// other: its loopback holds only the Runtime API listener and a listener of the AWS APIs (the instance's
/// <c>AWS_ENDPOINT_URL</c>), both served by this server, and its egress is a user-mode NAT (<see cref="SandboxEgress"/>),
/// started when the slot is first rented, that leads to other hosts and the internet but not to the host's loopback: an
/// instance reaches neither another instance's sockets nor the host's loopback services. Both ports are also held
/// (bound, not listening) on the host's loopback, so no listener of the host can have a slot's port: the port a
/// connection arrives on still tells the Runtime API from the AWS APIs, and which instance is calling.
/// </para>
/// </summary>
internal sealed partial class RuntimePortPool(ILogger<RuntimePortPool> logger) : IDisposable
{
    private readonly List<int> _hostPorts = [];
    private readonly List<int> _isolatedPorts = [];

    // The Runtime API's listening sockets by descriptor: RuntimeApiTransport serves exactly these.
    private readonly Dictionary<ulong, Socket> _runtimeListeners = [];
    private bool _inlineSends;
    private readonly Dictionary<int, (int Index, SafeFileHandle Namespace, string EndpointUrl)> _namespaces = [];
    private readonly List<Socket> _sockets = [];
    private readonly ConcurrentQueue<int> _free = new();
    private readonly ConcurrentDictionary<int, SandboxInstance?> _owners = new();
    private readonly ConcurrentDictionary<int, PrestartedRuntime> _prestarted = new();
    private readonly Dictionary<int, int> _slots = [];
    private SandboxEgress? _egress;
    private volatile bool _ready;

    /// <summary>How long each slot's slirp4netns may take to configure its namespace at start (a loaded machine is slow).</summary>
    private static readonly TimeSpan EgressDeadline = TimeSpan.FromSeconds(60);

    public int Capacity => _hostPorts.Count + _isolatedPorts.Count;

    /// <summary>True when every port is a slot with a network namespace of its own.</summary>
    public bool IsIsolated => _isolatedPorts.Count > 0;

    /// <summary>
    /// Adds <paramref name="count"/> listeners on 127.0.0.1 with OS-assigned ports: on the host's loopback, or with
    /// <see cref="SandboxNetwork.Isolated"/> each in a network namespace of its own with an AWS API listener beside it.
    /// With inlineSends the Runtime API's answers are sent by the thread that wrote them (<see cref="Http.InlineSends"/>).
    /// </summary>
    public void Configure(KestrelServerOptions kestrel, int count, SandboxNetwork network = SandboxNetwork.Host, string slirp4netns = SandboxEgress.DefaultProgram, bool inlineSends = false)
    {
        _inlineSends = inlineSends;
        if (network == SandboxNetwork.Host)
        {
            for (var i = 0; i < count; i++)
            {
                var socket = ListenInHere(0);
                _sockets.Add(socket);
                _hostPorts.Add(((IPEndPoint)socket.LocalEndPoint!).Port);
                ListenRuntimeApi(kestrel, socket);
            }

            return;
        }

        var clock = Stopwatch.StartNew();
        var ports = new (int Runtime, int Endpoint)[count];
        for (var i = 0; i < count; i++)
        {
            ports[i] = (HoldHostPort(), HoldHostPort());
        }

        var inside = new Socket[count, 2];
        var namespaces = NetworkNamespace.Create(count, i =>
        {
            inside[i, 0] = ListenInHere(ports[i].Runtime);
            inside[i, 1] = ListenInHere(ports[i].Endpoint);
        });
        for (var i = 0; i < count; i++)
        {
            _sockets.Add(inside[i, 0]);
            _sockets.Add(inside[i, 1]);
            _isolatedPorts.Add(ports[i].Runtime);
            _namespaces[ports[i].Runtime] = (i, namespaces[i], $"http://127.0.0.1:{ports[i].Endpoint}");

            // Kestrel wraps the descriptors without owning them; this pool closes them when the server stops.
            ListenRuntimeApi(kestrel, inside[i, 0]);
            kestrel.ListenHandle((ulong)inside[i, 1].Handle);
        }

        var created = clock.ElapsedMilliseconds;
        _egress = SandboxEgress.Start(slirp4netns, namespaces, logger, EgressDeadline);
        if (_egress.Enabled)
        {
            Log.NamespacesCreated(logger, count, created, clock.ElapsedMilliseconds - created);
        }
        else
        {
            Log.NamespacesCreatedWithoutEgress(logger, count, created);
        }
    }

    /// <summary>The listening socket of a Runtime API port by its descriptor; null for any other listener.</summary>
    public Socket? ListeningSocket(ulong handle) => _runtimeListeners.GetValueOrDefault(handle);

    // Kestrel wraps the descriptor without owning it; RuntimeApiTransport accepts on it (this pool closes it at stop).
    private void ListenRuntimeApi(KestrelServerOptions kestrel, Socket socket)
    {
        var handle = (ulong)socket.Handle;
        _runtimeListeners[handle] = socket;
        if (_inlineSends)
        {
            kestrel.ListenHandle(handle, listen => listen.Use(Http.InlineSends.Middleware));
        }
        else
        {
            kestrel.ListenHandle(handle);
        }
    }

    /// <summary>
    /// The network namespace an instance on <paramref name="port"/> must start in, once the slot's egress is up (started at
    /// the slot's first rent, so this waits only the first time a slot is used); null when instances share the host's.
    /// </summary>
    public async ValueTask<SafeFileHandle?> NetworkOfAsync(int port)
    {
        if (!_namespaces.TryGetValue(port, out var slot))
        {
            return null;
        }

        if (_egress is not null)
        {
            await _egress.EnsureStartedAsync(slot.Index).ConfigureAwait(false);
        }

        return slot.Namespace;
    }

    /// <summary>The AWS API URL an instance on <paramref name="port"/> reaches from its own namespace; null when it shares the host's.</summary>
    public string? EndpointUrlOf(int port) => _namespaces.TryGetValue(port, out var slot) ? slot.EndpointUrl : null;

    public void Dispose()
    {
        // First: a slirp4netns that exits now must not be started again on a namespace about to close.
        _egress?.Dispose();
        foreach (var socket in _sockets)
        {
            socket.Dispose();
        }

        foreach (var (_, handle, _) in _namespaces.Values)
        {
            handle.Dispose();
        }
    }

    /// <summary>Binds (without listening) a free port of the host's loopback, so no host listener can take it.</summary>
    private int HoldHostPort()
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        _sockets.Add(socket);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)socket.LocalEndPoint!).Port;
    }

    private static Socket ListenInHere(int port)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, port));
        socket.Listen(512);
        return socket;
    }

    /// <summary>Called once the server has bound: the real ports are known only now.</summary>
    public void OnServerStarted()
    {
        foreach (var port in _hostPorts.Concat(_isolatedPorts))
        {
            _slots[port] = _slots.Count;
            _owners[port] = null;
            _free.Enqueue(port);
        }

        _ready = true;
    }

    public bool IsRuntimePort(int port) => _ready && _owners.ContainsKey(port);

    public bool TryRent(out int port)
    {
        if (!_free.TryDequeue(out port))
        {
            return false;
        }

        // A slot's egress starts with its first rent, while the instance's sandbox is prepared.
        if (_egress is not null && _namespaces.TryGetValue(port, out var slot))
        {
            _ = _egress.EnsureStartedAsync(slot.Index);
        }

        return true;
    }

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

/// <summary>How instances reach the network: <c>Nimbus:SandboxNetwork</c>.</summary>
public enum SandboxNetwork
{
    /// <summary>Instances share the host's network namespace (its loopback, its interfaces, the internet).</summary>
    Host,

    /// <summary>
    /// Each instance has a network namespace of its own: its Runtime API and this node's AWS APIs on its loopback, and
    /// egress through slirp4netns to other hosts and the internet, but not to the host's loopback or other instances.
    /// </summary>
    Isolated,
}
