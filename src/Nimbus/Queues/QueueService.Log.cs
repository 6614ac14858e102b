using Microsoft.Extensions.Logging;

namespace Nimbus.Queues;

// Queues/ event ids: 6000-6099 (QueueService 6000-6019, SqsApi 6020-6029, SqliteQueueStore 6050-6059). Next free id: 6004.
internal sealed partial class QueueService
{
    private static partial class Log
    {
        [LoggerMessage(EventId = 6000, EventName = "QueuesLoaded", Level = LogLevel.Information,
            Message = "Loaded {QueueCount} queues with {MessageCount} messages from queues.db.")]
        public static partial void QueuesLoaded(ILogger logger, int queueCount, int messageCount);

        [LoggerMessage(EventId = 6001, EventName = "QueueCreated", Level = LogLevel.Information, Message = "Created queue {QueueName}.")]
        public static partial void QueueCreated(ILogger logger, string queueName);

        [LoggerMessage(EventId = 6002, EventName = "QueueDeleted", Level = LogLevel.Information, Message = "Deleted queue {QueueName}.")]
        public static partial void QueueDeleted(ILogger logger, string queueName);

        [LoggerMessage(EventId = 6003, EventName = "MovedToDeadLetterQueue", Level = LogLevel.Information,
            Message = "Moved message {MessageId} from {QueueName} to its dead-letter queue {DeadLetterQueueName} after {ReceiveCount} receives.")]
        public static partial void MovedToDeadLetterQueue(ILogger logger, string messageId, string queueName, string deadLetterQueueName, int receiveCount);
    }
}
