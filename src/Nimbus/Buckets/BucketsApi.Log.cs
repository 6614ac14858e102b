using Microsoft.Extensions.Logging;

namespace Nimbus.Buckets;

// Buckets/ event ids: 8000-8099. Next free id: 8005.
// 5130-5139 (issue 10's bucket policies): 5130-5132 in use; next free 5133.
// 8220-8239 (responses that fail after they started): 8220 here, 8221 in Http/ServiceErrorMiddleware.Log.cs; next free 8222.
internal sealed partial class BucketsApi
{
    private static partial class Log
    {
        [LoggerMessage(EventId = 8000, EventName = "BucketCreated", Level = LogLevel.Information, Message = "Created bucket {Bucket}.")]
        public static partial void BucketCreated(ILogger logger, string bucket);

        [LoggerMessage(EventId = 8001, EventName = "BucketDeleted", Level = LogLevel.Information, Message = "Deleted bucket {Bucket}.")]
        public static partial void BucketDeleted(ILogger logger, string bucket);

        [LoggerMessage(EventId = 8002, EventName = "BucketNotificationConfigured", Level = LogLevel.Information,
            Message = "Bucket {Bucket} now has {Count} notification configurations.")]
        public static partial void NotificationConfigured(ILogger logger, string bucket, int count);

        [LoggerMessage(EventId = 8003, EventName = "S3RequestAborted", Level = LogLevel.Debug,
            Message = "{Method} {Path} ended early ({Reason}); nothing was stored.")]
        public static partial void RequestAborted(ILogger logger, string method, string path, string reason);

        [LoggerMessage(EventId = 8004, EventName = "S3UnhandledError", Level = LogLevel.Error,
            Message = "{Method} {Path} failed with an unexpected error; answered 500 InternalError. Please report this with the stack trace.")]
        public static partial void UnhandledError(ILogger logger, string method, string path, Exception exception);

        [LoggerMessage(EventId = 8220, EventName = "S3ResponseAborted", Level = LogLevel.Error,
            Message = "{Method} {Path} failed after its {Status} answer had started; the connection was aborted so that the client sees a failed transfer, not a wrong body. Please report this with the stack trace.")]
        public static partial void ResponseAborted(ILogger logger, string method, string path, int status, Exception? exception);

        [LoggerMessage(EventId = 5130, EventName = "BucketPolicySet", Level = LogLevel.Information, Message = "Set the policy of bucket {Bucket}.")]
        public static partial void BucketPolicySet(ILogger logger, string bucket);

        [LoggerMessage(EventId = 5131, EventName = "BucketPolicyDeleted", Level = LogLevel.Information, Message = "Deleted the policy of bucket {Bucket}.")]
        public static partial void BucketPolicyDeleted(ILogger logger, string bucket);

        [LoggerMessage(EventId = 5132, EventName = "BucketPolicyRefused", Level = LogLevel.Information,
            Message = "Refused a policy for bucket {Bucket}: {Problem}")]
        public static partial void BucketPolicyRefused(ILogger logger, string bucket, string problem);
    }
}
