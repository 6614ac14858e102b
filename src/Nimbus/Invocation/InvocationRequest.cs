namespace Nimbus.Invocation;

/// <summary>
/// One call to Invoke, after the front door has parsed it. <see cref="RequestId"/> is the id the caller sees in
/// <c>x-amzn-RequestId</c>, the function in <c>context.awsRequestId</c>, and the log in START/END/REPORT.
/// <see cref="TraceHeader"/> is the caller's <c>X-Amzn-Trace-Id</c>, passed on to the function; null: a new trace.
/// </summary>
internal sealed record InvocationRequest(
    string RequestId,
    Functions.FunctionReference Function,
    ReadOnlyMemory<byte> Payload,
    string? ClientContext,
    bool TailLog,
    string? TraceHeader = null)
{
    /// <summary>Set when the caller takes a streamed response chunk by chunk (InvokeWithResponseStream, RESPONSE_STREAM URLs).</summary>
    public Sandboxes.IResponseStreamSink? ResponseStream { get; init; }

    /// <summary>
    /// Cancelled when the caller hung up (an HTTP request's <c>RequestAborted</c>). An invocation still waiting for
    /// admission or for its instance's init gives its place up then, without starting anything for it; one that runs
    /// runs on, as on Lambda.
    /// </summary>
    public CancellationToken CallerAborted { get; init; }

    /// <summary>
    /// The caller's Cognito identity as the Runtime API's <c>Lambda-Runtime-Cognito-Identity</c> JSON, when it signed
    /// with credentials issued for one; null otherwise.
    /// </summary>
    public string? CognitoIdentity { get; init; }

    /// <summary>
    /// Set by a caller that answers over the network (the Invoke API): the invocation's observers (metrics, metering) are
    /// told once the caller's answer is written, not before, through <see cref="Invoker.ReportAnswered"/>, which the
    /// caller must call whatever happened to the answer (<see cref="InvocationResult.Unreported"/> carries the record).
    /// </summary>
    public bool ReportAfterAnswer { get; init; }
}

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
    /// <summary>Set when Invoke was refused for lack of concurrency; <see cref="Error"/> is then the 429.</summary>
    public ConcurrencyThrottle Throttle { get; init; }

    /// <summary>
    /// The REPORT figures of an invocation that ran for a <see cref="InvocationRequest.ReportAfterAnswer"/> caller, not yet
    /// given to the observers: <see cref="Invoker.ReportAnswered"/> does that. Null otherwise.
    /// </summary>
    public UnreportedInvocation? Unreported { get; init; }

    public static InvocationResult Rejected(Functions.LambdaError error) => new(InvocationStatus.Rejected, [], "", null, error);

    public static InvocationResult Throttled(ConcurrencyThrottle throttle) =>
        new(InvocationStatus.Rejected, [], "", null, throttle == ConcurrencyThrottle.AccountConcurrencyInUse
            ? Functions.LambdaError.AccountConcurrencyExceeded()
            : Functions.LambdaError.ReservedConcurrencyExceeded())
        {
            Throttle = throttle,
        };
}
