using Microsoft.Extensions.Logging;

namespace Nimbus.Logs;

// Logs API event ids: 9040-9059. Next free id: 9041.
internal sealed partial class LogsApi
{
    private static partial class Log
    {
        [LoggerMessage(EventId = 9040, EventName = "LogsRequestFailed", Level = LogLevel.Error,
            Message = "A CloudWatch Logs request ({Operation}) failed unexpectedly and was answered ServiceUnavailableException. Report this with the exception below.")]
        public static partial void LogsRequestFailed(ILogger logger, string operation, Exception exception);
    }
}
