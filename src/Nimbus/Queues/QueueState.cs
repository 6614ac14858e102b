using Nimbus.Storage;

namespace Nimbus.Queues;

/// <summary>One queue in memory: its attributes and messages in send order. Guarded by <see cref="QueueService"/>'s gate.</summary>
internal sealed class QueueState
{
    private TaskCompletionSource _arrival = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public QueueState(string name, string arn, DateTimeOffset createdAt, Dictionary<string, string> attributes, Dictionary<string, string> tags)
    {
        Name = name;
        Arn = arn;
        CreatedAt = createdAt;
        ModifiedAt = createdAt;
        Attributes = attributes;
        Tags = tags;
        Settings = QueueAttributeRules.Settings(name, arn, attributes);
    }

    public string Name { get; }

    public string Arn { get; }

    public DateTimeOffset CreatedAt { get; }

    public DateTimeOffset ModifiedAt { get; set; }

    public Dictionary<string, string> Attributes { get; }

    public Dictionary<string, string> Tags { get; }

    public QueueSettings Settings { get; private set; }

    public bool IsFifo => Settings.IsFifo;

    /// <summary>Messages by sequence number: the order FIFO hands them out and standard queues approximate.</summary>
    public SortedDictionary<long, QueueMessage> Messages { get; } = [];

    public Dictionary<string, QueueMessage> ById { get; } = new(StringComparer.Ordinal);

    /// <summary>FIFO deduplication ids seen in the last five minutes and what their send answered.</summary>
    public Dictionary<string, (SendOutcome Outcome, DateTimeOffset Expires)> Deduplication { get; } = new(StringComparer.Ordinal);

    public DateTimeOffset? LastPurge { get; set; }

    public bool Deleted { get; set; }

    /// <summary>Completes when something a waiting receive may take appears: a send, a visibility change, a group unblocked.</summary>
    public Task Arrival => _arrival.Task;

    public void Signal()
    {
        var previous = _arrival;
        _arrival = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        previous.TrySetResult();
    }

    public void RefreshSettings() => Settings = QueueAttributeRules.Settings(Name, Arn, Attributes);

    public void Add(QueueMessage message)
    {
        Messages.Add(message.Seq, message);
        ById[message.MessageId] = message;
    }

    public void Remove(QueueMessage message)
    {
        Messages.Remove(message.Seq);
        ById.Remove(message.MessageId);
    }

    public QueueRow ToRow() => new(Name, CreatedAt, ModifiedAt, QueueJson.WriteStrings(Attributes), QueueJson.WriteStrings(Tags));
}
