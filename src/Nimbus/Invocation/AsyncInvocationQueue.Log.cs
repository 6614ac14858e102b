using Microsoft.Extensions.Logging;

namespace Nimbus.Invocation;

// Invocation/ event ids 3010-3019 (AsyncInvocationQueue). Next free id: 3011.
internal sealed partial class AsyncInvocationQueue
{
    private static partial class Log
    {
        [LoggerMessage(EventId = 3010, EventName = "EventRejected", Level = LogLevel.Warning,
            Message = "An asynchronous event for {FunctionName} was dropped: {ErrorType}.")]
        public static partial void EventRejected(ILogger logger, string functionName, string errorType);
    }
}
