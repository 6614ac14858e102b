using System.Collections.Frozen;

namespace Nimbus.Queues;

/// <summary>
/// The SQS wire contract (API 2012-11-05) in one place: protocol markers, operation names, error codes in both
/// protocols, attribute names and the limits AWS documents.
/// </summary>
internal static class SqsWire
{
    public const string TargetPrefix = "AmazonSQS.";
    public const string JsonContentType = "application/x-amz-json-1.0";
    public const string XmlContentType = "text/xml";
    public const string FormContentType = "application/x-www-form-urlencoded";
    public const string ApiVersion = "2012-11-05";
    public const string XmlNamespace = "http://queue.amazonaws.com/doc/2012-11-05/";
    public const string QueryErrorHeader = "x-amzn-query-error";
    public const string JsonErrorTypePrefix = "com.amazonaws.sqs#";

    public static class Ops
    {
        public const string CreateQueue = "CreateQueue";
        public const string GetQueueUrl = "GetQueueUrl";
        public const string ListQueues = "ListQueues";
        public const string DeleteQueue = "DeleteQueue";
        public const string SendMessage = "SendMessage";
        public const string SendMessageBatch = "SendMessageBatch";
        public const string ReceiveMessage = "ReceiveMessage";
        public const string DeleteMessage = "DeleteMessage";
        public const string DeleteMessageBatch = "DeleteMessageBatch";
        public const string ChangeMessageVisibility = "ChangeMessageVisibility";
        public const string ChangeMessageVisibilityBatch = "ChangeMessageVisibilityBatch";
        public const string GetQueueAttributes = "GetQueueAttributes";
        public const string SetQueueAttributes = "SetQueueAttributes";
        public const string PurgeQueue = "PurgeQueue";
        public const string TagQueue = "TagQueue";
        public const string UntagQueue = "UntagQueue";
        public const string ListQueueTags = "ListQueueTags";
        public const string ListDeadLetterSourceQueues = "ListDeadLetterSourceQueues";
        public const string AddPermission = "AddPermission";
        public const string RemovePermission = "RemovePermission";
        public const string StartMessageMoveTask = "StartMessageMoveTask";
        public const string CancelMessageMoveTask = "CancelMessageMoveTask";
        public const string ListMessageMoveTasks = "ListMessageMoveTasks";
    }

    /// <summary>Every SQS action name: the query protocol's <c>Action=</c> values that belong to this service.</summary>
    public static readonly FrozenSet<string> Actions = new[]
    {
        Ops.CreateQueue, Ops.GetQueueUrl, Ops.ListQueues, Ops.DeleteQueue, Ops.SendMessage, Ops.SendMessageBatch,
        Ops.ReceiveMessage, Ops.DeleteMessage, Ops.DeleteMessageBatch, Ops.ChangeMessageVisibility,
        Ops.ChangeMessageVisibilityBatch, Ops.GetQueueAttributes, Ops.SetQueueAttributes, Ops.PurgeQueue, Ops.TagQueue,
        Ops.UntagQueue, Ops.ListQueueTags, Ops.ListDeadLetterSourceQueues, Ops.AddPermission, Ops.RemovePermission,
        Ops.StartMessageMoveTask, Ops.CancelMessageMoveTask, Ops.ListMessageMoveTasks,
    }.ToFrozenSet(StringComparer.Ordinal);

    /// <summary>Error codes: the JSON protocol's <c>__type</c> shape name and the query protocol's code.</summary>
    public static class Errors
    {
        public static readonly SqsErrorCode QueueDoesNotExist = new("QueueDoesNotExist", "AWS.SimpleQueueService.NonExistentQueue");
        public static readonly SqsErrorCode QueueNameExists = new("QueueNameExists", "QueueAlreadyExists");
        public static readonly SqsErrorCode QueueDeletedRecently = new("QueueDeletedRecently", "AWS.SimpleQueueService.QueueDeletedRecently");
        public static readonly SqsErrorCode ReceiptHandleIsInvalid = new("ReceiptHandleIsInvalid", "ReceiptHandleIsInvalid");
        public static readonly SqsErrorCode MessageNotInflight = new("MessageNotInflight", "AWS.SimpleQueueService.MessageNotInflight");
        public static readonly SqsErrorCode TooManyEntriesInBatchRequest = new("TooManyEntriesInBatchRequest", "AWS.SimpleQueueService.TooManyEntriesInBatchRequest");
        public static readonly SqsErrorCode EmptyBatchRequest = new("EmptyBatchRequest", "AWS.SimpleQueueService.EmptyBatchRequest");
        public static readonly SqsErrorCode BatchEntryIdsNotDistinct = new("BatchEntryIdsNotDistinct", "AWS.SimpleQueueService.BatchEntryIdsNotDistinct");
        public static readonly SqsErrorCode InvalidBatchEntryId = new("InvalidBatchEntryId", "AWS.SimpleQueueService.InvalidBatchEntryId");
        public static readonly SqsErrorCode BatchRequestTooLong = new("BatchRequestTooLong", "AWS.SimpleQueueService.BatchRequestTooLong");
        public static readonly SqsErrorCode PurgeQueueInProgress = new("PurgeQueueInProgress", "AWS.SimpleQueueService.PurgeQueueInProgress");
        public static readonly SqsErrorCode UnsupportedOperation = new("UnsupportedOperation", "AWS.SimpleQueueService.UnsupportedOperation");
        public static readonly SqsErrorCode InvalidAttributeName = new("InvalidAttributeName", "InvalidAttributeName");
        public static readonly SqsErrorCode InvalidAttributeValue = new("InvalidAttributeValue", "InvalidAttributeValue");
        public static readonly SqsErrorCode InvalidMessageContents = new("InvalidMessageContents", "InvalidMessageContents");
        public static readonly SqsErrorCode InvalidParameterValue = new("InvalidParameterValue", "InvalidParameterValue");
        public static readonly SqsErrorCode MissingParameter = new("MissingParameter", "MissingParameter");
        public static readonly SqsErrorCode InvalidAddress = new("InvalidAddress", "InvalidAddress");
        public static readonly SqsErrorCode InvalidAction = new("InvalidAction", "InvalidAction");
        public static readonly SqsErrorCode InternalFailure = new("InternalFailure", "InternalFailure");
    }

