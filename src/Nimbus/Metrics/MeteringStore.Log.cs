using Microsoft.Extensions.Logging;

namespace Nimbus.Metrics;

// Metrics/ event ids: 9100-9199 (MeteringStore 9100-9109, MetricsMiddleware 9110-9119, ConcurrencySampler 9180-9189). Next free id: 9101.
internal sealed partial class MeteringStore
{
    private static partial class Log
    {
        [LoggerMessage(EventId = 9100, EventName = "MeteringBatchFailed", Level = LogLevel.Error,
            Message = "Could not write {Count} invocation records to {Path}; check free disk space and file permissions.")]
        public static partial void BatchFailed(ILogger logger, int count, string path, Exception exception);
    }
}
