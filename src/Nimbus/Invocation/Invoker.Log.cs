using Microsoft.Extensions.Logging;
using Nimbus.Sandboxes;

namespace Nimbus.Invocation;

// Invocation/ event ids: 3000-3099 (Invoker 3000-3009). Next free id: 3003.
internal sealed partial class Invoker
{
    private static partial class Log
    {
        [LoggerMessage(EventId = 3000, EventName = "Invoked", Level = LogLevel.Debug,
            Message = "Invoked {FunctionName} request {RequestId}: {Outcome} in {DurationMs:0.00} ms.")]
        public static partial void Invoked(ILogger logger, string functionName, string requestId, InvokeOutcomeKind outcome, double durationMs);

        [LoggerMessage(EventId = 3001, EventName = "InstanceStartFailed", Level = LogLevel.Warning,
            Message = "No instance of {FunctionName} could start: {Error}")]
        public static partial void InstanceStartFailed(ILogger logger, string functionName, string error);

        [LoggerMessage(EventId = 3002, EventName = "Throttled", Level = LogLevel.Debug,
            Message = "Throttled an invocation of {FunctionName}: {Throttle}.")]
        public static partial void Throttled(ILogger logger, string functionName, ConcurrencyThrottle throttle);
    }
}