    /// <summary>Queue attributes a client may set, and the read-only ones <c>GetQueueAttributes</c> adds.</summary>
    public static class Attributes
    {
        public const string All = "All";
        public const string DelaySeconds = "DelaySeconds";
        public const string MaximumMessageSize = "MaximumMessageSize";
        public const string MessageRetentionPeriod = "MessageRetentionPeriod";
        public const string Policy = "Policy";
        public const string ReceiveMessageWaitTimeSeconds = "ReceiveMessageWaitTimeSeconds";
        public const string VisibilityTimeout = "VisibilityTimeout";
        public const string RedrivePolicy = "RedrivePolicy";
        public const string RedriveAllowPolicy = "RedriveAllowPolicy";
        public const string FifoQueue = "FifoQueue";
        public const string ContentBasedDeduplication = "ContentBasedDeduplication";
        public const string DeduplicationScope = "DeduplicationScope";
        public const string FifoThroughputLimit = "FifoThroughputLimit";
        public const string KmsMasterKeyId = "KmsMasterKeyId";
        public const string KmsDataKeyReusePeriodSeconds = "KmsDataKeyReusePeriodSeconds";
        public const string SqsManagedSseEnabled = "SqsManagedSseEnabled";
        public const string QueueArn = "QueueArn";
        public const string ApproximateNumberOfMessages = "ApproximateNumberOfMessages";
        public const string ApproximateNumberOfMessagesNotVisible = "ApproximateNumberOfMessagesNotVisible";
        public const string ApproximateNumberOfMessagesDelayed = "ApproximateNumberOfMessagesDelayed";
        public const string CreatedTimestamp = "CreatedTimestamp";
        public const string LastModifiedTimestamp = "LastModifiedTimestamp";

        public static readonly FrozenSet<string> Settable = new[]
        {
            DelaySeconds, MaximumMessageSize, MessageRetentionPeriod, Policy, ReceiveMessageWaitTimeSeconds, VisibilityTimeout,
            RedrivePolicy, RedriveAllowPolicy, FifoQueue, ContentBasedDeduplication, DeduplicationScope, FifoThroughputLimit,
            KmsMasterKeyId, KmsDataKeyReusePeriodSeconds, SqsManagedSseEnabled,
        }.ToFrozenSet(StringComparer.Ordinal);

        public static readonly FrozenSet<string> ReadOnly = new[]
        {
            QueueArn, ApproximateNumberOfMessages, ApproximateNumberOfMessagesNotVisible, ApproximateNumberOfMessagesDelayed,
            CreatedTimestamp, LastModifiedTimestamp,
        }.ToFrozenSet(StringComparer.Ordinal);
    }

    /// <summary>Message system attributes (<c>MessageSystemAttributeNames</c> / the deprecated <c>AttributeNames</c>).</summary>
    public static class MessageAttributes
    {
        public const string All = "All";
        public const string SenderId = "SenderId";
        public const string SentTimestamp = "SentTimestamp";
        public const string ApproximateReceiveCount = "ApproximateReceiveCount";
        public const string ApproximateFirstReceiveTimestamp = "ApproximateFirstReceiveTimestamp";
        public const string SequenceNumber = "SequenceNumber";
        public const string MessageDeduplicationId = "MessageDeduplicationId";
        public const string MessageGroupId = "MessageGroupId";
        public const string AwsTraceHeader = "AWSTraceHeader";
        public const string DeadLetterQueueSourceArn = "DeadLetterQueueSourceArn";
    }

    public static class Limits
    {
        public const int MaxQueueNameLength = 80;
        public const int MaxBatchEntries = 10;
        public const int MaxBatchEntryIdLength = 80;
        public const int MaxMessageSize = 1_048_576;
        public const int MinMessageSize = 1_024;
        public const int MaxDelaySeconds = 900;
        public const int MaxVisibilityTimeout = 43_200;
        public const int MaxWaitTimeSeconds = 20;
        public const int MaxReceiveMessages = 10;
        public const int MinRetentionSeconds = 60;
        public const int MaxRetentionSeconds = 1_209_600;
        public const int DefaultRetentionSeconds = 345_600;
        public const int DefaultVisibilityTimeout = 30;
        public const int MaxMessageAttributes = 10;
        public const int MaxAttributeNameLength = 256;
        public const int MaxDeduplicationIdLength = 128;
        public const int MaxListQueuesResults = 1_000;
        public const int MaxTagsPerQueue = 50;
        public const int MaxReceiveCountLimit = 1_000;
        public static readonly TimeSpan DeduplicationWindow = TimeSpan.FromMinutes(5);
        public static readonly TimeSpan PurgeInterval = TimeSpan.FromSeconds(60);
    }
}

/// <summary>One SQS error code as each protocol spells it.</summary>
internal sealed record SqsErrorCode(string JsonType, string QueryCode);
