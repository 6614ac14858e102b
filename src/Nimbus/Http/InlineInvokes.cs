using System.IO.Pipelines;
using System.Runtime.CompilerServices;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http;

namespace Nimbus.Http;

/// <summary>
/// The AWS API listener served inline for warm Invokes only (<c>NIMBUS_AWS_API_INLINE_SCHEDULING</c>): its transport is
/// inline-scheduled and its sockets complete their receives on the socket engine's thread, so a caller's Invoke is
/// received, parsed, authenticated and handed to its instance on that thread, with no thread-pool work item (the
/// runtime's answer comes back the same way on the Runtime API's connection when it is inline-scheduled too). Every other
/// request (the control plane, S3, SQS, logs, function URLs, streaming and asynchronous invokes, an Invoke with a large
/// or chunked body) is handed to the thread pool as soon as its headers are parsed, and its body reads and paused
/// writes resume on the pool too: nothing that may block (SQLite, files, a zip, a process start) runs on the thread
/// that serves every socket of the node. An inline Invoke that must start an instance or read SQLite leaves that thread
/// where it does (<see cref="SocketThread"/>).
/// </summary>
/// <remarks>
/// The gate of a connection (<see cref="Gate"/>) is open (inline) between requests, so the next request's headers are
/// parsed where they arrive, and while an inline Invoke runs; <see cref="DispatchAsync"/> closes it for any other
/// request until that request's handler returns. Only the connection's own request loop reads and writes the gate.
/// </remarks>
internal static class InlineInvokes
{
    /// <summary>The largest Invoke body served inline: hashing (SigV4) and parsing a bigger one would hold the engine's thread.</summary>
    internal const long MaxInlineBodyBytes = 256 * 1024;

    private static readonly string InvocationsSuffix = "/invocations";

    /// <summary>
    /// For <c>ListenOptions.Use</c> on an inline-scheduled listener: the connection's gate, and with
    /// <paramref name="inlineReceives"/> its receives completed on the socket engine's thread.
    /// </summary>
    public static Func<ConnectionDelegate, ConnectionDelegate> Middleware(bool inlineReceives) => next => connection =>
    {
        if (inlineReceives && connection.Features.Get<IConnectionSocketFeature>()?.Socket is { } socket)
        {
            InlineSends.TryPreferInlineCompletions(socket);
        }

        var gate = new Gate();
        var transport = connection.Transport;
        connection.Features.Set(gate);
        connection.Transport = new GatedPipe(new GatedReader(transport.Input, gate), new GatedWriter(transport.Output, gate));
        return next(connection);
    };

    /// <summary>The first middleware of the main port: every request but a small synchronous Invoke leaves the engine's thread.</summary>
    public static Task DispatchAsync(HttpContext context, RequestDelegate next)
    {
        if (context.Features.Get<Gate>() is not { } gate || ServedInline(context.Request))
        {
            return next(context);
        }

        return OnThreadPoolAsync(context, next, gate);
    }

    /// <summary>A synchronous Invoke (<c>RequestResponse</c>) with a body of known, small length.</summary>
    internal static bool ServedInline(HttpRequest request)
    {
        var path = request.Path.Value;
        return HttpMethods.IsPost(request.Method)
            && path is not null
            && path.StartsWith(LambdaApi.FunctionsRoute + "/", StringComparison.Ordinal)
            && path.EndsWith(InvocationsSuffix, StringComparison.Ordinal)
            && request.ContentLength is { } length && length <= MaxInlineBodyBytes
            && request.Headers[LambdaApi.InvocationTypeHeader].ToString() is "" or "RequestResponse";
    }

    private static async Task OnThreadPoolAsync(HttpContext context, RequestDelegate next, Gate gate)
    {
        gate.Inline = false;
        try
        {
            await SocketThread.Leave();
            await next(context).ConfigureAwait(false);
        }
        finally
        {
            gate.Inline = true;
        }
    }

    /// <summary>Whether the connection's reads and paused writes may resume on the thread that completed them.</summary>
    internal sealed class Gate
    {
        public volatile bool Inline = true;
    }

    private sealed class GatedPipe(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input => input;

        public PipeWriter Output => output;
    }

    // A read that had to wait resumes on the thread that completed it (the engine's): with the gate closed, it moves on.
    internal sealed class GatedReader(PipeReader inner, Gate gate) : PipeReader
    {
        public override ValueTask<ReadResult> ReadAsync(CancellationToken cancellationToken = default)
        {
            var read = inner.ReadAsync(cancellationToken);
            return read.IsCompleted || gate.Inline ? read : ReadOffAsync(read);
        }

        [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
        private static async ValueTask<ReadResult> ReadOffAsync(ValueTask<ReadResult> read)
        {
            var result = await read.ConfigureAwait(false);
            await SocketThread.Leave();
            return result;
        }

        public override bool TryRead(out ReadResult result) => inner.TryRead(out result);

        public override void AdvanceTo(SequencePosition consumed) => inner.AdvanceTo(consumed);

        public override void AdvanceTo(SequencePosition consumed, SequencePosition examined) => inner.AdvanceTo(consumed, examined);

        public override void CancelPendingRead() => inner.CancelPendingRead();

        public override void Complete(Exception? exception = null) => inner.Complete(exception);

        public override ValueTask CompleteAsync(Exception? exception = null) => inner.CompleteAsync(exception);
    }

    // A flush paused by a slow reader resumes on the thread whose send made room (the engine's): with the gate closed, it moves on.
    internal sealed class GatedWriter(PipeWriter inner, Gate gate) : PipeWriter
    {
        public override bool CanGetUnflushedBytes => inner.CanGetUnflushedBytes;

        public override long UnflushedBytes => inner.UnflushedBytes;

        public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default)
        {
            var flush = inner.FlushAsync(cancellationToken);
            return flush.IsCompleted || gate.Inline ? flush : FlushOffAsync(flush);
        }

        public override ValueTask<FlushResult> WriteAsync(ReadOnlyMemory<byte> source, CancellationToken cancellationToken = default)
        {
            var write = inner.WriteAsync(source, cancellationToken);
            return write.IsCompleted || gate.Inline ? write : FlushOffAsync(write);
        }

        [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
        private static async ValueTask<FlushResult> FlushOffAsync(ValueTask<FlushResult> flush)
        {
            var result = await flush.ConfigureAwait(false);
            await SocketThread.Leave();
            return result;
        }

        public override void Advance(int bytes) => inner.Advance(bytes);

        public override Memory<byte> GetMemory(int sizeHint = 0) => inner.GetMemory(sizeHint);

        public override Span<byte> GetSpan(int sizeHint = 0) => inner.GetSpan(sizeHint);

        public override void CancelPendingFlush() => inner.CancelPendingFlush();

        public override void Complete(Exception? exception = null) => inner.Complete(exception);

        public override ValueTask CompleteAsync(Exception? exception = null) => inner.CompleteAsync(exception);
    }
}
