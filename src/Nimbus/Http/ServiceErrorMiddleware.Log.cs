using Microsoft.Extensions.Logging;

namespace Nimbus.Http;

// Http/ event ids: 1000-1099. Next free id: 1001. 8221 (the fixes2 range 8220-8239, 8220 in BucketsApi.Log.cs); next free 8222.
internal sealed partial class ServiceErrorMiddleware
{
    private static partial class Log
    {
        [LoggerMessage(EventId = 1000, EventName = "UnhandledError", Level = LogLevel.Error,
            Message = "Unhandled error while serving {Method} {Path}.")]
        public static partial void UnhandledError(ILogger logger, string method, string path, Exception exception);

        [LoggerMessage(EventId = 8221, EventName = "ResponseAborted", Level = LogLevel.Error,
            Message = "Unhandled error while serving {Method} {Path} after its {Status} answer had started; the connection was aborted instead of writing an error into the answer. Please report this with the stack trace.")]
        public static partial void ResponseAborted(ILogger logger, string method, string path, int status, Exception exception);
    }
}
