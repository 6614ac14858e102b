namespace Nimbus.Storage;

/// <summary>
/// Durable state of the queues. <see cref="Append"/> must be called in the order the changes happened (the queue
/// service calls it under its gate): the store commits writes in that order, so what is on disk is always a prefix
/// of what happened in memory.
/// </summary>
internal interface IQueueStore
{
    Task<QueueSnapshot> LoadAsync(CancellationToken cancellationToken);

    /// <summary>Queues the writes without blocking; the task completes once they are committed (fsync'd).</summary>
    Task Append(IReadOnlyList<QueueWrite> writes);
}

/// <summary>Everything queues.db holds, read once at start.</summary>
internal sealed record QueueSnapshot(IReadOnlyList<QueueRow> Queues, IReadOnlyList<MessageRow> Messages);

internal sealed record QueueRow(string Name, DateTimeOffset CreatedAt, DateTimeOffset ModifiedAt, string AttributesJson, string TagsJson);

internal sealed record MessageRow(
    long Seq,
    string QueueName,
    string MessageId,
    string Body,
    string? AttributesJson,
    DateTimeOffset SentAt,
    DateTimeOffset VisibleAt,
    int ReceiveCount,
    DateTimeOffset? FirstReceivedAt,
    string? ReceiptToken,
    string? GroupId,
    string? DeduplicationId,
    string? TraceHeader,
    string? DeadLetterSourceArn);

/// <summary>One change to queues.db.</summary>
internal abstract record QueueWrite
{
    public sealed record PutQueue(QueueRow Queue) : QueueWrite;

    /// <summary>Removes the queue and all its messages.</summary>
    public sealed record DropQueue(string Name) : QueueWrite;

    public sealed record PutMessage(MessageRow Message) : QueueWrite;

    public sealed record UpdateDelivery(long Seq, DateTimeOffset VisibleAt, int ReceiveCount, DateTimeOffset? FirstReceivedAt, string? ReceiptToken) : QueueWrite;

    public sealed record RemoveMessage(long Seq) : QueueWrite;

    /// <summary>Removes all messages of a queue.</summary>
    public sealed record Purge(string Name) : QueueWrite;
}
