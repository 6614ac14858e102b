using Microsoft.Extensions.Logging;

namespace Nimbus.Invocation;

// Invocation/ event ids 3010-3029 (AsyncInvocationQueue; 3020-3022 in AsyncInvocationQueue.Queues.cs). Next free id: 3023.
// 2120 (from the Functions range given to issue 10's execution-role checks): DestinationNotPermitted.
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
            Message = "An asynchronous event for {FunctionName} was throttled ({Throttle}, attempt {Attempts}); it is tried again with backoff.")]
        public static partial void EventThrottled(ILogger logger, string functionName, ConcurrencyThrottle throttle, int attempts);

        [LoggerMessage(EventId = 3013, EventName = "EventExpired", Level = LogLevel.Warning,
            Message = "An asynchronous event for {FunctionName} was dropped after {Attempts} attempts: it would be older than its maximum event age of {MaxAgeSeconds} s.")]
        public static partial void EventExpired(ILogger logger, string functionName, int attempts, double maxAgeSeconds);

        [LoggerMessage(EventId = 3014, EventName = "EventRetryScheduled", Level = LogLevel.Information,
            Message = "An asynchronous event for {FunctionName} (request {RequestId}) failed on invocation {InvokeCount}; retrying in {DelaySeconds} s.")]
        public static partial void EventRetryScheduled(ILogger logger, string functionName, string requestId, int invokeCount, double delaySeconds);

        [LoggerMessage(EventId = 3015, EventName = "EventFailed", Level = LogLevel.Warning,
            Message = "An asynchronous event for {FunctionName} (request {RequestId}) failed after {InvokeCount} invocations: {Condition}.")]
        public static partial void EventFailed(ILogger logger, string functionName, string requestId, int invokeCount, string condition);

        [LoggerMessage(EventId = 3016, EventName = "DestinationSent", Level = LogLevel.Debug,
            Message = "The {Outcome} record of {FunctionName}'s request {RequestId} was queued for the destination function {Destination}.")]
        public static partial void DestinationSent(ILogger logger, string functionName, string requestId, AsyncOutcome outcome, string destination);

        [LoggerMessage(EventId = 3017, EventName = "EventsRestored", Level = LogLevel.Information,
            Message = "{Count} asynchronous events stored by an earlier run were not finished; they run again now (delivery is at least once).")]
        public static partial void EventsRestored(ILogger logger, int count);

        [LoggerMessage(EventId = 3018, EventName = "EventRunFailed", Level = LogLevel.Error,
            Message = "An asynchronous event for {FunctionName} (request {RequestId}) could not be run; it is tried again with backoff.")]
        public static partial void EventRunFailed(ILogger logger, string functionName, string requestId, Exception exception);

        [LoggerMessage(EventId = 3019, EventName = "DestinationInvalid", Level = LogLevel.Warning,
            Message = "The destination {Destination} of {FunctionName}'s event invoke config is not a function Nimbus can invoke ({Reason}); the record was not sent. Fix it with put-function-event-invoke-config.")]
        public static partial void DestinationInvalid(ILogger logger, string functionName, string destination, string reason);

        [LoggerMessage(EventId = 2120, EventName = "DestinationNotPermitted", Level = LogLevel.Warning,
            Message = "The destination record of {FunctionName}'s event {RequestId} for {Destination} is dropped because {Reason}. Deliveries resume once it may invoke.")]
        public static partial void DestinationNotPermitted(ILogger logger, string functionName, string requestId, string destination, string reason);
    }
}
