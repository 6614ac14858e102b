using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Xml;
using Microsoft.AspNetCore.Http;

namespace Nimbus.Metrics;

/// <summary>
/// CloudWatch's wire contract (monitoring, API version 2010-08-01), in the two protocols the CLIs speak: awsJson1_0
/// (botocore 1.43: <c>X-Amz-Target: GraniteServiceVersion20100801.Op</c>, epoch-second timestamps, errors with
/// <c>x-amzn-query-error</c> for query compatibility) and the query protocol (Debian's CLI v2.9: form
/// <c>Action=Op&amp;Version=2010-08-01</c>, XML answers). Both are parsed into one JSON tree and answered from one.
/// </summary>
internal static class CloudWatchWire
{
    public const string SigningService = "monitoring";
    public const string TargetPrefix = "GraniteServiceVersion20100801.";
    public const string ApiVersion = "2010-08-01";
    public const string XmlNamespace = "http://monitoring.amazonaws.com/doc/2010-08-01/";
    public const string JsonContentType = "application/x-amz-json-1.0";
    public const string XmlContentType = "text/xml";
    public const string FormContentType = "application/x-www-form-urlencoded";
    public const string QueryErrorHeader = "x-amzn-query-error";
    public const string ShapePrefix = "com.amazonaws.cloudwatch#";

    /// <summary>Most bytes of a request body read (CloudWatch's own limit for a request is 1 MB).</summary>
    public const int MaxRequestBytes = 1024 * 1024;

    // Error codes (query protocol names) and the JSON shapes botocore knows them by.
    public const string InvalidParameterValue = "InvalidParameterValue";
    public const string MissingParameter = "MissingParameter";
    public const string InvalidParameterCombination = "InvalidParameterCombination";
    public const string InvalidAction = "InvalidAction";
    public const string InvalidNextToken = "InvalidNextToken";

    /// <summary>Members that are maps (written as entry/key/value in XML).</summary>
    private static readonly HashSet<string> MapMembers = new(StringComparer.Ordinal) { "ExtendedStatistics" };

    private static string ShapeOf(string code) => code switch
    {
        InvalidParameterValue => "InvalidParameterValueException",
        MissingParameter => "MissingRequiredParameterException",
        InvalidParameterCombination => "InvalidParameterCombinationException",
        InvalidAction => "UnknownOperationException",
        _ => code,
    };

    /// <summary>True when the request is for CloudWatch: its JSON target, or a query-protocol post signed for it.</summary>
    public static bool Matches(HttpRequest request)
    {
        if (!HttpMethods.IsPost(request.Method))
        {
            return false;
        }

        if (request.Headers["X-Amz-Target"].ToString().StartsWith(TargetPrefix, StringComparison.Ordinal))
        {
            return true;
        }

        return request.ContentType?.StartsWith(FormContentType, StringComparison.OrdinalIgnoreCase) == true
            && RequestCounters.Classify(request) == SigningService;
    }

    /// <summary>A parsed request: its operation, its input as a JSON tree, and which protocol to answer in.</summary>
    internal sealed record Request(string Operation, JsonObject Input, bool Query);

    internal sealed record WireError(string Code, string Message, int Status = 400);

    public static async Task<(Request? Request, WireError? Error)> ReadAsync(HttpContext context)
    {
        var body = await Http.RequestBody.ReadAsync(context, MaxRequestBytes).ConfigureAwait(false);
        if (body is null)
        {
            return (null, new WireError(InvalidParameterValue, $"Request must be smaller than {MaxRequestBytes} bytes.", 413));
        }

        var target = context.Request.Headers["X-Amz-Target"].ToString();
        if (target.StartsWith(TargetPrefix, StringComparison.Ordinal))
        {
            JsonObject input;
            try
            {
                input = body.Length == 0 ? [] : Http.JsonText.ParseObject(body);
            }
            catch (JsonException e)
            {
                return (null, new WireError("SerializationException", $"Could not parse the request body as a JSON object: {e.Message}"));
            }

            return (new Request(target[TargetPrefix.Length..], input, Query: false), null);
        }

        var form = Microsoft.AspNetCore.WebUtilities.QueryHelpers.ParseQuery("?" + Encoding.UTF8.GetString(body));
        var action = form.TryGetValue("Action", out var a) ? a.ToString() : "";
        var version = form.TryGetValue("Version", out var v) ? v.ToString() : "";
        if (action.Length == 0)
        {
            return (null, new WireError(MissingParameter, "The request must contain the parameter Action."));
        }

        if (version != ApiVersion)
        {
            return (null, new WireError(InvalidParameterValue, $"Version '{version}' is not supported by CloudWatch; use {ApiVersion}."));
        }

        var tree = new JsonObject();
        foreach (var (key, value) in form)
        {
            if (key is not ("Action" or "Version"))
            {
                Place(tree, key.Split('.'), 0, value.ToString());
            }
        }

        return (new Request(action, tree, Query: true), null);
    }

