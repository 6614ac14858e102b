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
/// which instance is calling, as <c>AWS_LAMBDA_RUNTIME_API</c> tells a runtime where to call. Kestrel takes its
/// listeners at start-up (it cannot add listeners later); the pool size caps how many instances run at once.
/// <para>
/// With <see cref="SandboxNetwork.Isolated"/> (the default), each port is a slot with a network namespace of its own,
/// reused by the instances that rent the port one after the other: its loopback holds only the Runtime API listener and
/// a listener of the AWS APIs (the instance's <c>AWS_ENDPOINT_URL</c>), both served by this server, and its egress is a
/// user-mode NAT (<see cref="SandboxEgress"/>) that leads to other hosts and the internet but not to the host's loopback:
/// an instance reaches neither another instance's sockets nor the host's loopback services. Both ports are also held
/// (bound, not listening) on the host's loopback, so no listener of the host can have a slot's port: the port a
/// connection arrives on still tells the Runtime API from the AWS APIs, and which instance is calling.
/// </para>
/// <para>
/// A slot's namespace, its two listening sockets in it and its egress are created at the slot's first rent (slot 0's at
/// start, which shows that this server may create namespaces), so a node pays for the slots it uses, not for
/// <c>MaxInstances</c>. Kestrel listens on the descriptors of the held host sockets, placeholders that
/// <see cref="RuntimeApiTransport"/> binds: it accepts on the slot's sockets once they exist, and never listens on the
/// placeholders themselves. An instance starts only after its slot's namespace exists (<see cref="NetworkOfAsync"/>).
/// </para>
/// </summary>
internal sealed partial class RuntimePortPool(ILogger<RuntimePortPool> logger) : IDisposable
{
    private readonly List<int> _hostPorts = [];
    private readonly List<int> _isolatedPorts = [];

    // The descriptors Kestrel listens on that RuntimeApiTransport may serve: filled before Kestrel binds, read-only after.
    private readonly Dictionary<ulong, SlotListener> _listeners = [];
    private readonly Dictionary<int, IsolatedSlot> _isolated = [];

    // Guarded by itself: sockets are added by slots' creations, which run while the server serves.
    private readonly List<IDisposable> _owned = [];
    private bool _disposed;

    // Runtime API answers sent by the thread that wrote them (Http.InlineSends); set by Configure.
    private bool _inlineSends;
    private bool _inlineReceives;

    // Ports returned at least once (their slot exists) are rented before ports never rented, so a node creates a slot
    // only when every slot it has is busy.
    private readonly ConcurrentQueue<int> _free = new();
    private readonly ConcurrentQueue<int> _fresh = new();
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
    /// <see cref="SandboxNetwork.Isolated"/> each in a network namespace of its own (created at first rent) with an AWS API
    /// listener beside it. Slot 0 takes <paramref name="firstNetwork"/> (the start's probe made it) instead of a new
    /// namespace when there is one: the pool owns it from now on.
    /// </summary>
    public void Configure(
        KestrelServerOptions kestrel, int count, SandboxNetwork network = SandboxNetwork.Host, string slirp4netns = SandboxEgress.DefaultProgram,
        bool inlineSends = false, SafeFileHandle? firstNetwork = null, bool inlineReceives = false)
    {
        _inlineSends = inlineSends;
        _inlineReceives = inlineReceives;
        if (firstNetwork is not null && (network == SandboxNetwork.Host || count == 0))
        {
            firstNetwork.Dispose();
            firstNetwork = null;
        }

        if (network == SandboxNetwork.Host)
        {
            for (var i = 0; i < count; i++)
            {
                var socket = ListenInHere(0);
                _owned.Add(socket);
                _hostPorts.Add(((IPEndPoint)socket.LocalEndPoint!).Port);

                // Kestrel wraps the descriptor without owning it; this pool closes it when the server stops.
                var handle = (ulong)socket.Handle;
                _listeners[handle] = new SlotListener(Task.FromResult(socket), RuntimeApi: true, Deferred: false);
                ListenRuntimeApi(kestrel, handle);
            }

            return;
        }

        if (count == 0)
        {
            return;
        }

        var clock = Stopwatch.StartNew();
        for (var i = 0; i < count; i++)
        {
            var (runtimePort, runtimePlaceholder) = HoldHostPort();
            var (endpointPort, endpointPlaceholder) = HoldHostPort();
            var slot = new IsolatedSlot(i, runtimePort, endpointPort);
            _isolated[runtimePort] = slot;
            _isolatedPorts.Add(runtimePort);
            _listeners[runtimePlaceholder] = new SlotListener(slot.RuntimeListener.Task, RuntimeApi: true, Deferred: true);
            _listeners[endpointPlaceholder] = new SlotListener(slot.EndpointListener.Task, RuntimeApi: false, Deferred: true);
            ListenRuntimeApi(kestrel, runtimePlaceholder);
            kestrel.ListenHandle(endpointPlaceholder);
        }

        // Slot 0 now: a server that may not create namespaces fails to start (StartupException), as it says what to do.
        var first = NamespaceOf(_isolated[_isolatedPorts[0]], firstNetwork).GetAwaiter().GetResult();
        var created = clock.ElapsedMilliseconds;
        _egress = SandboxEgress.Start(slirp4netns, first, logger, EgressDeadline);
        if (_egress.Enabled)
        {
            Log.NamespacesCreated(logger, count, created, clock.ElapsedMilliseconds - created);
        }
        else
        {
            Log.NamespacesCreatedWithoutEgress(logger, count, created);
        }
    }

