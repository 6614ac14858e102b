namespace Nimbus.Queues;

/// <summary>A message to send: what <c>SendMessage</c> carries, and what other triggers hand <see cref="QueueService"/>.</summary>
internal sealed record QueueMessageInput(
    string Body,
    IReadOnlyDictionary<string, MessageAttributeValue>? Attributes = null,
    int? DelaySeconds = null,
    string? MessageGroupId = null,
    string? MessageDeduplicationId = null,
    string? TraceHeader = null);

/// <summary>The answer to an accepted send; <see cref="SequenceNumber"/> is set on FIFO queues only.</summary>
internal sealed record SendOutcome(string MessageId, string Md5OfBody, string? Md5OfAttributes, string? SequenceNumber);

/// <summary>
/// One message handed out by a receive. <see cref="SystemAttributes"/> holds every system attribute
/// (ApproximateReceiveCount, SentTimestamp, ...); the API filters them by the names a client asked for.
/// </summary>
internal sealed record ReceivedMessage(
    string MessageId,
    string ReceiptHandle,
    string Body,
    string Md5OfBody,
    string? Md5OfAttributes,
    IReadOnlyDictionary<string, MessageAttributeValue> MessageAttributes,
    IReadOnlyDictionary<string, string> SystemAttributes);

/// <summary>A queue's redrive policy: messages received more than <see cref="MaxReceiveCount"/> times move to the target.</summary>
internal sealed record RedrivePolicy(string DeadLetterTargetArn, int MaxReceiveCount);

/// <summary>The settings of a queue other components act on (event source mappings, destinations).</summary>
internal sealed record QueueSettings(
    string Name,
    string Arn,
    bool IsFifo,
    int VisibilityTimeoutSeconds,
    int DelaySeconds,
    int ReceiveWaitTimeSeconds,
    int MaximumMessageSize,
    int RetentionSeconds,
    bool ContentBasedDeduplication,
    RedrivePolicy? RedrivePolicy);

/// <summary>How many messages a queue holds by state: visible, in flight, delayed.</summary>
internal readonly record struct QueueBacklog(int Visible, int InFlight, int Delayed);

/// <summary>An outcome that is either a value or an SQS error.</summary>
internal readonly record struct QueueResult<T>(T? Value, QueueError? Error)
{
    public static implicit operator QueueResult<T>(T value) => new(value, null);

    public static implicit operator QueueResult<T>(QueueError error) => new(default, error);
}
