namespace Nimbus.Invocation;

/// <summary>
/// Told once about every invocation the invoker finished or refused, with the figures of its REPORT line. Called
/// on the invocation's own thread after the instance is back in its pool: implementations must be cheap and must
/// not block (counters with Interlocked, a non-blocking write to a bounded channel).
/// </summary>
internal interface IInvocationObserver
{
    void OnCompleted(in InvocationRecord record);
}

/// <summary>
/// How an invocation ended. Persisted in metrics.db as its number: never renumber (a test freezes the values).
/// </summary>
internal enum InvocationOutcome
{
    Success = 0,
    FunctionError = 1,
    Timeout = 2,
    Throttled = 3,
    Rejected = 4,
}

/// <summary>
/// One finished (or refused) invocation. <see cref="Resource"/> is the function name, or <c>name:qualifier</c> when
/// the caller named a version or alias (CloudWatch's Resource dimension). Durations are the REPORT line's; a
/// throttled or rejected invocation has no duration and bills nothing. <see cref="ConcurrentExecutions"/> is the
/// number of invocations of the function running when this one was admitted, itself included.
/// </summary>
internal readonly record struct InvocationRecord(
    string RequestId,
    string FunctionName,
    string Resource,
    string ExecutedVersion,
    DateTimeOffset Start,
    double DurationMs,
    long BilledMs,
    int MemorySizeMb,
    int MaxMemoryUsedMb,
    double? InitDurationMs,
    InvocationOutcome Outcome,
    int ConcurrentExecutions)
{
    public bool ColdStart => InitDurationMs is not null;

    public bool IsError => Outcome is InvocationOutcome.FunctionError or InvocationOutcome.Timeout;

    /// <summary>True when the function ran (or tried to): everything but throttles and rejections.</summary>
    public bool Ran => Outcome is InvocationOutcome.Success or InvocationOutcome.FunctionError or InvocationOutcome.Timeout;
}
