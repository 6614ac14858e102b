using Microsoft.Extensions.Logging;

namespace Nimbus.Http;

// Http/ event ids: 1000-1099. Next free id: 1001.
internal sealed partial class ServiceErrorMiddleware
{
    private static partial class Log
    {
        [LoggerMessage(EventId = 1000, EventName = "UnhandledError", Level = LogLevel.Error,
            Message = "Unhandled error while serving {Method} {Path}.")]
        public static partial void UnhandledError(ILogger logger, string method, string path, Exception exception);
    }
}