    /// <summary>
    /// What Kestrel's listener of descriptor <paramref name="handle"/> accepts on, when this pool made it; null for any
    /// other listener.
    /// </summary>
    public SlotListener? ListenerOf(ulong handle) => _listeners.TryGetValue(handle, out var listener) ? listener : null;

    // With inlineSends the Runtime API's answers are sent by the thread that wrote them (Http.InlineSends); with
    // inlineReceives too, a runtime's requests are received on the socket engine's thread.
    private void ListenRuntimeApi(KestrelServerOptions kestrel, ulong handle)
    {
        if (_inlineSends)
        {
            kestrel.ListenHandle(handle, listen => listen.Use(_inlineReceives ? Http.InlineSends.MiddlewareWithInlineReceives : Http.InlineSends.Middleware));
        }
        else if (_inlineReceives)
        {
            // Inline-scheduled by RuntimeApiTransport: the receives inline too, so a runtime's request takes no work item.
            kestrel.ListenHandle(handle, listen => listen.Use(Http.InlineSends.InlineReceivesOnly));
        }
        else
        {
            kestrel.ListenHandle(handle);
        }
    }

    /// <summary>
    /// The network namespace an instance on <paramref name="port"/> must start in, once it exists and the slot's egress
    /// is up (both made at the slot's first rent, so this waits only the first time a slot is used); null when instances
    /// share the host's. Throws <see cref="IOException"/> when the namespace cannot be created (a later rent tries again).
    /// </summary>
    public async ValueTask<SafeFileHandle?> NetworkOfAsync(int port)
    {
        if (!_isolated.TryGetValue(port, out var slot))
        {
            return null;
        }

        SafeFileHandle network;
        try
        {
            network = await NamespaceOf(slot).ConfigureAwait(false);
        }
        catch (Exception e) when (e is SocketException or Hosting.StartupException)
        {
            Log.NamespaceCreationFailed(logger, slot.Index, e.Message);
            throw new IOException($"The network namespace of instance slot {slot.Index} could not be created: {e.Message}", e);
        }
        catch (IOException e)
        {
            Log.NamespaceCreationFailed(logger, slot.Index, e.Message);
            throw;
        }

        if (_egress is not null)
        {
            await _egress.EnsureStartedAsync(slot.Index, network).ConfigureAwait(false);
        }

        return network;
    }

    /// <summary>The AWS API URL an instance on <paramref name="port"/> reaches from its own namespace; null when it shares the host's.</summary>
    public string? EndpointUrlOf(int port) => _isolated.TryGetValue(port, out var slot) ? slot.EndpointUrl : null;

    public void Dispose()
    {
        // First: a slirp4netns that exits now must not be started again on a namespace about to close.
        _egress?.Dispose();
        lock (_owned)
        {
            _disposed = true;
            foreach (var owned in _owned)
            {
                owned.Dispose();
            }

            _owned.Clear();
        }

        foreach (var slot in _isolated.Values)
        {
            slot.RuntimeListener.TrySetCanceled();
            slot.EndpointListener.TrySetCanceled();
        }
    }

