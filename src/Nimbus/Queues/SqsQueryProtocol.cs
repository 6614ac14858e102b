using System.Globalization;
using System.Text.Json.Nodes;
using System.Xml;

namespace Nimbus.Queues;

/// <summary>
/// The SQS query protocol (form <c>Action=...&amp;Version=2012-11-05</c>, XML answers) translated to and from the JSON
/// protocol's shapes, so one set of handlers serves both: flattened form names (<c>Attribute.1.Name</c>,
/// <c>MessageAttribute.1.Value.StringValue</c>, <c>SendMessageBatchRequestEntry.1.Id</c>) become JSON maps and lists,
/// and JSON answers become XML with AWS's flattened list element names.
/// </summary>
internal static class SqsQueryProtocol
{
    /// <summary>XML element of one item of a JSON list, by the list's name.</summary>
    private static readonly Dictionary<string, string> ListItemNames = new(StringComparer.Ordinal)
    {
        ["QueueUrls"] = "QueueUrl",
        ["queueUrls"] = "QueueUrl",
        ["Messages"] = "Message",
        ["Failed"] = "BatchResultErrorEntry",
    };

    public static JsonObject ToJson(string operation, IEnumerable<KeyValuePair<string, string>> parameters)
    {
        var flat = parameters
            .Where(p => p.Key is not ("Action" or "Version" or "AWSAccessKeyId" or "Signature" or "SignatureMethod" or "SignatureVersion" or "Timestamp" or "Expires"))
            .ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal);
        return Level(operation, flat);
    }

    private static JsonObject Level(string operation, Dictionary<string, string> flat)
    {
        var result = new JsonObject();
        var groups = flat.GroupBy(p => p.Key.Split('.', 2)[0], StringComparer.Ordinal);
        foreach (var group in groups)
        {
            var name = group.Key;
            if (group.Count() == 1 && !group.First().Key.Contains('.', StringComparison.Ordinal))
            {
                result[name] = group.First().Value;
                continue;
            }

            var indexed = Indexed(group);
            switch (name)
            {
                case "Attribute":
                    result["Attributes"] = Map(indexed, "Name", "Value");
                    break;
                case "Tag":
                    result[operation == SqsWire.Ops.CreateQueue ? "tags" : "Tags"] = Map(indexed, "Key", "Value");
                    break;
                case "MessageAttribute":
                case "MessageSystemAttribute":
                    var attributes = new JsonObject();
                    foreach (var (_, fields) in indexed)
                    {
                        if (fields.TryGetValue("Name", out var attributeName))
                        {
                            var value = new JsonObject();
                            foreach (var (key, text) in fields.Where(f => f.Key.StartsWith("Value.", StringComparison.Ordinal)))
                            {
                                value[key["Value.".Length..]] = text;
                            }

                            attributes[attributeName] = value;
                        }
                    }

                    result[name + "s"] = attributes;
                    break;
                case "AttributeName":
                case "MessageAttributeName":
                case "MessageSystemAttributeName":
                case "TagKey":
                case "AWSAccountId":
                    result[name + "s"] = new JsonArray([.. indexed.Select(p => (JsonNode?)JsonValue.Create(p.Value.GetValueOrDefault("")))]);
                    break;
                case "ActionName":
                    result["Actions"] = new JsonArray([.. indexed.Select(p => (JsonNode?)JsonValue.Create(p.Value.GetValueOrDefault("")))]);
                    break;
                default:
                    if (name.EndsWith("RequestEntry", StringComparison.Ordinal))
                    {
                        result["Entries"] = new JsonArray([.. indexed.Select(p => (JsonNode?)Level(operation, p.Value))]);
                    }

                    break;
            }
        }

        return result;
    }

    /// <summary><c>Name.N.rest=value</c> grouped by N in order; a bare <c>Name.N=value</c> gets the key "".</summary>
    private static List<KeyValuePair<int, Dictionary<string, string>>> Indexed(IEnumerable<KeyValuePair<string, string>> group)
    {
        var items = new SortedDictionary<int, Dictionary<string, string>>();
        foreach (var (key, value) in group)
        {
            var parts = key.Split('.', 3);
            if (parts.Length < 2 || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var index))
            {
                continue;
            }

            if (!items.TryGetValue(index, out var fields))
            {
                items[index] = fields = new Dictionary<string, string>(StringComparer.Ordinal);
            }

            fields[parts.Length == 3 ? parts[2] : ""] = value;
        }

        return [.. items];
    }

    private static JsonObject Map(List<KeyValuePair<int, Dictionary<string, string>>> indexed, string keyName, string valueName)
    {
        var map = new JsonObject();
        foreach (var (_, fields) in indexed)
        {
            if (fields.TryGetValue(keyName, out var key))
            {
                map[key] = fields.GetValueOrDefault(valueName, "");
            }
        }

        return map;
    }

    public static string ToXml(string operation, JsonObject answer, string requestId)
    {
        var settings = new XmlWriterSettings { OmitXmlDeclaration = true, Indent = false };
        using var text = new StringWriter(CultureInfo.InvariantCulture);
        using (var xml = XmlWriter.Create(text, settings))
        {
            xml.WriteStartElement(operation + "Response", SqsWire.XmlNamespace);
            if (answer.Count > 0)
            {
                xml.WriteStartElement(operation + "Result");
                WriteFields(xml, operation, answer);
                xml.WriteEndElement();
            }

            xml.WriteStartElement("ResponseMetadata");
            xml.WriteElementString("RequestId", requestId);
            xml.WriteEndElement();
            xml.WriteEndElement();
        }

        return text.ToString();
    }

    public static string ErrorXml(QueueError error, string requestId)
    {
        using var text = new StringWriter(CultureInfo.InvariantCulture);
        using (var xml = XmlWriter.Create(text, new XmlWriterSettings { OmitXmlDeclaration = true }))
        {
            xml.WriteStartElement("ErrorResponse", SqsWire.XmlNamespace);
            xml.WriteStartElement("Error");
            xml.WriteElementString("Type", error.SenderFault ? "Sender" : "Receiver");
            xml.WriteElementString("Code", error.Code.QueryCode);
            // A message may quote the request (an attribute name, a queue name) with characters XML cannot carry.
            xml.WriteElementString("Message", Buckets.S3Xml.XmlSafe(error.Message));
            xml.WriteElementString("Detail", "");
            xml.WriteEndElement();
            xml.WriteElementString("RequestId", requestId);
            xml.WriteEndElement();
        }

        return text.ToString();
    }

    private static void WriteFields(XmlWriter xml, string operation, JsonObject fields)
    {
        foreach (var (name, node) in fields)
        {
            switch (node)
            {
                case null:
                    break;
                case JsonObject map when name is "Attributes" or "Tags":
                    var (entry, key) = name == "Tags" ? ("Tag", "Key") : ("Attribute", "Name");
                    foreach (var (k, v) in map)
                    {
                        xml.WriteStartElement(entry);
                        xml.WriteElementString(key, k);
                        xml.WriteElementString("Value", v?.GetValue<string>() ?? "");
                        xml.WriteEndElement();
                    }

                    break;
                case JsonObject map when name is "MessageAttributes":
                    foreach (var (k, v) in map)
                    {
                        xml.WriteStartElement("MessageAttribute");
                        xml.WriteElementString("Name", k);
                        xml.WriteStartElement("Value");
                        WriteFields(xml, operation, v!.AsObject());
                        xml.WriteEndElement();
                        xml.WriteEndElement();
                    }

                    break;
                case JsonObject inner:
                    xml.WriteStartElement(name);
                    WriteFields(xml, operation, inner);
                    xml.WriteEndElement();
                    break;
                case JsonArray list:
                    var item = name == "Successful" ? operation + "ResultEntry" : ListItemNames.GetValueOrDefault(name, name);
                    foreach (var element in list)
                    {
                        if (element is JsonObject objectElement)
                        {
                            xml.WriteStartElement(item);
                            WriteFields(xml, operation, objectElement);
                            xml.WriteEndElement();
                        }
                        else
                        {
                            xml.WriteElementString(item, Scalar(element));
                        }
                    }

                    break;
                default:
                    xml.WriteElementString(name, Scalar(node));
                    break;
            }
        }
    }

    private static string Scalar(JsonNode? node) => node switch
    {
        null => "",
        JsonValue value when value.TryGetValue<string>(out var s) => s,
        JsonValue value when value.TryGetValue<bool>(out var b) => b ? "true" : "false",
        _ => node.ToJsonString(),
    };
}