    // "Dimensions.member.2.Name" -> tree["Dimensions"][1]["Name"]; list indexes are 1-based.
    private static void Place(JsonNode parent, string[] path, int at, string value)
    {
        var segment = path[at];
        var last = at == path.Length - 1;
        if (parent is JsonObject obj)
        {
            if (last)
            {
                obj[segment] = value;
                return;
            }

            if (path[at + 1] == "member" && at + 2 < path.Length)
            {
                if (obj[segment] is not JsonArray list)
                {
                    list = [];
                    obj[segment] = list;
                }

                PlaceInList(list, path, at + 2, value);
                return;
            }

            if (obj[segment] is not JsonObject child)
            {
                child = [];
                obj[segment] = child;
            }

            Place(child, path, at + 1, value);
        }
    }

    private static void PlaceInList(JsonArray list, string[] path, int at, string value)
    {
        if (!int.TryParse(path[at], NumberStyles.None, CultureInfo.InvariantCulture, out var index) || index is < 1 or > 1000)
        {
            return;
        }

        while (list.Count < index)
        {
            list.Add(null);
        }

        if (at == path.Length - 1)
        {
            list[index - 1] = value;
            return;
        }

        if (list[index - 1] is not JsonObject item)
        {
            item = [];
            list[index - 1] = item;
        }

        Place(item, path, at + 1, value);
    }

    // ---- reading input values the same way from both protocols ----

    public static string? String(JsonObject input, string name) => input[name] is JsonValue value && value.TryGetValue<string>(out var s) ? s : null;

