using Microsoft.Extensions.Logging;

namespace Nimbus.Storage;

// Queues/ event ids: 6000-6099 (the ledger is in QueueService.Log.cs); SqliteQueueStore uses 6050-6059. Next free id: 6051.
internal sealed partial class SqliteQueueStore
{
    private static partial class Log
    {
        [LoggerMessage(EventId = 6050, EventName = "QueueBatchFailed", Level = LogLevel.Error,
            Message = "Could not write {Count} queue changes to {Path}; check free disk space and file permissions.")]
        public static partial void QueueBatchFailed(ILogger logger, int count, string path, Exception exception);
    }
}
