using Microsoft.Extensions.Logging;

namespace Nimbus.Events;

// Events/ schedule event ids 7040-7059 (ScheduleService, ScheduleRunner). Next free id: 7045; 7050-7054 authorization (next 7051).
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
            Message = "Schedule {Group}/{Name} could not queue its run of {Run:O} (the async queue is full or the target ARN is not a function); it is offered again in a second.")]
        public static partial void RunRefused(ILogger logger, string group, string name, DateTimeOffset run);

        [LoggerMessage(EventId = 7050, EventName = "ScheduleRunNotAuthorized", Level = LogLevel.Warning,
            Message = "Schedule {Group}/{Name} dropped its run of {Run:O}: its role {RoleArn} is not allowed lambda:InvokeFunction on {Target}. Attach a policy allowing it (./nimbus policy put --role <role> <file>).")]
        public static partial void RunNotAuthorized(ILogger logger, string group, string name, DateTimeOffset run, string roleArn, string target);

        [LoggerMessage(EventId = 7043, EventName = "CompletedScheduleDeleted", Level = LogLevel.Information,
            Message = "Schedule {Group}/{Name} has no run left and ActionAfterCompletion DELETE: deleted.")]
        public static partial void CompletedScheduleDeleted(ILogger logger, string group, string name);
    }
}
