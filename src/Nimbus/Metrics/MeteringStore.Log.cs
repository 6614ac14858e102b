using Microsoft.Extensions.Logging;

namespace Nimbus.Metrics;

// Metrics/ event ids: 9100-9199 (MeteringStore 9100-9109, MetricsMiddleware 9110-9119, ConcurrencySampler 9180-9189),
// 9220-9239 (MeteringStore retention 9220-9229). Next free ids: 9101, 9222.
internal sealed partial class MeteringStore
{
    private static partial class Log
    {
        [LoggerMessage(EventId = 9100, EventName = "MeteringBatchFailed", Level = LogLevel.Error,
            Message = "Could not write {Count} invocation records to {Path}; check free disk space and file permissions.")]
        public static partial void BatchFailed(ILogger logger, int count, string path, Exception exception);

        [LoggerMessage(EventId = 9220, EventName = "MeteringExpiredRowsDeleted", Level = LogLevel.Information,
            Message = "Deleted {Count} metering rows past their retention from {Path} (MeteringRetentionDays, MetricSampleRetentionDays).")]
        public static partial void ExpiredRowsDeleted(ILogger logger, long count, string path);

        [LoggerMessage(EventId = 9221, EventName = "MeteringRetentionSweepFailed", Level = LogLevel.Error,
            Message = "Could not delete expired metering rows from {Path}; the next sweep tries again in a minute. Check free disk space and file permissions.")]
        public static partial void RetentionSweepFailed(ILogger logger, string path, Exception exception);
    }
}
