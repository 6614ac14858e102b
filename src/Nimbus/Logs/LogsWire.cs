using System.Text.RegularExpressions;

namespace Nimbus.Logs;

/// <summary>The CloudWatch Logs wire contract (awsJson1_1, API 2014-03-28): target, errors, limits.</summary>
internal static partial class LogsWire
{
    public const string TargetHeader = "X-Amz-Target";
    public const string TargetPrefix = "Logs_20140328.";
    public const string ContentType = "application/x-amz-json-1.1";

    // Error types (the "__type" of an error body).
    public const string InvalidParameter = "InvalidParameterException";
    public const string ResourceNotFound = "ResourceNotFoundException";
    public const string ResourceAlreadyExists = "ResourceAlreadyExistsException";
    public const string UnknownOperation = "UnknownOperationException";
    public const string Serialization = "SerializationException";
    public const string ServiceUnavailable = "ServiceUnavailableException";

    public const string GroupNotFoundMessage = "The specified log group does not exist.";
    public const string StreamNotFoundMessage = "The specified log stream does not exist.";
    public const string GroupExistsMessage = "The specified log group already exists";
    public const string StreamExistsMessage = "The specified log stream already exists";

    // Limits from the API reference.
    public const int MaxGroupNameLength = 512;
    public const int MaxStreamNameLength = 512;
    public const int MaxDescribeLimit = 50;
    public const int MaxGetEventsLimit = 10_000;
    public const int MaxFilterEventsLimit = 10_000;
    public const int MaxResponseBytes = 1_048_576;
    public const int MaxPutEvents = 10_000;
    public const int MaxPutBatchBytes = 1_048_576;
    public const int MaxEventBytes = 1_048_576 - 26;
    public const int MaxLogStreamNames = 100;
    public const int MaxFilterPatternLength = 1024;
    public const long MaxRequestBytes = 8 * 1024 * 1024;

    /// <summary>PutLogEvents refuses a batch spanning more than this.</summary>
    public static readonly TimeSpan MaxBatchSpan = TimeSpan.FromHours(24);

    /// <summary>Events further in the future than this are rejected (tooNewLogEventStartIndex).</summary>
    public static readonly TimeSpan MaxFuture = TimeSpan.FromHours(2);

    /// <summary>Events older than this are rejected (tooOldLogEventEndIndex).</summary>
    public static readonly TimeSpan MaxPast = TimeSpan.FromDays(14);

    /// <summary>The retention periods PutRetentionPolicy accepts, in days.</summary>
    public static readonly IReadOnlyList<int> RetentionDays =
        [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653];

    [GeneratedRegex(@"^[\.\-_/#A-Za-z0-9]+$")]
    public static partial Regex GroupNamePattern();

    public static string GroupArn(string region, string account, string group) => $"arn:aws:logs:{region}:{account}:log-group:{group}";

    public static string StreamArn(string region, string account, string group, string stream) =>
        $"arn:aws:logs:{region}:{account}:log-group:{group}:log-stream:{stream}";
}
