namespace Nimbus.Functions;

/// <summary>
/// <c>DeadLetterConfig</c>: an SQS queue of this region and account that exists when it is set, to which the execution
/// role may send (its policy allows <c>sqs:SendMessage</c> on the queue), as AWS checks it.
/// </summary>
internal sealed partial class FunctionService
{
    private async Task<LambdaError?> ValidateDeadLetterAsync(DeadLetterConfigShape? config, string? roleArn, CancellationToken cancellationToken)
    {
        if (config?.TargetArn is not { Length: > 0 } arn)
        {
            return null;
        }

        var parts = arn.Split(':');
        if (parts is not ["arn", _, var service, _, _, { Length: > 0 }])
        {
            return LambdaError.ValidationFailed(arn, "deadLetterConfig.targetArn", "Member must satisfy regular expression pattern: (arn:(aws[a-zA-Z-]*)?:[a-z0-9-.]+:.*)|()");
        }

        if (service == "sns")
        {
            return LambdaError.InvalidParameter($"Nimbus delivers dead letters to SQS queues only; {arn} is an SNS topic. Use a queue ARN (arn:aws:sqs:<region>:<account>:<queue>).");
        }

        if (service != "sqs")
        {
            return LambdaError.InvalidParameter($"The dead-letter target {arn} must be an SQS queue ARN (arn:aws:sqs:<region>:<account>:<queue>).");
        }

        if (await queues.FindAsync(arn, cancellationToken).ConfigureAwait(false) is null)
        {
            return LambdaError.InvalidParameter($"The provided DeadLetterConfig target {arn} does not exist. Create the queue first (aws sqs create-queue).");
        }

        if (roleArn is not null && Queues.QueueSendPermission.Refusal(authorization, queues.PolicyOf(arn), roleArn, arn, _options, time.GetUtcNow()) is { } refusal)
        {
            Log.ExecutionRoleMayNotSend(logger, roleArn, arn, refusal);
            return LambdaError.InvalidParameter(ExecutionRoleMayNotSendMessage);
        }

        return null;
    }

    /// <summary>AWS's text when the execution role may not send to the dead-letter queue.</summary>
    public const string ExecutionRoleMayNotSendMessage = "The provided execution role does not have permissions to call SendMessage on SQS";

    /// <summary>The stored target after a request: unchanged when the request names none, removed by an empty <c>TargetArn</c>.</summary>
    private static string? DeadLetterTarget(DeadLetterConfigShape? config, string? before) =>
        config is null ? before : config.TargetArn is { Length: > 0 } arn ? arn : null;
}
