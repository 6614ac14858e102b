using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Nimbus.Queues;
using Nimbus.Security;

namespace Nimbus.Events;

/// <summary>
/// Hands a bucket notification to an SQS-compatible queue (a QueueConfiguration): the S3 event JSON becomes the
/// message body, committed to queues.db before the notification counts as delivered; the message carries the S3
/// request's trace (Root and Sampled of its <c>X-Amzn-Trace-Id</c>) as its <c>AWSTraceHeader</c> system attribute.
/// A queue with a resource policy takes it only while that policy allows <c>s3.amazonaws.com</c> to call <c>sqs:SendMessage</c> (with
/// <c>aws:SourceArn</c> = the bucket's ARN, <c>aws:SourceAccount</c> = the account) and does not deny it, as on AWS;
/// otherwise the notification is dropped with a log line (event 6110). A queue without a policy takes it (on AWS it
/// would need one: see docs/security.md).
/// </summary>
internal sealed partial class QueueNotificationTarget(
    IEventSourceQueues queues,
    IOptions<NimbusOptions> options,
    TimeProvider time,
    ILogger<QueueNotificationTarget> logger) : INotificationTarget
{
    public const string S3Principal = "s3.amazonaws.com";

    private static readonly Dictionary<string, EventSourceMessageAttribute> NoAttributes = [];

    public NotificationTargetKind Kind => NotificationTargetKind.Queue;

    public async Task<NotificationDelivery> DeliverAsync(string targetArn, byte[] payload, string? traceHeader, CancellationToken cancellationToken)
    {
        if (await queues.FindAsync(targetArn, cancellationToken).ConfigureAwait(false) is null)
        {
            return NotificationDelivery.Dropped;
        }

        var bucketArn = LambdaNotificationTarget.BucketArnOf(payload);
        if (!S3MaySend(queues.PolicyOf(targetArn), targetArn, bucketArn, options.Value))
        {
            Log.NotPermitted(logger, targetArn, bucketArn ?? "(unknown bucket)");
            return NotificationDelivery.Dropped;
        }

        // The S3 request's Root and Sampled, with a Parent of this delivery's own, as the message's AWSTraceHeader.
        var body = System.Text.Encoding.UTF8.GetString(payload);
        var trace = traceHeader is null ? null : Metrics.LambdaTraceHeader.ForFunction(traceHeader, time);
        return await queues.SendAsync(targetArn, body, NoAttributes, cancellationToken, trace).ConfigureAwait(false)
            ? NotificationDelivery.Delivered
            : NotificationDelivery.RetryLater;
    }

    /// <summary>
    /// Whether S3 may deliver the bucket's notifications to the queue: yes without a policy; with one, when it allows
    /// <c>s3.amazonaws.com</c> <c>sqs:SendMessage</c> for the bucket (<c>aws:SourceArn</c>, <c>aws:SourceAccount</c>) and
    /// does not deny it. PutBucketNotificationConfiguration asks this too, as S3 validates its destinations.
    /// </summary>
    public static bool S3MaySend(PolicyDocument? policy, string queueArn, string? bucketArn, NimbusOptions options)
    {
        if (policy is null)
        {
            return true;
        }

        var context = new AuthorizationContext
        {
            SourceArn = bucketArn,
            SourceAccount = options.AccountId,
            CurrentTime = DateTimeOffset.UtcNow,
            RequestedRegion = options.Region,
            AccountId = options.AccountId,
        };
        return QueuePolicy.EvaluateForService(policy, S3Principal, QueuePolicy.SendMessage, queueArn, context) == PolicyEffect.Allow;
    }
}
