namespace Nimbus.Events;

/// <summary>
/// Hands a bucket notification to an SQS-compatible queue (a QueueConfiguration): the S3 event JSON becomes the
/// message body, committed to queues.db before the notification counts as delivered.
/// </summary>
internal sealed class QueueNotificationTarget(IEventSourceQueues queues) : INotificationTarget
{
    private static readonly Dictionary<string, EventSourceMessageAttribute> NoAttributes = [];

    public NotificationTargetKind Kind => NotificationTargetKind.Queue;

    public async Task<NotificationDelivery> DeliverAsync(string targetArn, byte[] payload, string? traceHeader, CancellationToken cancellationToken)
    {
        if (await queues.FindAsync(targetArn, cancellationToken).ConfigureAwait(false) is null)
        {
            return NotificationDelivery.Dropped;
        }

        var body = System.Text.Encoding.UTF8.GetString(payload);
        return await queues.SendAsync(targetArn, body, NoAttributes, cancellationToken).ConfigureAwait(false)
            ? NotificationDelivery.Delivered
            : NotificationDelivery.RetryLater;
    }
}
