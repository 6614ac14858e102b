using Microsoft.Extensions.Logging;

namespace Nimbus.Events;

// Events/ event ids: 7000-7019 (QueuePollers and MappingPoller). Next free id: 7010.
internal sealed partial class QueuePollers
{
    internal static partial class Log
    {
        [LoggerMessage(EventId = 7000, EventName = "PollerStarted", Level = LogLevel.Information,
            Message = "Polling {EventSourceArn} for {FunctionName} (event source mapping {Uuid}).")]
        public static partial void PollerStarted(ILogger logger, string uuid, string eventSourceArn, string functionName);

        [LoggerMessage(EventId = 7001, EventName = "PollerStopped", Level = LogLevel.Information,
            Message = "Stopped polling for event source mapping {Uuid}.")]
        public static partial void PollerStopped(ILogger logger, string uuid);

        [LoggerMessage(EventId = 7002, EventName = "EventSourceMappingDeleted", Level = LogLevel.Information,
            Message = "Deleted event source mapping {Uuid}.")]
        public static partial void MappingDeleted(ILogger logger, string uuid);

        [LoggerMessage(EventId = 7003, EventName = "PollerFailed", Level = LogLevel.Error,
            Message = "The poller of event source mapping {Uuid} failed; it polls again in a moment.")]
        public static partial void PollerFailed(ILogger logger, string uuid, Exception exception);

        [LoggerMessage(EventId = 7004, EventName = "BatchFailed", Level = LogLevel.Information,
            Message = "Event source mapping {Uuid}: {FunctionName} failed a batch of {Count}; the messages return after the queue's visibility timeout.")]
        public static partial void BatchFailed(ILogger logger, string uuid, string functionName, int count);

        [LoggerMessage(EventId = 7005, EventName = "BatchRejected", Level = LogLevel.Warning,
            Message = "Event source mapping {Uuid}: {FunctionName} could not be invoked: {Error}")]
        public static partial void BatchRejected(ILogger logger, string uuid, string functionName, string error);

        [LoggerMessage(EventId = 7006, EventName = "BatchThrottled", Level = LogLevel.Information,
            Message = "Event source mapping {Uuid}: {FunctionName} stayed throttled; a batch of {Count} returns to the queue after its visibility timeout.")]
        public static partial void BatchThrottled(ILogger logger, string uuid, string functionName, int count);

        [LoggerMessage(EventId = 7007, EventName = "InvalidBatchResponse", Level = LogLevel.Warning,
            Message = "Event source mapping {Uuid}: {FunctionName} returned an invalid batchItemFailures response; the whole batch counts as failed.")]
        public static partial void InvalidBatchResponse(ILogger logger, string uuid, string functionName);

        [LoggerMessage(EventId = 7008, EventName = "BatchItemsFailed", Level = LogLevel.Debug,
            Message = "Event source mapping {Uuid}: {FunctionName} failed {Failed} of {Count} messages; the rest are deleted.")]
        public static partial void BatchItemsFailed(ILogger logger, string uuid, string functionName, int failed, int count);

        [LoggerMessage(EventId = 7100, EventName = "PollingNotPermitted", Level = LogLevel.Warning,
            Message = "Event source mapping {Uuid}: stopped receiving for {FunctionName}: {Problem}. Allow the role these actions on the queue (./nimbus policy put --role ...); polling resumes within seconds.")]
        public static partial void PollingNotPermitted(ILogger logger, string uuid, string functionName, string problem);

        [LoggerMessage(EventId = 7101, EventName = "PollingPermittedAgain", Level = LogLevel.Information,
            Message = "Event source mapping {Uuid}: the execution role of {FunctionName} allows polling again; receiving resumes.")]
        public static partial void PollingPermittedAgain(ILogger logger, string uuid, string functionName);
    }
}
