namespace Nimbus.Sandboxes;

/// <summary>What the runtime answered for one invocation.</summary>
/// <remarks><see cref="Streamed"/>: the body went to the invocation's <see cref="PendingInvocation.ResponseStream"/> as the
/// function wrote it; <see cref="Body"/> is then empty, or the error of a stream that failed part-way.</remarks>
internal readonly record struct RuntimeReply(bool IsError, byte[] Body, string? ErrorType, bool TooLarge = false, bool Streamed = false);

/// <summary>
/// One event on its way through an instance. The Runtime API hands it out on /next and completes it from
/// /response or /error; only the first answer counts.
/// </summary>
internal sealed class PendingInvocation
{
    // Continuations run inline: the Runtime API request that answers finishes the invocation (END, REPORT, the
    // caller's response) before its own 202 goes out, saving a thread-pool wake-up per invocation; the runtime
    // has already asked for its next event by then. Nothing completes a reply while holding a lock.
    private readonly TaskCompletionSource<RuntimeReply> _reply = new();

    public required string RequestId { get; init; }
    public required ReadOnlyMemory<byte> Payload { get; init; }
    public required string InvokedFunctionArn { get; init; }
    public required string TraceId { get; init; }
    public string? ClientContext { get; init; }
    public string? CognitoIdentity { get; init; }

    /// <summary>The caller asked for the log's tail (X-Amz-Log-Type: Tail): only then does the instance keep it.</summary>
    public bool TailLog { get; init; }

    /// <summary>Set when the caller takes a streamed response as it is written; otherwise a stream is buffered (6 MB).</summary>
    public IResponseStreamSink? ResponseStream { get; init; }

    /// <summary>Epoch milliseconds by which the function must answer; set when the event is handed out.</summary>
    public long DeadlineMs { get; set; }

    public Task<RuntimeReply> Reply => _reply.Task;

    public bool IsAnswered => _reply.Task.IsCompleted;

    public bool TryAnswer(RuntimeReply reply) => _reply.TrySetResult(reply);
}
