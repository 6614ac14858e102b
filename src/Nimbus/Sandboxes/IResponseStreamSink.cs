namespace Nimbus.Sandboxes;

/// <summary>
/// Where a streamed response goes while the function writes it: the caller's HTTP response (InvokeWithResponseStream's
/// event stream, a RESPONSE_STREAM function URL). The Runtime API request that carries the stream calls
/// <see cref="StartAsync"/> once, then <see cref="WriteAsync"/> per chunk as it arrives, on its own thread; the
/// caller's side closes the sink once the invocation is over. A sink never throws: a caller that hung up or a sink
/// already closed (the invocation timed out) swallows the rest, and the function runs to its end, as on Lambda.
/// </summary>
internal interface IResponseStreamSink
{
    /// <summary>The function started streaming with this content type; <paramref name="executedVersion"/> is the version it runs.</summary>
    ValueTask StartAsync(string contentType, string executedVersion);

    /// <summary>One chunk, in order; completes once the caller's transport took it (back-pressure reaches the function).</summary>
    ValueTask WriteAsync(ReadOnlyMemory<byte> chunk);
}
