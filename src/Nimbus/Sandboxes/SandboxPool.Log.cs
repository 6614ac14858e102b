using Microsoft.Extensions.Logging;

namespace Nimbus.Sandboxes;

// Sandboxes/ event ids 4010-4019 (SandboxPool), 4080-4089 (issue 10's credential renewal), 4100-4119 (admission).
// Next free id: 4013, then 4081, then 4101.
internal sealed partial class SandboxPool
{
    private static partial class Log
    {
        [LoggerMessage(EventId = 4010, EventName = "InstanceStarted", Level = LogLevel.Debug,
            Message = "Started instance {InstanceId} of {FunctionName}:{Version} (pid {ProcessId}).")]
        public static partial void InstanceStarted(ILogger logger, string functionName, string version, string instanceId, int processId);

        [LoggerMessage(EventId = 4011, EventName = "InstanceReaped", Level = LogLevel.Debug,
            Message = "Stopping idle instance {InstanceId} of {FunctionName}.")]
        public static partial void InstanceReaped(ILogger logger, string functionName, string instanceId);

        [LoggerMessage(EventId = 4012, EventName = "ProvisioningFailed", Level = LogLevel.Warning,
            Message = "Provisioned concurrency of {FunctionName}:{Version} stopped filling: {Reason}")]
        public static partial void ProvisioningFailed(ILogger logger, string functionName, string version, string reason);

        [LoggerMessage(EventId = 4100, EventName = "WaitQueueFull", Level = LogLevel.Warning,
            Message = "Throttled a call of {FunctionName}:{Version}: {MaxWaiting} calls already wait for an instance of it. Raise NIMBUS_MAX_INSTANCES (the queue holds 4 per instance slot) or reserve concurrency for the function to cap its callers.")]
        public static partial void WaitQueueFull(ILogger logger, string functionName, string version, int maxWaiting);

        [LoggerMessage(EventId = 4080, EventName = "CredentialsDue", Level = LogLevel.Information,
            Message = "Retiring instance {InstanceId} of {FunctionName}:{Version}: its execution-role credentials are due for renewal at {RenewAt}; a fresh instance takes the next invocation.")]
        public static partial void CredentialsDue(ILogger logger, string functionName, string version, string instanceId, DateTimeOffset renewAt);
    }
}
