using Microsoft.Extensions.Logging;

namespace Nimbus.Events;

// Queue policy checks of the platform's own deliveries, event ids 6110-6119 (the Queues range). Next free id: 6112
// (6111 retired: it was AsyncInvocationQueue's queue-policy Deny, now part of 6120). 6120-6129: the execution roles'
// sends to dead-letter queues and destinations (AsyncInvocationQueue 6120); next free 6121.
internal sealed partial class QueueNotificationTarget
{
    private static partial class Log
    {
        [LoggerMessage(EventId = 6110, EventName = "QueueNotificationNotPermitted", Level = LogLevel.Warning,
            Message = "Dropped a notification of {Bucket} for the queue {Queue}: the queue's policy does not allow s3.amazonaws.com to call sqs:SendMessage for this bucket, or denies it. Add an Allow statement for the service principal s3.amazonaws.com with an ArnEquals condition on aws:SourceArn = the bucket's ARN to resume deliveries.")]
        public static partial void NotPermitted(ILogger logger, string queue, string bucket);
    }
}
