using Microsoft.Extensions.Logging;

namespace Nimbus.Events;

// Events/ schedule event ids 7040-7059 (ScheduleService, ScheduleRunner): 7040-7047 and 7055-7059 schedules (next free 7048), 7050-7054 authorization (next free 7051); 7120 (issue 10's range 7120-7129, next free 7121).
internal sealed partial class ScheduleService
{
    private static partial class Log
    {
        [LoggerMessage(EventId = 7040, EventName = "ScheduleRunFired", Level = LogLevel.Debug,
            Message = "Schedule {Group}/{Name} fired its run of {Run:O} as event {RequestId}.")]
        public static partial void RunFired(ILogger logger, string group, string name, DateTimeOffset run, string requestId);

        [LoggerMessage(EventId = 7041, EventName = "ScheduleLateRunFired", Level = LogLevel.Information,
            Message = "Schedule {Group}/{Name} fired its run of {Run:O} late (the node was down or busy); {Skipped} earlier missed runs were skipped.")]
        public static partial void LateRunFired(ILogger logger, string group, string name, DateTimeOffset run, int skipped);

        [LoggerMessage(EventId = 7042, EventName = "ScheduleRunRefused", Level = LogLevel.Warning,
            Message = "Schedule {Group}/{Name} could not deliver its run of {Run:O} to its target ({ErrorCode}: {ErrorMessage}); retry {Retry} at {RetryAt:O}, within the target's RetryPolicy.")]
        public static partial void RunRefused(ILogger logger, string group, string name, DateTimeOffset run, string errorCode, string errorMessage, int retry, DateTimeOffset retryAt);

        [LoggerMessage(EventId = 7050, EventName = "ScheduleRunNotAuthorized", Level = LogLevel.Warning,
            Message = "Schedule {Group}/{Name} dropped its run of {Run:O}: its role {RoleArn} is not allowed lambda:InvokeFunction on {Target}. Attach a policy allowing it (./nimbus policy put --role <role> <file>).")]
        public static partial void RunNotAuthorized(ILogger logger, string group, string name, DateTimeOffset run, string roleArn, string target);

        [LoggerMessage(EventId = 7043, EventName = "CompletedScheduleDeleted", Level = LogLevel.Information,
            Message = "Schedule {Group}/{Name} has no run left and ActionAfterCompletion DELETE: deleted.")]
        public static partial void CompletedScheduleDeleted(ILogger logger, string group, string name);

        [LoggerMessage(EventId = 7045, EventName = "ScheduleRunDeadLettered", Level = LogLevel.Warning,
            Message = "Schedule {Group}/{Name} gave up its run of {Run:O} after {Retries} retries ({ErrorCode}) and sent it to its dead-letter queue {QueueArn}.")]
        public static partial void RunDeadLettered(ILogger logger, string group, string name, DateTimeOffset run, string errorCode, int retries, string queueArn);

        [LoggerMessage(EventId = 7046, EventName = "ScheduleRunDropped", Level = LogLevel.Error,
            Message = "Schedule {Group}/{Name} dropped its run of {Run:O} after {Retries} retries ({ErrorCode}: {ErrorMessage}). Fix the target, and give the schedule a DeadLetterConfig to keep failed runs.")]
        public static partial void RunDropped(ILogger logger, string group, string name, DateTimeOffset run, string errorCode, string errorMessage, int retries);

        [LoggerMessage(EventId = 7047, EventName = "ScheduleDeadLetterQueueMissing", Level = LogLevel.Error,
            Message = "Schedule {Group}/{Name} dropped its failed run of {Run:O}: its dead-letter queue {QueueArn} does not exist. Create the queue or update the schedule's DeadLetterConfig.")]
        public static partial void DeadLetterQueueMissing(ILogger logger, string group, string name, DateTimeOffset run, string queueArn);

        [LoggerMessage(EventId = 7120, EventName = "ScheduleDeadLetterNotPermitted", Level = LogLevel.Warning,
            Message = "Schedule {Group}/{Name} dropped its failed run of {Run:O}: it may not send to its dead-letter queue {QueueArn} because {Reason}.")]
        public static partial void DeadLetterNotPermitted(ILogger logger, string group, string name, DateTimeOffset run, string queueArn, string reason);
    }
}
