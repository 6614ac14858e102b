using Microsoft.Extensions.Logging;

namespace Nimbus.Storage;

// Storage/ event ids: 5000-5099 (5050-5059: SqliteAsyncEventStore.Log.cs). Next free id: 5001.
internal sealed partial class LogStore
{
    private static partial class Log
    {
        [LoggerMessage(EventId = 5000, EventName = "LogBatchFailed", Level = LogLevel.Error,
            Message = "Could not write {Count} function log lines to {Path}; check free disk space and file permissions.")]
        public static partial void LogBatchFailed(ILogger logger, int count, string path, Exception exception);
    }
}
