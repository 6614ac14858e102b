using Microsoft.Extensions.Logging;

namespace Nimbus.Security;

// Security/ service authorization event ids: 1120-1149 (next free 1121), and 8130-8149 (next free 8131).
internal sealed partial class ServiceAuthorization
{
    private static partial class Log
    {
        [LoggerMessage(EventId = 1120, EventName = "ServiceActionDenied", Level = LogLevel.Information,
            Message = "Refused {Action} on {Resource} to {Principal}: no identity policy (nor the queue's or bucket's policy) allows it, or one denies it. Grant it in the caller's identity policy or the resource's policy.")]
        public static partial void Denied(ILogger logger, string principal, string action, string resource);

        [LoggerMessage(EventId = 8130, EventName = "PassRoleDenied", Level = LogLevel.Information,
            Message = "Refused to let {Principal} pass the role {RoleArn} to {Service}: allow it iam:PassRole on that role (with iam:PassedToService = {Service}), or name a role it may pass.")]
        public static partial void PassRoleDenied(ILogger logger, string principal, string roleArn, string service);
    }
}
