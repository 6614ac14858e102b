using System.Globalization;
using System.Text.Json;
using A = Nimbus.Queues.SqsWire.Attributes;
using L = Nimbus.Queues.SqsWire.Limits;

namespace Nimbus.Queues;

/// <summary>Queue names, attribute values and their defaults, checked as SQS checks them.</summary>
internal static class QueueAttributeRules
{
    public const string FifoSuffix = ".fifo";

    public static QueueError? ValidateName(string? name)
    {
        if (string.IsNullOrEmpty(name))
        {
            return QueueError.Missing("QueueName");
        }

        var baseName = name.EndsWith(FifoSuffix, StringComparison.Ordinal) ? name[..^FifoSuffix.Length] : name;
        return name.Length > L.MaxQueueNameLength || baseName.Length == 0 || !baseName.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_')
            ? QueueError.InvalidParameter(
                $"Invalid queue name '{name}': can only include alphanumeric characters, hyphens, or underscores, 1 to 80 in length; a FIFO queue's name ends in .fifo.")
            : null;
    }

    /// <summary>The attributes of a new queue: its own given ones, checked, over the defaults of its type.</summary>
    public static QueueResult<Dictionary<string, string>> ForNewQueue(string name, IReadOnlyDictionary<string, string> given, Func<string, QueueSettings?> findByArn)
    {
        var isFifoName = name.EndsWith(FifoSuffix, StringComparison.Ordinal);
        var fifo = given.TryGetValue(A.FifoQueue, out var fifoValue) && string.Equals(fifoValue, "true", StringComparison.OrdinalIgnoreCase);
        if (given.ContainsKey(A.FifoQueue) && !bool.TryParse(fifoValue, out _))
        {
            return InvalidValue(A.FifoQueue, fifoValue!, "The value must be true or false.");
        }

        if (fifo != isFifoName)
        {
            return fifo
                ? QueueError.InvalidParameter($"The name of a FIFO queue must end with the .fifo suffix; '{name}' does not.")
                : QueueError.InvalidParameter($"The queue name '{name}' ends with .fifo; create it with the attribute FifoQueue=true, or choose another name.");
        }

        var attributes = Defaults(fifo);
        var error = Apply(attributes, given, fifo, creating: true, findByArn);
        return error is null ? attributes : error;
    }

    /// <summary>Checks and applies <paramref name="given"/> onto <paramref name="attributes"/>; on an error nothing is applied.</summary>
    public static QueueError? Apply(Dictionary<string, string> attributes, IReadOnlyDictionary<string, string> given, bool fifo, bool creating, Func<string, QueueSettings?> findByArn)
    {
        foreach (var (key, value) in given)
        {
            var error = Check(key, value, fifo, creating, findByArn);
            if (error is not null)
            {
                return error;
            }
        }

        foreach (var (key, value) in given)
        {
            if (key == A.RedrivePolicy && value.Length == 0)
            {
                attributes.Remove(key);
            }
            else
            {
                attributes[key] = key is A.FifoQueue or A.ContentBasedDeduplication or A.SqsManagedSseEnabled ? value.ToLowerInvariant() : value;
            }
        }

        return null;
    }

    public static Dictionary<string, string> Defaults(bool fifo)
    {
        var attributes = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            [A.DelaySeconds] = "0",
            [A.MaximumMessageSize] = L.MaxMessageSize.ToString(CultureInfo.InvariantCulture),
            [A.MessageRetentionPeriod] = L.DefaultRetentionSeconds.ToString(CultureInfo.InvariantCulture),
            [A.ReceiveMessageWaitTimeSeconds] = "0",
            [A.VisibilityTimeout] = L.DefaultVisibilityTimeout.ToString(CultureInfo.InvariantCulture),
            [A.SqsManagedSseEnabled] = "true",
        };
        if (fifo)
        {
            attributes[A.FifoQueue] = "true";
            attributes[A.ContentBasedDeduplication] = "false";
            attributes[A.DeduplicationScope] = "queue";
            attributes[A.FifoThroughputLimit] = "perQueue";
        }

