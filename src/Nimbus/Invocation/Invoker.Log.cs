using Microsoft.Extensions.Logging;
using Nimbus.Sandboxes;

namespace Nimbus.Invocation;

// Invocation/ event ids: 3000-3099 (Invoker 3000-3009), 3120-3139 (admission). Next free id: 3003, then 3122.
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

        [LoggerMessage(EventId = 3120, EventName = "CallerGoneWaiting", Level = LogLevel.Information,
            Message = "The caller of {FunctionName} request {RequestId} hung up after waiting {WaitedMs:0} ms for an instance: its place is given up, nothing was started for it. Many of these mean callers time out before the node can serve them: raise their timeout, or reserve concurrency to throttle early.")]
        public static partial void CallerGoneWaiting(ILogger logger, string functionName, string requestId, double waitedMs);

        [LoggerMessage(EventId = 3121, EventName = "CallerGoneInitializing", Level = LogLevel.Information,
            Message = "The caller of {FunctionName} request {RequestId} hung up during the cold start of instance {InstanceId}: the invocation is not run; the instance finishes its init and joins the pool.")]
        public static partial void CallerGoneInitializing(ILogger logger, string functionName, string requestId, string instanceId);
    }
}
