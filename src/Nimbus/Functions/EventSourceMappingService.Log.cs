using Microsoft.Extensions.Logging;

namespace Nimbus.Functions;

// Functions/ event ids: 2000-2099 (the ledger is in FunctionService.Log.cs); EventSourceMappingService uses 2090-2099. Next free id: 2095.
internal sealed partial class EventSourceMappingService
{
    private static partial class Log
    {
        [LoggerMessage(EventId = 2090, EventName = "EventSourceMappingCreated", Level = LogLevel.Information,
            Message = "Created event source mapping {Uuid}: {EventSourceArn} to {FunctionName}.")]
        public static partial void MappingCreated(ILogger logger, string uuid, string eventSourceArn, string functionName);

        [LoggerMessage(EventId = 2091, EventName = "EventSourceMappingUpdated", Level = LogLevel.Information,
            Message = "Updated event source mapping {Uuid} ({State}).")]
        public static partial void MappingUpdated(ILogger logger, string uuid, string state);

        [LoggerMessage(EventId = 2092, EventName = "EventSourceMappingDeleting", Level = LogLevel.Information,
            Message = "Deleting event source mapping {Uuid}.")]
        public static partial void MappingDeleting(ILogger logger, string uuid);

        [LoggerMessage(EventId = 2094, EventName = "EventSourceMappingRoleNotAllowed", Level = LogLevel.Information,
            Message = "Refused an event source mapping: the function's execution role {RoleArn} may not call sqs:{Action} on {QueueArn}. Attach a role policy allowing sqs:ReceiveMessage, sqs:DeleteMessage and sqs:GetQueueAttributes on the queue.")]
        public static partial void RoleNotAllowed(ILogger logger, string roleArn, string action, string queueArn);
    }
}
