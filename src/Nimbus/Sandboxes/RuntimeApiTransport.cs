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
/// keeps Kestrel's default transport.
/// </summary>
/// <remarks>
/// Inline scheduling is safe here because the Runtime API's handlers never block a thread on the connection's own
/// input (no synchronous body reads): they await. A handler that blocked would stall only its own runtime's connection.
/// </remarks>
internal sealed class RuntimeApiTransport(RuntimePortPool ports, IOptions<NimbusOptions> options, ILoggerFactory loggers) : IConnectionListenerFactory, IConnectionListenerFactorySelector
{
    private readonly SocketConnectionFactoryOptions _options = new()
    {
        UnsafePreferInlineScheduling = true,

        // Inline scheduling never uses the I/O queues.
        IOQueueCount = 0,
    };

    public bool CanBind(EndPoint endpoint) =>
        options.Value.RuntimeApiInlineScheduling && endpoint is FileHandleEndPoint handle && ports.ListeningSocket(handle.FileHandle) is not null;

    public ValueTask<IConnectionListener> BindAsync(EndPoint endpoint, CancellationToken cancellationToken = default)
    {
        var socket = endpoint is FileHandleEndPoint handle ? ports.ListeningSocket(handle.FileHandle) : null;
        if (socket is null)
        {
            throw new NotSupportedException($"{endpoint} is not a Runtime API listener of this node.");
        }

        var factory = new SocketConnectionContextFactory(_options, loggers.CreateLogger("Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets"));
        return ValueTask.FromResult<IConnectionListener>(new Listener(endpoint, socket, factory));
    }

    // The listening socket belongs to the port pool, which closes it when the server stops; unbinding only stops accepting.
    private sealed class Listener(EndPoint endpoint, Socket socket, SocketConnectionContextFactory factory) : IConnectionListener
    {
        private readonly CancellationTokenSource _unbound = new();

        public EndPoint EndPoint => endpoint;

        public async ValueTask<ConnectionContext?> AcceptAsync(CancellationToken cancellationToken = default)
        {
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _unbound.Token);
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

                // Small writes must not wait for delayed ACKs (issue 3): every Runtime API connection is TCP_NODELAY.
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
            factory.Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
