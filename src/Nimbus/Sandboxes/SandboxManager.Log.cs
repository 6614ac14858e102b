using Microsoft.Extensions.Logging;

namespace Nimbus.Sandboxes;

// Sandboxes/ event ids 4020-4029 (SandboxManager). Next free id: 4026.
internal sealed partial class SandboxManager
{
    private static partial class Log
    {
        [LoggerMessage(EventId = 4020, EventName = "NoInstanceCapacity", Level = LogLevel.Warning,
            Message = "No instance slot for {FunctionName}: all {Capacity} instance slots of this node are in use ({Refusals} refusals since the last such line; callers wait up to Nimbus:AdmissionWait, then are throttled). Raise Nimbus:MaxInstances to run more at once.")]
        public static partial void NoInstanceCapacity(ILogger logger, string functionName, int capacity, long refusals);

        [LoggerMessage(EventId = 4021, EventName = "InstanceStartFailed", Level = LogLevel.Error,
            Message = "Could not start an instance of {FunctionName}.")]
        public static partial void InstanceStartFailed(ILogger logger, string functionName, Exception exception);

        [LoggerMessage(EventId = 4022, EventName = "Draining", Level = LogLevel.Information,
            Message = "Shutting down: waiting for {Busy} invocations in flight to finish (each within its function's timeout).")]
        public static partial void Draining(ILogger logger, int busy);

        [LoggerMessage(EventId = 4023, EventName = "NoMemory", Level = LogLevel.Warning,
            Message = "No room for another {MemoryMb} MB instance of {FunctionName}: {CommittedMb} of {LimitMb} MB are committed to busy instances ({Refusals} refusals since the last such line; callers wait up to Nimbus:AdmissionWait, then are throttled). Raise Nimbus:InstanceMemoryLimitMb or lower the functions' MemorySize.")]
        public static partial void NoMemory(ILogger logger, string functionName, int memoryMb, long committedMb, long limitMb, long refusals);

        [LoggerMessage(EventId = 4024, EventName = "PrestartFailed", Level = LogLevel.Warning,
            Message = "Could not pre-start a {Family} runtime; cold starts start a fresh process instead.")]
        public static partial void PrestartFailed(ILogger logger, RuntimeFamily family, Exception exception);

        [LoggerMessage(EventId = 4025, EventName = "SpecializeFailed", Level = LogLevel.Warning,
            Message = "A pre-started runtime could not take {FunctionName}'s code; starting a fresh process for it instead.")]
        public static partial void SpecializeFailed(ILogger logger, string functionName, Exception exception);
    }
}
