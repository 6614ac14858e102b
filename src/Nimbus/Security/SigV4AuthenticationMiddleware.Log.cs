using Microsoft.Extensions.Logging;

namespace Nimbus.Security;

// Security/ event ids: 1100-1199. Next free id: 1105 (1101 SigV4Authenticator, 1102 LambdaAuthorizationMiddleware, 1103-1104 SecurityBanner).
internal sealed partial class SigV4AuthenticationMiddleware
{
    private static partial class Log
    {
        [LoggerMessage(EventId = 1100, EventName = "RequestRejected", Level = LogLevel.Information,
            Message = "Refused {Method} {Path} (service {Service}): {Kind}: {Reason}")]
        public static partial void RequestRejected(ILogger logger, string method, string path, string service, AuthFailureKind kind, string reason);
    }
}
