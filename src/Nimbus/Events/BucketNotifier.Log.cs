using Microsoft.Extensions.Logging;

namespace Nimbus.Events;

// Events/ bucket notification event ids: 7020-7039. Next free id: 7025 (7024 LambdaNotificationTarget).
internal sealed partial class BucketNotifier
{
    private static partial class Log
    {
        [LoggerMessage(EventId = 7020, EventName = "NotificationTargetMissing", Level = LogLevel.Warning,
            Message = "Bucket {Bucket} has a {Kind} notification configuration, but this node has no {Kind} target yet: those notifications are not sent.")]
        public static partial void NoTarget(ILogger logger, string kind, string bucket);

        [LoggerMessage(EventId = 7021, EventName = "NotificationDrainFailed", Level = LogLevel.Error,
            Message = "Could not read the stored bucket notifications from buckets.db; retrying in a second.")]
        public static partial void DrainFailed(ILogger logger, Exception exception);

        [LoggerMessage(EventId = 7022, EventName = "NotificationDeliveryFailed", Level = LogLevel.Warning,
            Message = "Could not hand a bucket notification to {Target}; it stays stored and is retried.")]
        public static partial void DeliveryFailed(ILogger logger, string target, Exception exception);

        [LoggerMessage(EventId = 7023, EventName = "NotificationTargetGone", Level = LogLevel.Warning,
            Message = "Dropped a bucket notification for {Target}: the target no longer exists. Update the bucket's notification configuration.")]
        public static partial void TargetGone(ILogger logger, string target);
    }
}
