using Microsoft.Extensions.Logging;

namespace Nimbus.Invocation;

// Invocation/ event ids 3010-3019 (AsyncInvocationQueue). Next free id: 3014.
internal sealed partial class AsyncInvocationQueue
{
    private static partial class Log
    {
        [LoggerMessage(EventId = 3010, EventName = "EventRejected", Level = LogLevel.Warning,
            Message = "An asynchronous event for {FunctionName} was dropped: {ErrorType}.")]
        public static partial void EventRejected(ILogger logger, string functionName, string errorType);

        [LoggerMessage(EventId = 3011, EventName = "EventDroppedReservedConcurrencyZero", Level = LogLevel.Warning,
            Message = "An asynchronous event for {FunctionName} was dropped: the function's reserved concurrency is 0, so it is throttled. Delete or raise the reservation (put-function-concurrency) to run its events.")]
        public static partial void EventDroppedReservedConcurrencyZero(ILogger logger, string functionName);

        [LoggerMessage(EventId = 3012, EventName = "EventThrottled", Level = LogLevel.Debug,
            Message = "An asynchronous event for {FunctionName} was throttled ({Throttle}, attempt {Attempts}); trying again in {DelaySeconds} s.")]
        public static partial void EventThrottled(ILogger logger, string functionName, ConcurrencyThrottle throttle, int attempts, double delaySeconds);

        [LoggerMessage(EventId = 3013, EventName = "EventExpired", Level = LogLevel.Warning,
            Message = "An asynchronous event for {FunctionName} was dropped after {Attempts} throttled attempts: it would be older than the maximum event age of {MaxAgeHours} h.")]
        public static partial void EventExpired(ILogger logger, string functionName, int attempts, double maxAgeHours);
    }
}
