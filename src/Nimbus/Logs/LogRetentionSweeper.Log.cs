using Microsoft.Extensions.Logging;

namespace Nimbus.Logs;

// Logs/ event ids: 9000-9099. Next free id: 9002.
internal sealed partial class LogRetentionSweeper
{
    private static partial class Log
    {
        [LoggerMessage(EventId = 9000, EventName = "ExpiredLogEventsDeleted", Level = LogLevel.Information,
            Message = "Deleted {Count} log events older than their log group's retention policy.")]
        public static partial void ExpiredEventsDeleted(ILogger logger, long count);

        [LoggerMessage(EventId = 9001, EventName = "LogRetentionSweepFailed", Level = LogLevel.Error,
            Message = "Could not delete expired log events; the next sweep tries again. Check free disk space and the permissions of logs.db.")]
        public static partial void SweepFailed(ILogger logger, Exception exception);
    }
}
