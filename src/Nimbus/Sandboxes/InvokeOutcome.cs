namespace Nimbus.Sandboxes;

internal enum InvokeOutcomeKind
{
    /// <summary>The function returned a response.</summary>
    Response,

    /// <summary>The function, its runtime or its init failed; the body is Lambda's error JSON.</summary>
    FunctionError,
}

/// <summary>
/// What one invocation on one instance produced, with the figures of its REPORT line. <see cref="TimedOut"/>: the
/// function (or its init) ran past its timeout and was killed.
/// </summary>
internal sealed record InvokeOutcome(
    InvokeOutcomeKind Kind,
    byte[] Body,
    string LogTail,
    double DurationMs,
    double? InitDurationMs,
    MaxMemorySample MaxMemory,
    bool InstanceReusable,
    bool TimedOut = false)
{
    /// <summary>Max Memory Used; for an outcome whose REPORT goes out after the caller's answer, read when first asked.</summary>
    public int MaxMemoryUsedMb => MaxMemory.Megabytes;
}