        return attributes;
    }

    public static QueueSettings Settings(string name, string arn, IReadOnlyDictionary<string, string> attributes) => new(
        name,
        arn,
        attributes.TryGetValue(A.FifoQueue, out var fifo) && fifo == "true",
        Int(attributes, A.VisibilityTimeout, L.DefaultVisibilityTimeout),
        Int(attributes, A.DelaySeconds, 0),
        Int(attributes, A.ReceiveMessageWaitTimeSeconds, 0),
        Int(attributes, A.MaximumMessageSize, L.MaxMessageSize),
        Int(attributes, A.MessageRetentionPeriod, L.DefaultRetentionSeconds),
        attributes.TryGetValue(A.ContentBasedDeduplication, out var cbd) && cbd == "true",
        attributes.TryGetValue(A.RedrivePolicy, out var redrive) ? ParseRedrive(redrive) : null);

    public static RedrivePolicy? ParseRedrive(string json)
    {
        try
        {
            using var document = JsonDocument.Parse(json);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object
                || !root.TryGetProperty("deadLetterTargetArn", out var arn) || arn.ValueKind != JsonValueKind.String
                || !root.TryGetProperty("maxReceiveCount", out var max))
            {
                return null;
            }

            int? count = max.ValueKind switch
            {
                JsonValueKind.Number when max.TryGetInt32(out var n) => n,
                JsonValueKind.String when int.TryParse(max.GetString(), NumberStyles.None, CultureInfo.InvariantCulture, out var n) => n,
                _ => null,
            };
            return count is { } c ? new RedrivePolicy(arn.GetString()!, c) : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static QueueError? Check(string key, string value, bool fifo, bool creating, Func<string, QueueSettings?> findByArn)
    {
        switch (key)
        {
            case A.DelaySeconds:
                return Range(key, value, 0, L.MaxDelaySeconds);
            case A.MaximumMessageSize:
                return Range(key, value, L.MinMessageSize, L.MaxMessageSize);
            case A.MessageRetentionPeriod:
                return Range(key, value, L.MinRetentionSeconds, L.MaxRetentionSeconds);
            case A.ReceiveMessageWaitTimeSeconds:
                return Range(key, value, 0, L.MaxWaitTimeSeconds);
            case A.VisibilityTimeout:
                return Range(key, value, 0, L.MaxVisibilityTimeout);
            case A.KmsDataKeyReusePeriodSeconds:
                return Range(key, value, 60, 86_400);
            case A.FifoQueue:
                return !bool.TryParse(value, out var isFifo) ? InvalidValue(key, value, "The value must be true or false.")
                    : !creating && isFifo != fifo ? InvalidValue(key, value, "Modifying queue type is not supported.")
                    : null;
            case A.ContentBasedDeduplication:
                return !fifo ? new QueueError(SqsWire.Errors.InvalidAttributeName, $"Unknown Attribute {key}: it applies to FIFO queues only.")
                    : !bool.TryParse(value, out _) ? InvalidValue(key, value, "The value must be true or false.") : null;
            case A.DeduplicationScope:
                return !fifo ? new QueueError(SqsWire.Errors.InvalidAttributeName, $"Unknown Attribute {key}: it applies to FIFO queues only.")
                    : value is not ("queue" or "messageGroup") ? InvalidValue(key, value, "The value must be queue or messageGroup.") : null;
            case A.FifoThroughputLimit:
                return !fifo ? new QueueError(SqsWire.Errors.InvalidAttributeName, $"Unknown Attribute {key}: it applies to FIFO queues only.")
                    : value is not ("perQueue" or "perMessageGroupId") ? InvalidValue(key, value, "The value must be perQueue or perMessageGroupId.") : null;
            case A.SqsManagedSseEnabled:
                return !bool.TryParse(value, out _) ? InvalidValue(key, value, "The value must be true or false.") : null;
            case A.Policy:
                return value.Length == 0 || Security.PolicyDocument.TryParseNew(value, resourcePolicy: true, out _) is not null ? null
                    : InvalidValue(key, value, "The value must be a JSON policy document: " + PolicyError(value));
            case A.RedriveAllowPolicy:
                return value.Length == 0 || IsJsonObject(value) ? null : InvalidValue(key, value, "The value must be a JSON policy document.");
            case A.KmsMasterKeyId:
                return null;
            case A.RedrivePolicy:
                return value.Length == 0 ? null : CheckRedrive(value, fifo, findByArn);
            default:
                return new QueueError(SqsWire.Errors.InvalidAttributeName, $"Unknown Attribute {key}.");
        }
    }

    private static QueueError? CheckRedrive(string value, bool fifo, Func<string, QueueSettings?> findByArn)
    {
        var policy = ParseRedrive(value);
        if (policy is null)
        {
            return InvalidValue(A.RedrivePolicy, value, "Redrive policy is not a valid JSON map with deadLetterTargetArn and maxReceiveCount.");
        }

        if (policy.MaxReceiveCount is < 1 or > L.MaxReceiveCountLimit)
        {
            return InvalidValue(A.RedrivePolicy, value, $"Invalid value for maxReceiveCount: {policy.MaxReceiveCount}, valid values are from 1 to {L.MaxReceiveCountLimit} both inclusive.");
        }

        var target = findByArn(policy.DeadLetterTargetArn);
        return target is null
            ? InvalidValue(A.RedrivePolicy, value, "Dead letter target does not exist.")
            : target.IsFifo != fifo
                ? InvalidValue(A.RedrivePolicy, value, "Dead-letter queue must be same type of queue as the source.")
                : null;
    }

    private static QueueError? Range(string key, string value, int min, int max) =>
        int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n >= min && n <= max
            ? null
            : InvalidValue(key, value, $"Must be an integer from {min} to {max}.");

    private static QueueError InvalidValue(string key, string value, string reason) =>
        new(SqsWire.Errors.InvalidAttributeValue, $"Invalid value for the parameter {key}. Reason: {reason} (given: '{value}')");

    private static string? PolicyError(string value)
    {
        Security.PolicyDocument.TryParseNew(value, resourcePolicy: true, out var error);
        return error;
    }

    private static bool IsJsonObject(string value)
    {
        try
        {
            using var document = JsonDocument.Parse(value);
            return document.RootElement.ValueKind == JsonValueKind.Object;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private static int Int(IReadOnlyDictionary<string, string> attributes, string key, int fallback) =>
        attributes.TryGetValue(key, out var value) && int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : fallback;
}