    public static double? Number(JsonObject input, string name) => input[name] switch
    {
        JsonValue value when value.TryGetValue<double>(out var d) => d,
        JsonValue value when value.TryGetValue<string>(out var s) && double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) => d,
        _ => null,
    };

    /// <summary>Epoch seconds (JSON) or ISO 8601 (query); false when present but unreadable.</summary>
    public static bool TryTimestamp(JsonObject input, string name, out DateTimeOffset? timestamp)
    {
        timestamp = null;
        switch (input[name])
        {
            case null:
                return true;
            case JsonValue value when value.TryGetValue<double>(out var seconds):
                return TryEpochSeconds(seconds, out timestamp);
            case JsonValue value when value.TryGetValue<string>(out var text):
                if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var epoch))
                {
                    return TryEpochSeconds(epoch, out timestamp);
                }

                if (DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var parsed))
                {
                    timestamp = parsed;
                    return true;
                }

                return false;
            default:
                return false;
        }
    }

    /// <summary>Seconds since the epoch as a timestamp; false (not a timestamp) outside the years 1 to 9999, where .NET has none.</summary>
    private static bool TryEpochSeconds(double seconds, out DateTimeOffset? timestamp)
    {
        timestamp = null;
        var milliseconds = seconds * 1000;
        if (!double.IsFinite(milliseconds) || milliseconds < DateTimeOffset.MinValue.ToUnixTimeMilliseconds() || milliseconds > DateTimeOffset.MaxValue.ToUnixTimeMilliseconds())
        {
            return false;
        }

        timestamp = DateTimeOffset.FromUnixTimeMilliseconds((long)milliseconds);
        return true;
    }

    public static List<JsonObject> Objects(JsonObject input, string name) =>
        input[name] is JsonArray list ? [.. list.OfType<JsonObject>()] : [];

    public static List<string> Strings(JsonObject input, string name) =>
        input[name] is JsonArray list ? [.. list.OfType<JsonValue>().Select(v => v.TryGetValue<string>(out var s) ? s : v.ToJsonString())] : [];

    // ---- writing ----

    public static async Task WriteAsync(HttpContext context, Request request, JsonObject output)
    {
        var requestId = Http.AwsRequestId.Get(context);
        context.Response.StatusCode = 200;
        if (request.Query)
        {
            context.Response.ContentType = XmlContentType;
            await context.Response.WriteAsync(ToXml(request.Operation, output, requestId)).ConfigureAwait(false);
            return;
        }

        context.Response.ContentType = JsonContentType;
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            WriteJson(writer, output);
        }

        await context.Response.Body.WriteAsync(buffer.ToArray()).ConfigureAwait(false);
    }

    public static async Task WriteErrorAsync(HttpContext context, bool query, WireError error)
    {
        var requestId = Http.AwsRequestId.Get(context);
        context.Response.StatusCode = error.Status;
        var fault = error.Status >= 500 ? "Receiver" : "Sender";
        if (query)
        {
            context.Response.ContentType = XmlContentType;
            var xml = new StringBuilder();
            using (var writer = XmlWriter.Create(xml, new XmlWriterSettings { OmitXmlDeclaration = true }))
            {
                writer.WriteStartElement("ErrorResponse", XmlNamespace);
                writer.WriteStartElement("Error");
                writer.WriteElementString("Type", fault);
                writer.WriteElementString("Code", error.Code);
                writer.WriteElementString("Message", error.Message);
                writer.WriteEndElement();
                writer.WriteElementString("RequestId", requestId);
                writer.WriteEndElement();
            }

            await context.Response.WriteAsync(xml.ToString()).ConfigureAwait(false);
            return;
        }

        context.Response.ContentType = JsonContentType;
        context.Response.Headers[QueryErrorHeader] = $"{error.Code};{fault}";
        var body = new JsonObject { ["__type"] = ShapePrefix + ShapeOf(error.Code), ["message"] = error.Message };
        await context.Response.WriteAsync(body.ToJsonString()).ConfigureAwait(false);
    }

    /// <summary>Timestamps in an output tree are DateTimeOffset values: epoch seconds in JSON, ISO 8601 in XML.</summary>
    public static JsonValue Timestamp(DateTimeOffset time) => JsonValue.Create(time);

    private static void WriteJson(Utf8JsonWriter writer, JsonNode? node)
    {
        switch (node)
        {
            case null:
                writer.WriteNullValue();
                break;
            case JsonObject obj:
                writer.WriteStartObject();
                foreach (var (name, child) in obj)
                {
                    writer.WritePropertyName(name);
                    WriteJson(writer, child);
                }

                writer.WriteEndObject();
                break;
            case JsonArray list:
                writer.WriteStartArray();
                foreach (var child in list)
                {
                    WriteJson(writer, child);
                }

                writer.WriteEndArray();
                break;
            case JsonValue value when value.TryGetValue<DateTimeOffset>(out var time):
                writer.WriteNumberValue(time.ToUnixTimeMilliseconds() / 1000.0);
                break;
            default:
                node.WriteTo(writer);
                break;
        }
    }

    private static string ToXml(string operation, JsonObject output, string requestId)
    {
        var xml = new StringBuilder();
        using (var writer = XmlWriter.Create(xml, new XmlWriterSettings { OmitXmlDeclaration = true }))
        {
            writer.WriteStartElement(operation + "Response", XmlNamespace);
            writer.WriteStartElement(operation + "Result");
            WriteXmlMembers(writer, output);
            writer.WriteEndElement();
            writer.WriteStartElement("ResponseMetadata");
            writer.WriteElementString("RequestId", requestId);
            writer.WriteEndElement();
            writer.WriteEndElement();
        }

        return xml.ToString();
    }

    private static void WriteXmlMembers(XmlWriter writer, JsonObject obj)
    {
        foreach (var (name, child) in obj)
        {
            if (child is null)
            {
                continue;
            }

            writer.WriteStartElement(name);
            if (MapMembers.Contains(name) && child is JsonObject map)
            {
                foreach (var (key, value) in map)
                {
                    writer.WriteStartElement("entry");
                    writer.WriteElementString("key", key);
                    writer.WriteStartElement("value");
                    WriteXmlValue(writer, value);
                    writer.WriteEndElement();
                    writer.WriteEndElement();
                }
            }
            else
            {
                WriteXmlValue(writer, child);
            }

            writer.WriteEndElement();
        }
    }

    private static void WriteXmlValue(XmlWriter writer, JsonNode? node)
    {
        switch (node)
        {
            case null:
                break;
            case JsonObject obj:
                WriteXmlMembers(writer, obj);
                break;
            case JsonArray list:
                foreach (var item in list)
                {
                    writer.WriteStartElement("member");
                    WriteXmlValue(writer, item);
                    writer.WriteEndElement();
                }

                break;
            case JsonValue value when value.TryGetValue<DateTimeOffset>(out var time):
                writer.WriteString(time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture));
                break;
            case JsonValue value when value.TryGetValue<double>(out var number):
                writer.WriteString(number.ToString("R", CultureInfo.InvariantCulture));
                break;
            case JsonValue value when value.TryGetValue<bool>(out var flag):
                writer.WriteString(flag ? "true" : "false");
                break;
            case JsonValue value:
                writer.WriteString(value.TryGetValue<string>(out var text) ? text : value.ToJsonString());
                break;
        }
    }
}
