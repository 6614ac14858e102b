using System.Collections.Frozen;
using Ops = Nimbus.Queues.SqsWire.Ops;

namespace Nimbus.Queues;

/// <summary>
/// The IAM action of every SQS operation, as AWS's service authorization reference names it: a batch operation
/// needs its single form (SendMessageBatch is <c>sqs:SendMessage</c>). Queue operations act on the queue's ARN
/// (<c>arn:aws:sqs:&lt;region&gt;:&lt;account&gt;:&lt;queue&gt;</c>); ListQueues on the account's queues
/// (<c>arn:aws:sqs:&lt;region&gt;:&lt;account&gt;:*</c>).
/// </summary>
internal static class SqsActions
{
    private static readonly FrozenDictionary<string, string> Table = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        [Ops.CreateQueue] = "sqs:CreateQueue",
        [Ops.GetQueueUrl] = "sqs:GetQueueUrl",
        [Ops.ListQueues] = "sqs:ListQueues",
        [Ops.DeleteQueue] = "sqs:DeleteQueue",
        [Ops.SendMessage] = "sqs:SendMessage",
        [Ops.SendMessageBatch] = "sqs:SendMessage",
        [Ops.ReceiveMessage] = "sqs:ReceiveMessage",
        [Ops.DeleteMessage] = "sqs:DeleteMessage",
        [Ops.DeleteMessageBatch] = "sqs:DeleteMessage",
        [Ops.ChangeMessageVisibility] = "sqs:ChangeMessageVisibility",
        [Ops.ChangeMessageVisibilityBatch] = "sqs:ChangeMessageVisibility",
        [Ops.GetQueueAttributes] = "sqs:GetQueueAttributes",
        [Ops.SetQueueAttributes] = "sqs:SetQueueAttributes",
        [Ops.PurgeQueue] = "sqs:PurgeQueue",
        [Ops.TagQueue] = "sqs:TagQueue",
        [Ops.UntagQueue] = "sqs:UntagQueue",
        [Ops.ListQueueTags] = "sqs:ListQueueTags",
        [Ops.ListDeadLetterSourceQueues] = "sqs:ListDeadLetterSourceQueues",
        [Ops.AddPermission] = "sqs:AddPermission",
        [Ops.RemovePermission] = "sqs:RemovePermission",
        [Ops.StartMessageMoveTask] = "sqs:StartMessageMoveTask",
        [Ops.CancelMessageMoveTask] = "sqs:CancelMessageMoveTask",
        [Ops.ListMessageMoveTasks] = "sqs:ListMessageMoveTasks",
    }.ToFrozenDictionary(StringComparer.Ordinal);

    /// <summary>The action of <paramref name="operation"/>; an operation SQS does not have is named as sent (it is refused later anyway).</summary>
    public static string ActionOf(string operation) => Table.TryGetValue(operation, out var action) ? action : "sqs:" + operation;

    /// <summary>
    /// The resource a call acts on: the queue named by QueueUrl (or QueueName for CreateQueue and GetQueueUrl, or
    /// SourceArn for message move tasks), else the account's queues.
    /// </summary>
    public static string ResourceOf(string operation, string? queueUrl, string? queueName, string? sourceArn, QueueService queues)
    {
        var name = operation switch
        {
            Ops.ListQueues => null,
            Ops.CreateQueue or Ops.GetQueueUrl => queueName,
            Ops.StartMessageMoveTask or Ops.ListMessageMoveTasks => sourceArn is null ? null : queues.ResolveName(sourceArn),
            _ => queueUrl is null ? null : queues.ResolveName(queueUrl),
        };
        return queues.ArnOf(string.IsNullOrEmpty(name) ? "*" : name);
    }
}
