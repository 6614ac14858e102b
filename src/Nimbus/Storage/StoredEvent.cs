namespace Nimbus.Storage;

/// <summary>
/// An accepted asynchronous event as stored: what to invoke, when it was accepted (its age bounds the retries),
/// how often it ran (function errors count towards <c>MaximumRetryAttempts</c>) or was throttled, and when it runs
/// next. <see cref="TraceHeader"/> is the X-Ray header every attempt passes to the function (same Root each time);
/// <see cref="TraceParent"/> the W3C <c>traceparent</c> of the span that accepted it, so every attempt's spans join
/// the accepting trace.
/// </summary>
internal sealed record StoredEvent(
    string RequestId,
    string FunctionName,
    string? Qualifier,
    byte[] Payload,
    DateTimeOffset AcceptedAt,
    int InvokeCount,
    int ThrottleCount,
    DateTimeOffset NextAttemptAt)
{
    /// <summary><c>Root=...;Sampled=...</c>; null for events stored before traces were kept.</summary>
    public string? TraceHeader { get; init; }

    /// <summary>The accepting span's W3C <c>traceparent</c>; null when tracing was off.</summary>
    public string? TraceParent { get; init; }
}
