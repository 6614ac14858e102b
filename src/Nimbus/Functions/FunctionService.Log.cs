using Microsoft.Extensions.Logging;

namespace Nimbus.Functions;

// Functions/ event ids: 2000-2099 (LayerService.Log.cs uses some). Next free id: 2013.
// 2120-2129: issue 10's execution-role checks (2120 AsyncInvocationQueue, 2121 here, 2122 EventInvokeConfigService); next free 2123.
// 2130-2139: versions and publishing (2130 here); next free 2131.
internal sealed partial class FunctionService
{
    private static partial class Log
    {
        [LoggerMessage(EventId = 2000, EventName = "FunctionCreated", Level = LogLevel.Information,
            Message = "Created function {FunctionName} ({Runtime}, {CodeSize} bytes of code).")]
        public static partial void FunctionCreated(ILogger logger, string functionName, string runtime, long codeSize);

        [LoggerMessage(EventId = 2001, EventName = "FunctionUpdated", Level = LogLevel.Information,
            Message = "Updated function {FunctionName} to revision {RevisionId}.")]
        public static partial void FunctionUpdated(ILogger logger, string functionName, string revisionId);

        [LoggerMessage(EventId = 2002, EventName = "FunctionDeleted", Level = LogLevel.Information,
            Message = "Deleted function {FunctionName}.")]
        public static partial void FunctionDeleted(ILogger logger, string functionName);

        [LoggerMessage(EventId = 2003, EventName = "ReservedConcurrencySet", Level = LogLevel.Information,
            Message = "Reserved concurrency of {FunctionName} set to {ReservedConcurrentExecutions}.")]
        public static partial void ReservedConcurrencySet(ILogger logger, string functionName, int reservedConcurrentExecutions);

        [LoggerMessage(EventId = 2004, EventName = "ReservedConcurrencyDeleted", Level = LogLevel.Information,
            Message = "Reserved concurrency of {FunctionName} deleted; it shares the unreserved pool again.")]
        public static partial void ReservedConcurrencyDeleted(ILogger logger, string functionName);

        [LoggerMessage(EventId = 2005, EventName = "VersionPublished", Level = LogLevel.Information,
            Message = "Published version {Version} of function {FunctionName}.")]
        public static partial void VersionPublished(ILogger logger, string functionName, string version);

        [LoggerMessage(EventId = 2130, EventName = "VersionUnchanged", Level = LogLevel.Information,
            Message = "PublishVersion of function {FunctionName} returned version {Version}: code and configuration have not changed since it was published. Change the code or configuration first to publish a new version.")]
        public static partial void VersionUnchanged(ILogger logger, string functionName, string version);

        [LoggerMessage(EventId = 2006, EventName = "VersionDeleted", Level = LogLevel.Information,
            Message = "Deleted version {Version} of function {FunctionName}.")]
        public static partial void VersionDeleted(ILogger logger, string functionName, string version);

        [LoggerMessage(EventId = 2007, EventName = "AliasWritten", Level = LogLevel.Information,
            Message = "Alias {AliasName} of function {FunctionName} now points to version {Version}.")]
        public static partial void AliasWritten(ILogger logger, string functionName, string aliasName, string version);

        [LoggerMessage(EventId = 2008, EventName = "AliasDeleted", Level = LogLevel.Information,
            Message = "Deleted alias {AliasName} of function {FunctionName}.")]
        public static partial void AliasDeleted(ILogger logger, string functionName, string aliasName);

        [LoggerMessage(EventId = 2011, EventName = "ProvisionedConcurrencySet", Level = LogLevel.Information,
            Message = "Provisioned concurrency of {FunctionName}:{Qualifier} set to {Requested}.")]
        public static partial void ProvisionedConcurrencySet(ILogger logger, string functionName, string qualifier, int requested);

        [LoggerMessage(EventId = 2012, EventName = "ProvisionedConcurrencyDeleted", Level = LogLevel.Information,
            Message = "Provisioned concurrency of {FunctionName}:{Qualifier} removed.")]
        public static partial void ProvisionedConcurrencyDeleted(ILogger logger, string functionName, string qualifier);

        [LoggerMessage(EventId = 2121, EventName = "DeadLetterQueueNotPermitted", Level = LogLevel.Information,
            Message = "Refused the dead-letter queue {QueueArn} for the execution role {RoleArn}: {Reason}.")]
        public static partial void ExecutionRoleMayNotSend(ILogger logger, string roleArn, string queueArn, string reason);
    }
}
