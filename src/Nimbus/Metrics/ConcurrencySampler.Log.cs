using Microsoft.Extensions.Logging;

namespace Nimbus.Metrics;

// ConcurrencySampler event ids: 9180-9189. Next free id: 9181.
internal sealed partial class ConcurrencySampler
{
    private static partial class Log
    {
        [LoggerMessage(EventId = 9180, EventName = "ConcurrencySampleFailed", Level = LogLevel.Warning,
            Message = "Could not sample the concurrency gauges this second; the next sample retries. If this repeats, report it with this log.")]
        public static partial void SampleFailed(ILogger logger, Exception exception);
    }
}
