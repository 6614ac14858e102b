namespace Nimbus.Events;

/// <summary>
/// What event source mappings, dead-letter queues and queue destinations need from the queue service, by queue ARN:
/// the seam between Events/ (and the async queue) and Queues/.
/// </summary>
internal interface IEventSourceQueues
{
    /// <summary>The queue an ARN names; null when there is none.</summary>
    Task<EventSourceQueue?> FindAsync(string queueArn, CancellationToken cancellationToken);

    /// <summary>
    /// Up to <paramref name="maxMessages"/> messages (made invisible for the queue's visibility timeout), waiting up to
    /// <paramref name="wait"/> for the first; null when the queue is gone.
    /// </summary>
    Task<IReadOnlyList<EventSourceMessage>?> ReceiveAsync(string queueArn, int maxMessages, TimeSpan wait, CancellationToken cancellationToken);

    /// <summary>Deletes processed messages; a handle that is no longer valid is skipped.</summary>
    Task DeleteAsync(string queueArn, IReadOnlyList<string> receiptHandles, CancellationToken cancellationToken);

    /// <summary>Makes received messages visible again at once (a poller stopping before it ran them).</summary>
    Task ReleaseAsync(string queueArn, IReadOnlyList<string> receiptHandles, CancellationToken cancellationToken);

    /// <summary>Messages waiting to be received (ApproximateNumberOfMessages); 0 when the queue is gone.</summary>
    Task<long> BacklogAsync(string queueArn, CancellationToken cancellationToken);

    /// <summary>
    /// The queue's resource policy (its <c>Policy</c> attribute), which the platform's own deliveries to it (bucket
    /// notifications, dead-letter queues, destinations) honour through <see cref="Queues.QueuePolicy"/>; null when it
    /// has none or the queue is gone.
    /// </summary>
    Security.PolicyDocument? PolicyOf(string queueArn);

    /// <summary>
    /// Stores a message durably, with <paramref name="traceHeader"/> (an X-Ray header) as its <c>AWSTraceHeader</c>
    /// system attribute when given; false when the queue is gone.
    /// </summary>
    Task<bool> SendAsync(string queueArn, string body, IReadOnlyDictionary<string, EventSourceMessageAttribute> attributes, CancellationToken cancellationToken, string? traceHeader = null);
}

internal sealed record EventSourceQueue(string Arn, bool IsFifo, TimeSpan VisibilityTimeout);

/// <summary>A message value of type <c>String</c>/<c>Number</c> (<see cref="StringValue"/>) or <c>Binary</c> (<see cref="BinaryValue"/>).</summary>
internal sealed record EventSourceMessageAttribute(string DataType, string? StringValue, byte[]? BinaryValue);

/// <summary>A received message with its system attributes (<c>ApproximateReceiveCount</c>, <c>SentTimestamp</c>, ...; strings, as SQS returns them).</summary>
internal sealed record EventSourceMessage(
    string MessageId,
    string ReceiptHandle,
    string Body,
    string Md5OfBody,
    IReadOnlyDictionary<string, string> Attributes,
    IReadOnlyDictionary<string, EventSourceMessageAttribute> MessageAttributes,
    string? Md5OfMessageAttributes);
