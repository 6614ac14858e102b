using Microsoft.Extensions.Logging;

namespace Nimbus.Sandboxes;

// Sandboxes/ event ids 4010-4019 (SandboxPool), 4080-4089 (issue 10's credential renewal). Next free id: 4013, then 4081.
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

        [LoggerMessage(EventId = 4080, EventName = "CredentialsDue", Level = LogLevel.Information,
            Message = "Retiring instance {InstanceId} of {FunctionName}:{Version}: its execution-role credentials are due for renewal at {RenewAt}; a fresh instance takes the next invocation.")]
        public static partial void CredentialsDue(ILogger logger, string functionName, string version, string instanceId, DateTimeOffset renewAt);
    }
}
