using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Nimbus.Events;

/// <summary>
/// The event Lambda sends a function for a batch of SQS messages (<c>{"Records":[...]}</c>), and the reading of
/// its partial batch response (<c>{"batchItemFailures":[{"itemIdentifier":"..."}]}</c>).
/// </summary>
internal static class SqsEvent
{
    public const string EventSource = "aws:sqs";
    public const string BatchItemFailures = "batchItemFailures";
    public const string ItemIdentifier = "itemIdentifier";
    public const string TraceHeaderAttribute = "AWSTraceHeader";

    /// <summary>System attributes in the order Lambda lists them; any others the queue returned follow.</summary>
    private static readonly string[] AttributeOrder =
    [
        "ApproximateReceiveCount", "AWSTraceHeader", "SentTimestamp", "SequenceNumber", "MessageGroupId", "SenderId",
        "MessageDeduplicationId", "ApproximateFirstReceiveTimestamp",
    ];

    /// <summary>One record, as a JSON object (filters match against it).</summary>
    public static JsonObject Record(EventSourceMessage message, string queueArn, string region)
    {
        var attributes = new JsonObject();
        foreach (var name in AttributeOrder)
        {
            if (message.Attributes.TryGetValue(name, out var value))
            {
                attributes[name] = value;
            }
        }

        foreach (var (name, value) in message.Attributes.OrderBy(a => a.Key, StringComparer.Ordinal))
        {
            if (!attributes.ContainsKey(name))
            {
                attributes[name] = value;
            }
        }

        var messageAttributes = new JsonObject();
        foreach (var (name, value) in message.MessageAttributes.OrderBy(a => a.Key, StringComparer.Ordinal))
        {
            var attribute = new JsonObject();
            if (value.BinaryValue is { } binary)
            {
                attribute["binaryValue"] = Convert.ToBase64String(binary);
            }
            else
            {
                attribute["stringValue"] = value.StringValue;
            }

            attribute["stringListValues"] = new JsonArray();
            attribute["binaryListValues"] = new JsonArray();
            attribute["dataType"] = value.DataType;
            messageAttributes[name] = attribute;
        }

        var record = new JsonObject
        {
            ["messageId"] = message.MessageId,
            ["receiptHandle"] = message.ReceiptHandle,
            ["body"] = message.Body,
            ["attributes"] = attributes,
            ["messageAttributes"] = messageAttributes,
            ["md5OfBody"] = message.Md5OfBody,
        };
        if (message.Md5OfMessageAttributes is { } md5)
        {
            record["md5OfMessageAttributes"] = md5;
        }

        record["eventSource"] = EventSource;
        record["eventSourceARN"] = queueArn;
        record["awsRegion"] = region;
        return record;
    }

    /// <summary>The X-Ray header a batch's invocation continues: the first message's <c>AWSTraceHeader</c>, if any has one.</summary>
    public static string? TraceHeader(IEnumerable<EventSourceMessage> messages)
    {
        foreach (var message in messages)
        {
            if (message.Attributes.TryGetValue(TraceHeaderAttribute, out var header) && header.Length > 0)
            {
                return header;
            }
        }

        return null;
    }

    /// <summary>The invocation payload for a batch of records.</summary>
    public static byte[] Build(IEnumerable<JsonObject> records)
    {
        var array = new JsonArray();
        foreach (var record in records)
        {
            array.Add(record.DeepClone());
        }

        return Encoding.UTF8.GetBytes(new JsonObject { ["Records"] = array }.ToJsonString());
    }

    /// <summary>
    /// What a filter sees of a record: the record with <c>body</c> parsed when it is a JSON object (Lambda's rule: a
    /// body that is not JSON is matched as a plain string).
    /// </summary>
    public static JsonObject FilterView(JsonObject record)
    {
        var view = (JsonObject)record.DeepClone();
        var body = record["body"]?.GetValue<string>();
        if (body is { Length: > 0 } && body.TrimStart().StartsWith('{'))
        {
            try
            {
                view["body"] = JsonNode.Parse(body);
            }
            catch (JsonException)
            {
                // Not JSON after all: matched as a string.
            }
        }

        return view;
    }

    /// <summary>
    /// The message ids a successful invocation reported as failed. Null or empty response, no or an empty list: none.
    /// Unparsable JSON, or an item with a missing, empty or unknown id: the whole batch failed (null).
    /// </summary>
    public static IReadOnlySet<string>? FailedItems(ReadOnlySpan<byte> response, IReadOnlySet<string> batchIds)
    {
        var none = new HashSet<string>(StringComparer.Ordinal);
        if (response.IsEmpty)
        {
            return none;
        }

        JsonNode? node;
        try
        {
            node = JsonNode.Parse(response);
        }
        catch (JsonException)
        {
            return null;
        }

        if (node is not JsonObject obj || !obj.TryGetPropertyValue(BatchItemFailures, out var failures) || failures is null)
        {
            return none;
        }

        if (failures is not JsonArray items)
        {
            return null;
        }

        var failed = new HashSet<string>(StringComparer.Ordinal);
        foreach (var item in items)
        {
            if (item is not JsonObject entry
                || entry[ItemIdentifier] is not JsonValue id
                || id.GetValueKind() != JsonValueKind.String
                || id.GetValue<string>() is not { Length: > 0 } value
                || !batchIds.Contains(value))
            {
                return null;
            }

            failed.Add(value);
        }

        return failed;
    }
}
