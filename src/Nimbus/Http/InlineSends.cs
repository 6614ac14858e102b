using System.Buffers;
using System.IO.Pipelines;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;

namespace Nimbus.Http;

/// <summary>
/// A connection middleware that writes a connection's responses to its socket on the thread that flushed them. Kestrel's
/// socket transport hands every flush to one of its I/O queues, a thread-pool work item that then calls <c>send</c>: one
/// hand-off per response (three per warm invoke: the event to <c>/next</c>, the caller's response, the runtime's
/// <c>202</c>; docs/benchmarks.md, "thread hand-offs per warm invoke"). Here the HTTP layer writes into a pipe whose
/// reader runs inline, and that reader sends: the flushing thread makes the <c>send</c> call itself, which on a socket
/// with room in its buffer completes at once. Only the output changes: requests are still read and dispatched by
/// Kestrel's transport, so a synchronous body read cannot wait on the thread that would deliver it.
/// </summary>
/// <remarks>
/// The connection's original output is completed once every byte went out (or the socket failed), which lets Kestrel's
/// own send loop shut the socket down exactly as it does for a connection it wrote itself.
/// </remarks>
internal static class InlineSends
{
    // Kestrel's default response buffer limit (MaxResponseBufferSize, 64 KiB): a writer past it waits for the socket.
    private const long PauseWriterThreshold = 64 * 1024;
    private const long ResumeWriterThreshold = PauseWriterThreshold / 2;

    /// <summary>For <c>ListenOptions.Use</c>: wraps each connection of the listener whose transport exposes its socket.</summary>
    public static ConnectionDelegate Middleware(ConnectionDelegate next) => connection => RunAsync(connection, next, inlineReceives: false);

    /// <summary>
    /// As <see cref="Middleware"/>, and the socket's receive completions run on the socket engine's thread that saw them
    /// ready instead of being queued to the thread pool (<c>NIMBUS_INLINE_RECEIVES</c>): one thread-pool hand-off fewer
    /// per request. Only Kestrel's receive loop runs there (a <c>recv</c> and a write into the connection's input pipe,
    /// neither of which blocks); the request itself is still parsed and served on the thread pool, as the pipe's reader
    /// is scheduled there, so a handler that blocks never holds up the engine's thread. A send that could not complete at
    /// once resumes there too: <see cref="SendLoopAsync"/> then sends the rest, without blocking.
    /// </summary>
    public static ConnectionDelegate MiddlewareWithInlineReceives(ConnectionDelegate next) => connection => RunAsync(connection, next, inlineReceives: true);

    /// <summary>
    /// For a listener whose transport is inline-scheduled already (it sends on the writing thread): only the socket's
    /// receive completions run on the socket engine's thread, so with the transport's inline scheduling a request is
    /// received, parsed and served on that thread without a thread-pool work item.
    /// </summary>
    public static ConnectionDelegate InlineReceivesOnly(ConnectionDelegate next) => connection =>
    {
        if (connection.Features.Get<IConnectionSocketFeature>()?.Socket is { } socket)
        {
            TryPreferInlineCompletions(socket);
        }

        return next(connection);
    };

    // Socket.PreferInlineCompletions: internal and experimental in .NET, kept reachable on purpose (a DynamicDependency
    // in System.Net.Sockets names it for reflection); read by the socket engine at every event, so it may be set after
    // the connection's first receive was posted. The process-wide form is DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS.
    [UnsafeAccessor(UnsafeAccessorKind.Method, Name = "set_PreferInlineCompletions")]
    private static extern void SetPreferInlineCompletions(Socket socket, bool value);

    private static int _inlineCompletionsMissing;

    /// <summary>False when this .NET has no per-socket inline completions (the connection keeps the default).</summary>
    internal static bool TryPreferInlineCompletions(Socket socket)
    {
        if (Volatile.Read(ref _inlineCompletionsMissing) != 0)
        {
            return false;
        }

        try
        {
            SetPreferInlineCompletions(socket, true);
            return true;
        }
        catch (MissingMethodException)
        {
            Volatile.Write(ref _inlineCompletionsMissing, 1);
            return false;
        }
    }

    private static async Task RunAsync(ConnectionContext connection, ConnectionDelegate next, bool inlineReceives)
    {
        if (connection.Features.Get<IConnectionSocketFeature>()?.Socket is not { } socket)
        {
            await next(connection).ConfigureAwait(false);
            return;
        }

        if (inlineReceives)
        {
            TryPreferInlineCompletions(socket);
        }

        var transport = connection.Transport;
        var pool = connection.Features.Get<IMemoryPoolFeature>()?.MemoryPool ?? MemoryPool<byte>.Shared;
        var output = new Pipe(new PipeOptions(pool, readerScheduler: PipeScheduler.Inline, writerScheduler: PipeScheduler.ThreadPool,
            pauseWriterThreshold: PauseWriterThreshold, resumeWriterThreshold: ResumeWriterThreshold, useSynchronizationContext: false));
        var sending = SendLoopAsync(output.Reader, socket, transport.Output, connection);
        connection.Transport = new DuplexPipe(transport.Input, output.Writer);
        try
        {
            await next(connection).ConfigureAwait(false);
        }
        finally
        {
            // The HTTP layer has completed its writer already; a second completion is a no-op.
            await output.Writer.CompleteAsync().ConfigureAwait(false);
            await sending.ConfigureAwait(false);
            connection.Transport = transport;
        }
    }

    // Resumed inline by the flushing thread; after a send that could not complete at once, on the socket's completion thread.
    private static async Task SendLoopAsync(PipeReader reader, Socket socket, PipeWriter socketOutput, ConnectionContext connection)
    {
        Exception? failure = null;
        List<ArraySegment<byte>>? gather = null;
        try
        {
            while (true)
            {
                var result = await reader.ReadAsync().ConfigureAwait(false);
                var buffer = result.Buffer;
                if (result.IsCanceled)
                {
                    break;
                }

                if (buffer.IsSingleSegment)
                {
                    if (!buffer.IsEmpty)
                    {
                        await socket.SendAsync(buffer.First, SocketFlags.None).ConfigureAwait(false);
                    }
                }
                else
                {
                    // One sendmsg for the whole buffer (headers and body usually sit in one segment; big bodies in several).
                    gather ??= [];
                    gather.Clear();
                    foreach (var segment in buffer)
                    {
                        gather.Add(MemoryMarshal.TryGetArray(segment, out var array) ? array : new ArraySegment<byte>(segment.ToArray()));
                    }

                    await socket.SendAsync(gather, SocketFlags.None).ConfigureAwait(false);
                }

                reader.AdvanceTo(buffer.End);
                if (result.IsCompleted)
                {
                    break;
                }
            }
        }
        catch (Exception e)
        {
            // The peer went away or the connection was aborted: what the HTTP layer writes next fails, as on Kestrel's own loop.
            failure = e;
            connection.Abort(new ConnectionAbortedException("The response could not be sent.", e));
        }
        finally
        {
            await reader.CompleteAsync(failure).ConfigureAwait(false);
            await socketOutput.CompleteAsync().ConfigureAwait(false);
        }
    }

    private sealed class DuplexPipe(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input => input;

        public PipeWriter Output => output;
    }
}
