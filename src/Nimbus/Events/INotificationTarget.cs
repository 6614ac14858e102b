namespace Nimbus.Events;

/// <summary>
/// Delivers bucket notifications of one <see cref="Kind"/> (a Lambda function, an SQS-compatible queue). A
/// notification is stored with the object change that caused it and handed to its target until the target takes
/// it; the queue service registers its own target to receive QueueConfiguration notifications.
/// </summary>
internal interface INotificationTarget
{
    NotificationTargetKind Kind { get; }

    /// <summary>
    /// Takes the S3 event JSON durably. Retry when it answers <see cref="NotificationDelivery.RetryLater"/>; a target
    /// that is gone for good answers <see cref="NotificationDelivery.Dropped"/>. <paramref name="traceHeader"/> is the
    /// Root and Sampled of the S3 request's <c>X-Amzn-Trace-Id</c> (null when it sent none), for the target to continue.
    /// </summary>
    Task<NotificationDelivery> DeliverAsync(string targetArn, byte[] payload, string? traceHeader, CancellationToken cancellationToken);
}

internal enum NotificationDelivery
{
    Delivered,
    RetryLater,
    Dropped,
}