    /// <summary>The slot's namespace: created at the first call, and again at the next call after a creation failed.</summary>
    private Task<SafeFileHandle> NamespaceOf(IsolatedSlot slot, SafeFileHandle? existing = null)
    {
        lock (slot)
        {
            if (slot.Network is null || slot.Network.IsFaulted || slot.Network.IsCanceled)
            {
                slot.Network = CreateAsync(slot, existing);
            }

            return slot.Network;
        }
    }

    /// <summary>Creates the slot's namespace with its two listening sockets in it (Runtime API, AWS APIs) and hands them to their listeners.</summary>
    private async Task<SafeFileHandle> CreateAsync(IsolatedSlot slot, SafeFileHandle? existing)
    {
        Socket? runtime = null;
        Socket? endpoint = null;
        var network = await NetworkNamespace.CreateAsync(() =>
        {
            runtime = ListenInHere(slot.RuntimePort);
            try
            {
                endpoint = ListenInHere(slot.EndpointPort);
            }
            catch
            {
                runtime.Dispose();
                throw;
            }
        }, existing).ConfigureAwait(false);
        lock (_owned)
        {
            if (_disposed)
            {
                runtime!.Dispose();
                endpoint!.Dispose();
                network.Dispose();
                throw new ObjectDisposedException(nameof(RuntimePortPool), "The server is stopping.");
            }

            _owned.Add(runtime!);
            _owned.Add(endpoint!);
            _owned.Add(network);
        }

        slot.RuntimeListener.TrySetResult(runtime!);
        slot.EndpointListener.TrySetResult(endpoint!);
        return network;
    }

    /// <summary>Binds (without listening) a free port of the host's loopback, so no host listener can take it.</summary>
    private (int Port, ulong Handle) HoldHostPort()
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        _owned.Add(socket);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return (((IPEndPoint)socket.LocalEndPoint!).Port, (ulong)socket.Handle);
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
            _fresh.Enqueue(port);
        }

        _ready = true;
    }

    public bool IsRuntimePort(int port) => _ready && _owners.ContainsKey(port);

    public bool TryRent(out int port)
    {
        if (!_free.TryDequeue(out port) && !_fresh.TryDequeue(out port))
        {
            return false;
        }

        // A slot's namespace and egress are made at its first rent, while the instance's sandbox is prepared.
        if (_isolated.ContainsKey(port))
        {
            _ = PrepareAsync(port);
        }

        return true;
    }

    /// <summary>Ports no instance or pre-started runtime holds.</summary>
    public int FreeCount => _free.Count + _fresh.Count;

    /// <summary>0-based index of a port in the pool: stable, unique among running instances.</summary>
    public int SlotOf(int port) => _slots[port];

    // A failure is the instance's to report: NetworkOfAsync throws it again (and tries again) when the instance starts.
    private async Task PrepareAsync(int port)
    {
        try
        {
            await NetworkOfAsync(port).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException)
        {
        }
    }

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

/// <summary>
/// What Kestrel's listener of one of <see cref="RuntimePortPool"/>'s descriptors accepts on: <paramref name="Socket"/>
/// completes when the listening socket exists (an isolated slot's, at its first rent: <paramref name="Deferred"/>).
/// </summary>
internal readonly record struct SlotListener(Task<Socket> Socket, bool RuntimeApi, bool Deferred);

/// <summary>An isolated slot: its ports, and its namespace once created (see <see cref="RuntimePortPool"/>).</summary>
internal sealed class IsolatedSlot(int index, int runtimePort, int endpointPort)
{
    public int Index { get; } = index;

    public int RuntimePort { get; } = runtimePort;

    public int EndpointPort { get; } = endpointPort;

    public string EndpointUrl { get; } = $"http://127.0.0.1:{endpointPort}";

    public TaskCompletionSource<Socket> RuntimeListener { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public TaskCompletionSource<Socket> EndpointListener { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>The namespace's creation, done or in flight; guarded by the slot's lock (<c>RuntimePortPool.NamespaceOf</c>).</summary>
    public Task<SafeFileHandle>? Network { get; set; }
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
