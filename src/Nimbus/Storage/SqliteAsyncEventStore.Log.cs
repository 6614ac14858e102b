using Microsoft.Extensions.Logging;

namespace Nimbus.Storage;

// Storage/ event ids: 5000-5099 (the ledger is in LogStore.Log.cs); SqliteAsyncEventStore uses 5050-5059. Next free id: 5051.
internal sealed partial class SqliteAsyncEventStore
{
    private static partial class Log
    {
        [LoggerMessage(EventId = 5050, EventName = "EventBatchFailed", Level = LogLevel.Error,
            Message = "Could not write {Count} asynchronous event changes to {Path}; check free disk space and file permissions.")]
        public static partial void EventBatchFailed(ILogger logger, int count, string path, Exception exception);
    }
}
