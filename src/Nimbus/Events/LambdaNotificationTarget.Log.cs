using Microsoft.Extensions.Logging;

namespace Nimbus.Events;

// Events/ bucket notification event ids: 7020-7039 (7024-7029 here). Next free id: 7025.
internal sealed partial class LambdaNotificationTarget
{
    private static partial class Log
    {
        [LoggerMessage(EventId = 7024, EventName = "NotificationNotPermitted", Level = LogLevel.Warning,
            Message = "Dropped a notification of {Bucket} for {Function}: the function's resource policy no longer allows s3.amazonaws.com to call lambda:InvokeFunction for this bucket. Run aws lambda add-permission again to resume deliveries.")]
        public static partial void NotPermitted(ILogger logger, string function, string bucket);
    }
}
