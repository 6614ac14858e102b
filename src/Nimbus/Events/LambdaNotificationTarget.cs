using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Nimbus.Functions;
using Nimbus.Invocation;
using Nimbus.Security;

namespace Nimbus.Events;

/// <summary>
/// Hands a bucket notification to a function as an asynchronous (Event) invocation: stored durably by
/// <see cref="AsyncInvocationQueue"/>, so it gets Lambda's retries, event age limits and destinations. As on AWS,
/// S3 may invoke the function only while its resource policy allows <c>s3.amazonaws.com</c> to call
/// <c>lambda:InvokeFunction</c> for the bucket: a notification whose permission was removed after the
/// configuration was put is dropped with a log line (event 7024), never invoked.
/// </summary>
internal sealed partial class LambdaNotificationTarget(
    AsyncInvocationQueue queue,
    FunctionService functions,
    FunctionPolicyService functionPolicies,
    IOptions<NimbusOptions> options,
    ILogger<LambdaNotificationTarget> logger) : INotificationTarget
{
    public const string InvokeAction = "lambda:InvokeFunction";
    public const string S3Principal = "s3.amazonaws.com";

    public NotificationTargetKind Kind => NotificationTargetKind.Lambda;

    public async Task<NotificationDelivery> DeliverAsync(string targetArn, byte[] payload, string? traceHeader, CancellationToken cancellationToken)
    {
        var reference = FunctionReference.Parse(targetArn, null, options.Value.Region, options.Value.AccountId);
        if (reference.IsError)
        {
            return NotificationDelivery.Dropped;
        }

        var function = await functions.GetAsync(reference.Value, cancellationToken).ConfigureAwait(false);
        if (function.IsError)
        {
            return NotificationDelivery.Dropped;
        }

        var bucketArn = BucketArnOf(payload);
        if (!await functionPolicies.AllowsAsync(reference.Value.Name, reference.Value.Qualifier ?? "", InvokeAction, S3Principal, bucketArn, null, cancellationToken).ConfigureAwait(false))
        {
            Log.NotPermitted(logger, targetArn, bucketArn ?? "(unknown bucket)");
            return NotificationDelivery.Dropped;
        }

        var request = new InvocationRequest(Guid.NewGuid().ToString(), reference.Value, payload, null, TailLog: false, traceHeader);
        return await queue.TryEnqueueAsync(request).ConfigureAwait(false) ? NotificationDelivery.Delivered : NotificationDelivery.RetryLater;
    }

    /// <summary>The source bucket's ARN in an S3 event (<c>Records[0].s3.bucket.arn</c>), or null when the payload has none.</summary>
    internal static string? BucketArnOf(byte[] payload)
    {
        try
        {
            using var document = JsonDocument.Parse(payload);
            return document.RootElement.TryGetProperty("Records", out var records) && records.ValueKind == JsonValueKind.Array && records.GetArrayLength() > 0
                && records[0].TryGetProperty("s3", out var s3) && s3.TryGetProperty("bucket", out var bucket)
                && bucket.TryGetProperty("arn", out var arn) && arn.ValueKind == JsonValueKind.String
                ? arn.GetString()
                : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
