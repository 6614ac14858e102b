using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Nimbus.Sandboxes;

/// <summary>
/// Kestrel's transport for the Runtime API listeners only (the sockets <see cref="RuntimePortPool"/> binds itself):
/// the same socket connections as Kestrel's own transport, but with inline scheduling, so a runtime's request is
/// parsed and served on the thread that read it from the socket and each answer is written to the socket by the
/// thread that produced it. The default transport hands both over to the thread pool (the request to the HTTP loop,
/// the answer to an I/O queue): three hand-offs per invocation on these connections (the event to <c>/next</c>, the
/// runtime's answer, its <c>202</c>); see docs/benchmarks.md, "thread hand-offs per warm invoke". Every other listener
/// keeps Kestrel's default transport. When that transport is itself inline-scheduled (<c>AwsApiInlineScheduling</c>), this one
/// binds the Runtime API listeners either way, so that they keep the scheduling <c>RuntimeApiInlineScheduling</c> asks for.
/// <para>
/// It also serves every listener of an isolated slot (<see cref="RuntimePortPool"/>), the Runtime API's and the AWS
/// APIs' beside it, whose listening sockets exist only from the slot's first rent on: Kestrel listens on a placeholder
/// descriptor, and this transport accepts on the slot's socket once it exists (Runtime API connections inline only when
/// <c>RuntimeApiInlineScheduling</c> is on, the AWS APIs' never).
/// </para>
/// </summary>
/// <remarks>
/// Inline scheduling is safe here because the Runtime API's handlers never block a thread on the connection's own
/// input (no synchronous body reads): they await. A handler that blocked would stall only its own runtime's connection.
/// </remarks>
internal sealed class RuntimeApiTransport : IConnectionListenerFactory, IConnectionListenerFactorySelector, IDisposable
{
    private readonly RuntimePortPool _ports;
    private readonly bool _inline;

    // Kestrel's own transport is inline-scheduled for the AWS API listener: then this one binds the Runtime API's
    // listeners too, so that they keep the scheduling RuntimeApiInlineScheduling asks for.
    private readonly bool _bindAll;

    // One factory per scheduling, shared by the listeners (each holds memory pools): inline for the Runtime API when
    // asked for, Kestrel's defaults otherwise.
    private readonly Lazy<SocketConnectionContextFactory> _inlineFactory;
    private readonly Lazy<SocketConnectionContextFactory> _defaultFactory;

    public RuntimeApiTransport(RuntimePortPool ports, IOptions<NimbusOptions> options, ILoggerFactory loggers)
    {
        _ports = ports;
        _inline = options.Value.RuntimeApiInlineScheduling;
        _bindAll = options.Value.AwsApiInlineScheduling;
        var logger = loggers.CreateLogger("Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets");

        // Inline scheduling never uses the I/O queues.
        _inlineFactory = new(() => new SocketConnectionContextFactory(new() { UnsafePreferInlineScheduling = true, IOQueueCount = 0 }, logger));
        _defaultFactory = new(() => new SocketConnectionContextFactory(new(), logger));
    }

    public bool CanBind(EndPoint endpoint) =>
        endpoint is FileHandleEndPoint handle && _ports.ListenerOf(handle.FileHandle) is { } listener && (listener.Deferred || (listener.RuntimeApi && (_inline || _bindAll)));

    public ValueTask<IConnectionListener> BindAsync(EndPoint endpoint, CancellationToken cancellationToken = default)
    {
        var listener = endpoint is FileHandleEndPoint handle ? _ports.ListenerOf(handle.FileHandle) : null;
        if (listener is not { } known)
        {
            throw new NotSupportedException($"{endpoint} is not a Runtime API listener of this node.");
        }

        var factory = known.RuntimeApi && _inline ? _inlineFactory.Value : _defaultFactory.Value;
        return ValueTask.FromResult<IConnectionListener>(new Listener(endpoint, known.Socket, factory));
    }

    public void Dispose()
    {
        if (_inlineFactory.IsValueCreated)
        {
            _inlineFactory.Value.Dispose();
        }

        if (_defaultFactory.IsValueCreated)
        {
            _defaultFactory.Value.Dispose();
        }
    }

    // The listening socket belongs to the port pool, which closes it when the server stops; unbinding only stops accepting.
    private sealed class Listener(EndPoint endpoint, Task<Socket> listening, SocketConnectionContextFactory factory) : IConnectionListener
    {
        private readonly CancellationTokenSource _unbound = new();

        public EndPoint EndPoint => endpoint;

        public async ValueTask<ConnectionContext?> AcceptAsync(CancellationToken cancellationToken = default)
        {
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _unbound.Token);
            Socket socket;
            try
            {
                // An isolated slot's socket exists from its first rent on.
                socket = await listening.WaitAsync(stop.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return null;
            }

            while (true)
            {
                Socket accepted;
                try
                {
                    accepted = await socket.AcceptAsync(stop.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return null;
                }
                catch (ObjectDisposedException)
                {
                    return null;
                }
                catch (SocketException e) when (e.SocketErrorCode is SocketError.OperationAborted or SocketError.Interrupted or SocketError.InvalidArgument)
                {
                    return null;
                }
                catch (SocketException)
                {
                    // The peer reset the connection before it was accepted: take the next one (Kestrel does the same).
                    continue;
                }

                // Small writes must not wait for delayed ACKs (issue 3): every connection is TCP_NODELAY, as Kestrel's own.
                accepted.NoDelay = true;
                return factory.Create(accepted);
            }
        }

        public ValueTask UnbindAsync(CancellationToken cancellationToken = default)
        {
            _unbound.Cancel();
            return ValueTask.CompletedTask;
        }

        public ValueTask DisposeAsync()
        {
            _unbound.Cancel();
            return ValueTask.CompletedTask;
        }
    }
}
