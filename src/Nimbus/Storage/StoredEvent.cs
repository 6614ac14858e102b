namespace Nimbus.Storage;

/// <summary>
/// An accepted asynchronous event as stored: what to invoke, when it was accepted (its age bounds the retries),
/// how often it ran (function errors count towards <c>MaximumRetryAttempts</c>) or was throttled, and when it runs
/// next.
/// </summary>
internal sealed record StoredEvent(
    string RequestId,
    string FunctionName,
    string? Qualifier,
    byte[] Payload,
    DateTimeOffset AcceptedAt,
    int InvokeCount,
    int ThrottleCount,
    DateTimeOffset NextAttemptAt);
