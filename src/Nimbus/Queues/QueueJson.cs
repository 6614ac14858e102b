using System.Text.Json;

namespace Nimbus.Queues;

/// <summary>How queue attributes, tags and message attributes are stored in queues.db: JSON objects, pinned by a golden test.</summary>
internal static class QueueJson
{
    public static string WriteStrings(IReadOnlyDictionary<string, string> values)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            foreach (var (key, value) in values.OrderBy(p => p.Key, StringComparer.Ordinal))
            {
                writer.WriteString(key, value);
            }

            writer.WriteEndObject();
        }

        return System.Text.Encoding.UTF8.GetString(buffer.ToArray());
    }

    public static Dictionary<string, string> ReadStrings(string json)
    {
        using var document = JsonDocument.Parse(json);
        return document.RootElement.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString() ?? "", StringComparer.Ordinal);
    }

    public static string? WriteMessageAttributes(IReadOnlyDictionary<string, MessageAttributeValue> attributes)
    {
        if (attributes.Count == 0)
        {
            return null;
        }

        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            foreach (var (name, value) in attributes.OrderBy(p => p.Key, StringComparer.Ordinal))
            {
                writer.WriteStartObject(name);
                writer.WriteString("DataType", value.DataType);
                if (value.BinaryValue is { } binary)
                {
                    writer.WriteBase64String("BinaryValue", binary);
                }
                else
                {
                    writer.WriteString("StringValue", value.StringValue);
                }

                writer.WriteEndObject();
            }

            writer.WriteEndObject();
        }

        return System.Text.Encoding.UTF8.GetString(buffer.ToArray());
    }

    public static IReadOnlyDictionary<string, MessageAttributeValue> ReadMessageAttributes(string? json)
    {
        if (json is null)
        {
            return Empty;
        }

        using var document = JsonDocument.Parse(json);
        return document.RootElement.EnumerateObject().ToDictionary(
            p => p.Name,
            p => new MessageAttributeValue(
                p.Value.GetProperty("DataType").GetString() ?? "String",
                p.Value.TryGetProperty("StringValue", out var s) ? s.GetString() : null,
                p.Value.TryGetProperty("BinaryValue", out var b) ? b.GetBytesFromBase64() : null),
            StringComparer.Ordinal);
    }

    public static readonly IReadOnlyDictionary<string, MessageAttributeValue> Empty = new Dictionary<string, MessageAttributeValue>();
}
