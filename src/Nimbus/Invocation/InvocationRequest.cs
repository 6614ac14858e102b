namespace Nimbus.Invocation;

/// <summary>One call to Invoke, after the front door has parsed it.</summary>
internal sealed record InvocationRequest(
    Functions.FunctionReference Function,
    ReadOnlyMemory<byte> Payload,
    string? ClientContext,
    bool TailLog);

internal enum InvocationStatus
{
    /// <summary>The function answered; the payload is its response.</summary>
    Success,

    /// <summary>The function, its runtime or its init failed; the payload is Lambda's error JSON.</summary>
    FunctionError,

    /// <summary>Invoke itself was refused: see <see cref="InvocationResult.Error"/>.</summary>
    Rejected,
}

/// <summary>What the caller of Invoke gets back: a value to switch on, never an exception.</summary>
internal sealed record InvocationResult(
    InvocationStatus Status,
    byte[] Payload,
    string ExecutedVersion,
    string? LogTail,
    Functions.LambdaError? Error = null)
{
    public static InvocationResult Rejected(Functions.LambdaError error) => new(InvocationStatus.Rejected, [], "", null, error);
}
