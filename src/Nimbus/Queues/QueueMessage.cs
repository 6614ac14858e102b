namespace Nimbus.Queues;

/// <summary>A stored message and its delivery state. Mutable; guarded by <see cref="QueueService"/>'s gate.</summary>
internal sealed class QueueMessage
{
    private string? _md5OfBody;
    private string? _md5OfAttributes;

    public required long Seq { get; init; }

    public required string MessageId { get; init; }

    public required string Body { get; init; }

    public required IReadOnlyDictionary<string, MessageAttributeValue> Attributes { get; init; }

    public required DateTimeOffset SentAt { get; init; }

    public string? GroupId { get; init; }

    public string? DeduplicationId { get; init; }

    public string? TraceHeader { get; init; }

    public string? DeadLetterSourceArn { get; init; }

    public DateTimeOffset VisibleAt { get; set; }

    public int ReceiveCount { get; set; }

    public DateTimeOffset? FirstReceivedAt { get; set; }

    /// <summary>The token of the latest receive; a receipt handle is valid only while it carries this token.</summary>
    public string? ReceiptToken { get; set; }

    public string Md5OfBody => _md5OfBody ??= MessageMd5.OfBody(Body);

    public string? Md5OfAttributes => _md5OfAttributes ??= MessageMd5.OfAttributes(Attributes);

    public string SequenceNumber => Seq.ToString("D20", System.Globalization.CultureInfo.InvariantCulture);

    public bool IsInFlight(DateTimeOffset now) => ReceiveCount > 0 && VisibleAt > now;
}
