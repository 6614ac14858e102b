using Microsoft.Extensions.Logging;

namespace Nimbus.Security;

// Security/ service authorization event ids: 1120-1149. Next free id: 1121.
internal sealed partial class ServiceAuthorization
{
    private static partial class Log
    {
        [LoggerMessage(EventId = 1120, EventName = "ServiceActionDenied", Level = LogLevel.Information,
            Message = "Refused {Action} on {Resource} to {Principal}: no identity policy allows it (or one denies it).")]
        public static partial void Denied(ILogger logger, string principal, string action, string resource);
    }
}
