using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Nimbus.Http;
using Nimbus.Security;
using Ops = Nimbus.Queues.SqsWire.Ops;

namespace Nimbus.Queues;

/// <summary>
/// The SQS front door: recognises SQS requests in either wire protocol (JSON 1.0 with <c>X-Amz-Target: AmazonSQS.*</c>,
/// or a query-protocol form whose <c>Action</c> is an SQS action, posted to <c>/</c> or to a queue's path), turns them
/// into one JSON request shape, runs the operation on <see cref="QueueService"/> and answers in the caller's protocol.
/// </summary>
internal sealed partial class SqsApi(QueueService queues, ServiceAuthorization authorization, IHostApplicationLifetime lifetime)
{
    /// <summary>Largest request body read: a 10-entry batch of 1 MiB messages, form-encoded, fits.</summary>
    private const long MaxRequestBytes = 16L * 1024 * 1024;

    private static readonly JsonObject Empty = [];

    /// <summary>
    /// False only for a request <see cref="TryHandleAsync"/> would pass on without reading anything: no SQS target, no
    /// query string and no form body. Checked first, without allocating, because every request to the main port (every
    /// invoke) passes here.
    /// </summary>
    public static bool MayBeSqsRequest(HttpRequest request) =>
        request.QueryString.HasValue
        || request.Headers["X-Amz-Target"].ToString().StartsWith(SqsWire.TargetPrefix, StringComparison.Ordinal)
        || (HttpMethods.IsPost(request.Method) && request.ContentType?.StartsWith(SqsWire.FormContentType, StringComparison.OrdinalIgnoreCase) == true);

    public async Task<bool> TryHandleAsync(HttpContext context)
    {
        var request = context.Request;
        string operation;
        JsonObject input;
        bool query;
        if (request.Headers["X-Amz-Target"].ToString() is { } target && target.StartsWith(SqsWire.TargetPrefix, StringComparison.Ordinal))
        {
            operation = target[SqsWire.TargetPrefix.Length..];
            query = false;
            var body = await RequestBody.ReadAsync(context, MaxRequestBytes).ConfigureAwait(false);
            if (body is null)
            {
                await WriteErrorAsync(context, operation, query, QueueError.InvalidParameter($"The request body is larger than {MaxRequestBytes} bytes.")).ConfigureAwait(false);
                return true;
            }

            try
            {
                input = body.Length == 0 ? [] : JsonText.ParseObject(body);
            }
            catch (JsonException e)
            {
                await WriteErrorAsync(context, operation, query, QueueError.InvalidParameter($"The request body is not a JSON object: {e.Message}")).ConfigureAwait(false);
                return true;
            }
        }
        else
        {
            Dictionary<string, string>? parameters;
            try
            {
                parameters = await ReadQueryParametersAsync(context).ConfigureAwait(false);
            }
            catch (InvalidDataException e)
            {
                // Over the form reader's limits (1,024 fields, 4 MiB per value, 2 KiB per name): no SQS request is that big.
                await WriteErrorAsync(context, "", query: true, QueueError.InvalidParameter($"The request form is malformed or too large: {e.Message}")).ConfigureAwait(false);
                return true;
            }

            if (parameters is null || !parameters.TryGetValue("Action", out var action) || !SqsWire.Actions.Contains(action)
                || (parameters.TryGetValue("Version", out var version) && version != SqsWire.ApiVersion))
            {
                return false;
            }

            operation = action;
            query = true;
            input = SqsQueryProtocol.ToJson(operation, parameters);
            if (!input.ContainsKey("QueueUrl") && IsQueuePath(request.Path))
            {
                input["QueueUrl"] = $"{request.Scheme}://{request.Host}{request.Path}";
            }
        }

        var resource = SqsActions.ResourceOf(operation, Text(input, "QueueUrl"), Text(input, "QueueName"), Text(input, "SourceArn"), queues);
        var decision = WithQueuePolicy(context, authorization.Evaluate(context, SqsActions.ActionOf(operation), resource), SqsActions.ActionOf(operation), resource);
        if (!decision.Allowed)
        {
            authorization.Refused(context, SqsActions.ActionOf(operation), resource);
            await AwsAuthErrors.WriteAsync(context, AwsServices.Sqs, decision.ToFailure()).ConfigureAwait(false);
            return true;
        }

        JsonObject answer;
        try
        {
            var result = await RunAsync(context, operation, input).ConfigureAwait(false);
            if (result.Error is { } error)
            {
                await WriteErrorAsync(context, operation, query, error).ConfigureAwait(false);
                return true;
            }

            answer = result.Value!;
        }
        catch (InvalidRequestException e)
        {
            await WriteErrorAsync(context, operation, query, e.Error).ConfigureAwait(false);
            return true;
        }

        var requestId = AwsRequestId.Get(context);
        context.Response.StatusCode = 200;
        if (query)
        {
            context.Response.ContentType = SqsWire.XmlContentType;
            await context.Response.WriteAsync(SqsQueryProtocol.ToXml(operation, answer, requestId), context.RequestAborted).ConfigureAwait(false);
        }
        else
        {
            context.Response.ContentType = SqsWire.JsonContentType;
            await context.Response.WriteAsync(answer.ToJsonString(), context.RequestAborted).ConfigureAwait(false);
        }

        return true;
    }

    private static async Task<Dictionary<string, string>?> ReadQueryParametersAsync(HttpContext context)
    {
        var request = context.Request;
        var parameters = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, value) in request.Query)
        {
            parameters[key] = value.ToString();
        }

        var formPath = request.Path == "/" || IsQueuePath(request.Path);
        if (formPath && HttpMethods.IsPost(request.Method)
            && request.ContentType?.StartsWith(SqsWire.FormContentType, StringComparison.OrdinalIgnoreCase) == true)
        {
            // Buffered and rewound: a form that is not ours (CloudWatch's query protocol) stays readable downstream.
            request.EnableBuffering();
            var form = await request.ReadFormAsync(context.RequestAborted).ConfigureAwait(false);
            request.Body.Position = 0;
            foreach (var (key, value) in form)
            {
                parameters[key] = value.ToString();
            }
        }

        return parameters.Count == 0 || (!formPath && !parameters.ContainsKey("Action")) ? null : parameters;
    }

    private static bool IsQueuePath(PathString path)
    {
        var segments = (path.Value ?? "").Split('/', StringSplitOptions.RemoveEmptyEntries);
        return segments.Length == 2 && segments[0].Length == 12 && segments[0].All(char.IsAsciiDigit);
    }

    private static async Task WriteErrorAsync(HttpContext context, string operation, bool query, QueueError error)
    {
        var requestId = AwsRequestId.Get(context);
        var response = context.Response;
        response.StatusCode = error.Status;
        response.Headers[SqsWire.QueryErrorHeader] = $"{error.Code.QueryCode};{(error.SenderFault ? "Sender" : "Receiver")}";
        if (query)
        {
            response.ContentType = SqsWire.XmlContentType;
            await response.WriteAsync(SqsQueryProtocol.ErrorXml(error, requestId), context.RequestAborted).ConfigureAwait(false);
        }
        else
        {
            response.ContentType = SqsWire.JsonContentType;
            var body = new JsonObject { ["__type"] = SqsWire.JsonErrorTypePrefix + error.Code.JsonType, ["message"] = error.Message };
            await response.WriteAsync(body.ToJsonString(), context.RequestAborted).ConfigureAwait(false);
        }

        _ = operation;
    }

    private Task<QueueResult<JsonObject>> RunAsync(HttpContext context, string operation, JsonObject input) => operation switch
    {
        Ops.CreateQueue => CreateQueueAsync(context, input),
        Ops.GetQueueUrl => GetQueueUrlAsync(context, input),
        Ops.ListQueues => ListQueuesAsync(context, input),
        Ops.DeleteQueue => Done(queues.DeleteQueueAsync(QueueUrl(input))),
        Ops.SendMessage => SendMessageAsync(input),
        Ops.SendMessageBatch => SendMessageBatchAsync(input),
        Ops.ReceiveMessage => ReceiveMessageAsync(context, input),
        Ops.DeleteMessage => Done(queues.DeleteMessageAsync(QueueUrl(input), String(input, "ReceiptHandle"))),
        Ops.DeleteMessageBatch => BatchAsync(input, entry => queues.DeleteMessageAsync(QueueUrl(input), String(entry, "ReceiptHandle"))),
        Ops.ChangeMessageVisibility => Done(queues.ChangeVisibilityAsync(QueueUrl(input), String(input, "ReceiptHandle"), RequiredInt(input, "VisibilityTimeout"))),
        Ops.ChangeMessageVisibilityBatch => BatchAsync(input, entry =>
            queues.ChangeVisibilityAsync(QueueUrl(input), String(entry, "ReceiptHandle"), RequiredInt(entry, "VisibilityTimeout"))),
        Ops.GetQueueAttributes => GetQueueAttributesAsync(input),
        Ops.SetQueueAttributes => Done(queues.SetAttributesAsync(QueueUrl(input), StringMap(input, "Attributes"))),
        Ops.PurgeQueue => Done(queues.PurgeAsync(QueueUrl(input))),
        Ops.TagQueue => Done(queues.ChangeTagsAsync(QueueUrl(input), StringMap(input, "Tags"), [])),
        Ops.UntagQueue => Done(queues.ChangeTagsAsync(QueueUrl(input), new Dictionary<string, string>(), StringList(input, "TagKeys"))),
        Ops.ListQueueTags => ListQueueTagsAsync(input),
        Ops.ListDeadLetterSourceQueues => ListDeadLetterSourceQueuesAsync(context, input),
        Ops.AddPermission => AddPermissionAsync(input),
        Ops.RemovePermission => RemovePermissionAsync(input),
        _ when SqsWire.Actions.Contains(operation) => Task.FromResult<QueueResult<JsonObject>>(new QueueError(
            SqsWire.Errors.UnsupportedOperation, $"Nimbus does not support {operation}; see docs/compatibility.md for the supported SQS operations.")),
        _ => Task.FromResult<QueueResult<JsonObject>>(new QueueError(SqsWire.Errors.InvalidAction, $"The action {operation} is not valid for this endpoint.")),
    };

    private async Task<QueueResult<JsonObject>> CreateQueueAsync(HttpContext context, JsonObject input)
    {
        var result = await queues.CreateQueueAsync(String(input, "QueueName"), StringMap(input, "Attributes"), StringMap(input, "tags")).ConfigureAwait(false);
        return result.Error is { } error ? error : new JsonObject { ["QueueUrl"] = UrlOf(context, result.Value!) };
    }

    private async Task<QueueResult<JsonObject>> GetQueueUrlAsync(HttpContext context, JsonObject input)
    {
        var name = String(input, "QueueName") ?? throw new InvalidRequestException(QueueError.Missing("QueueName"));
        return await queues.ExistsAsync(name).ConfigureAwait(false) && queues.ResolveName(name) == name
            ? new JsonObject { ["QueueUrl"] = UrlOf(context, name) }
            : QueueError.NoQueue();
    }

    private async Task<QueueResult<JsonObject>> ListQueuesAsync(HttpContext context, JsonObject input)
    {
        var max = Int(input, "MaxResults");
        if (max is < 1 or > SqsWire.Limits.MaxListQueuesResults)
        {
            return QueueError.InvalidParameter($"Value {max} for parameter MaxResults is invalid. Reason: MaxResults must be an integer between 1 and 1000.");
        }

        string? after = null;
        if (String(input, "NextToken") is { Length: > 0 } token)
        {
            try
            {
                after = Encoding.UTF8.GetString(Convert.FromBase64String(token));
            }
            catch (FormatException)
            {
                return QueueError.InvalidParameter("Invalid NextToken value: pass the NextToken of the previous ListQueues answer.");
            }
        }

        var (names, more) = await queues.ListQueuesAsync(String(input, "QueueNamePrefix"), after, max ?? SqsWire.Limits.MaxListQueuesResults).ConfigureAwait(false);
        var answer = new JsonObject();
        if (names.Count > 0)
        {
            answer["QueueUrls"] = new JsonArray([.. names.Select(n => (JsonNode?)UrlOf(context, n))]);
        }

        if (more && max is not null)
        {
            answer["NextToken"] = Convert.ToBase64String(Encoding.UTF8.GetBytes(names[^1]));
        }

        return answer;
    }

    private async Task<QueueResult<JsonObject>> ListDeadLetterSourceQueuesAsync(HttpContext context, JsonObject input)
    {
        var queue = QueueUrl(input);
        if (!await queues.ExistsAsync(queue).ConfigureAwait(false))
        {
            return QueueError.NoQueue();
        }

        var names = await queues.ListDeadLetterSourcesAsync(queue).ConfigureAwait(false);
        return new JsonObject { ["queueUrls"] = new JsonArray([.. names.Select(n => (JsonNode?)UrlOf(context, n))]) };
    }

    private async Task<QueueResult<JsonObject>> ListQueueTagsAsync(JsonObject input)
    {
        var tags = await queues.GetTagsAsync(QueueUrl(input)).ConfigureAwait(false);
        if (tags.Error is { } error)
        {
            return error;
        }

        var answer = new JsonObject();
        if (tags.Value!.Count > 0)
        {
            answer["Tags"] = new JsonObject(tags.Value.Select(p => KeyValuePair.Create(p.Key, (JsonNode?)p.Value)));
        }

        return answer;
    }

    private async Task<QueueResult<JsonObject>> SendMessageAsync(JsonObject input)
    {
        var message = MessageInput(input);
        var result = await queues.SendAsync(QueueUrl(input), message).ConfigureAwait(false);
        return result.Error is { } error ? error : SendAnswer(result.Value!, message, id: null);
    }

    private async Task<QueueResult<JsonObject>> SendMessageBatchAsync(JsonObject input)
    {
        var entries = Entries(input, "SendMessageBatchRequestEntry");
        var messages = new List<QueueMessageInput>(entries.Count);
        var failed = new JsonArray();
        var ids = new List<string>();
        var total = 0;
        foreach (var entry in entries)
        {
            var id = String(entry, "Id")!;
            try
            {
                var message = MessageInput(entry);
                total += Encoding.UTF8.GetByteCount(message.Body) + (message.Attributes?.Sum(a => a.Value.Size(a.Key)) ?? 0);
                messages.Add(message);
                ids.Add(id);
            }
            catch (InvalidRequestException e)
            {
                failed.Add(Failure(id, e.Error));
            }
        }

        var settings = await queues.GetSettingsAsync(QueueUrl(input)).ConfigureAwait(false);
        if (settings is null)
        {
            return QueueError.NoQueue();
        }

        if (total > settings.MaximumMessageSize)
        {
            return new QueueError(SqsWire.Errors.BatchRequestTooLong,
                $"Batch requests cannot be longer than {settings.MaximumMessageSize} bytes. You have sent {total} bytes.");
        }

        var results = await queues.SendBatchAsync(QueueUrl(input), messages).ConfigureAwait(false);
        if (results.Error is { } error)
        {
            return error;
        }

        var successful = new JsonArray();
        for (var i = 0; i < messages.Count; i++)
        {
            var outcome = results.Value![i];
            if (outcome.Error is { } entryError)
            {
                failed.Add(Failure(ids[i], entryError));
            }
            else
            {
                successful.Add(SendAnswer(outcome.Value!, messages[i], ids[i]));
            }
        }

        return new JsonObject { ["Successful"] = successful, ["Failed"] = failed };
    }

    private async Task<QueueResult<JsonObject>> BatchAsync(JsonObject input, Func<JsonObject, Task<QueueError?>> run)
    {
        var prefix = input.ContainsKey("Entries") && input["Entries"] is JsonArray { Count: > 0 } first && first[0] is JsonObject o && o.ContainsKey("VisibilityTimeout")
            ? "ChangeMessageVisibilityBatchRequestEntry"
            : "DeleteMessageBatchRequestEntry";
        var entries = Entries(input, prefix);
        if (!await queues.ExistsAsync(QueueUrl(input)).ConfigureAwait(false))
        {
            return QueueError.NoQueue();
        }

        var tasks = entries.Select(async entry =>
        {
            try
            {
                return (Id: String(entry, "Id")!, Error: await run(entry).ConfigureAwait(false));
            }
            catch (InvalidRequestException e)
            {
                return (Id: String(entry, "Id")!, e.Error);
            }
        }).ToList();
        var successful = new JsonArray();
        var failed = new JsonArray();
        foreach (var (id, error) in await Task.WhenAll(tasks).ConfigureAwait(false))
        {
            if (error is { Code: var code } && code == SqsWire.Errors.QueueDoesNotExist)
            {
                return error;
            }

            if (error is null)
            {
                successful.Add(new JsonObject { ["Id"] = id });
            }
            else
            {
                failed.Add(Failure(id, error));
            }
        }

        return new JsonObject { ["Successful"] = successful, ["Failed"] = failed };
    }

    private async Task<QueueResult<JsonObject>> ReceiveMessageAsync(HttpContext context, JsonObject input)
    {
        var queue = QueueUrl(input);
        var settings = await queues.GetSettingsAsync(queue).ConfigureAwait(false);
        if (settings is null)
        {
            return QueueError.NoQueue();
        }

        var wait = Int(input, "WaitTimeSeconds") ?? settings.ReceiveWaitTimeSeconds;

        // Shutdown begins with ApplicationStopping, before the server drains requests: a long poll answers at once.
        using var waitEnds = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, lifetime.ApplicationStopping);
        var result = await queues.ReceiveAsync(queue, Int(input, "MaxNumberOfMessages") ?? 1, Int(input, "VisibilityTimeout"),
            TimeSpan.FromSeconds(Math.Max(wait, -1)), waitEnds.Token).ConfigureAwait(false);
        if (result.Error is { } error)
        {
            return error;
        }

        var systemNames = StringList(input, "AttributeNames").Concat(StringList(input, "MessageSystemAttributeNames")).ToHashSet(StringComparer.Ordinal);
        var attributeNames = StringList(input, "MessageAttributeNames");
        var messages = new JsonArray();
        foreach (var message in result.Value!)
        {
            var item = new JsonObject
            {
                ["MessageId"] = message.MessageId,
                ["ReceiptHandle"] = message.ReceiptHandle,
                ["MD5OfBody"] = message.Md5OfBody,
                ["Body"] = message.Body,
            };
            var system = message.SystemAttributes
                .Where(p => systemNames.Contains(SqsWire.MessageAttributes.All) || systemNames.Contains(p.Key))
                .ToList();
            if (system.Count > 0)
            {
                item["Attributes"] = new JsonObject(system.Select(p => KeyValuePair.Create(p.Key, (JsonNode?)p.Value)));
            }

            var selected = message.MessageAttributes
                .Where(p => attributeNames.Any(n => n is "All" or ".*" || n == p.Key || (n.EndsWith(".*", StringComparison.Ordinal) && p.Key.StartsWith(n[..^1], StringComparison.Ordinal))))
                .ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal);
            if (selected.Count > 0)
            {
                item["MD5OfMessageAttributes"] = MessageMd5.OfAttributes(selected);
                item["MessageAttributes"] = AttributesJson(selected);
            }

            messages.Add(item);
        }

        return messages.Count > 0 ? new JsonObject { ["Messages"] = messages } : new JsonObject();
    }

    private async Task<QueueResult<JsonObject>> GetQueueAttributesAsync(JsonObject input)
    {
        var result = await queues.GetAttributesAsync(QueueUrl(input), StringList(input, "AttributeNames")).ConfigureAwait(false);
        if (result.Error is { } error)
        {
            return error;
        }

        return result.Value!.Count == 0
            ? new JsonObject()
            : new JsonObject { ["Attributes"] = new JsonObject(result.Value!.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => KeyValuePair.Create(p.Key, (JsonNode?)p.Value))) };
    }

    private static async Task<QueueResult<JsonObject>> Done(Task<QueueError?> operation) =>
        await operation.ConfigureAwait(false) is { } error ? error : new JsonObject();

    private static JsonObject SendAnswer(SendOutcome outcome, QueueMessageInput message, string? id)
    {
        var answer = new JsonObject();
        if (id is not null)
        {
            answer["Id"] = id;
        }

        answer["MessageId"] = outcome.MessageId;
        answer["MD5OfMessageBody"] = outcome.Md5OfBody;
        if (outcome.Md5OfAttributes is { } md5)
        {
            answer["MD5OfMessageAttributes"] = md5;
        }

        if (message.TraceHeader is { } trace)
        {
            answer["MD5OfMessageSystemAttributes"] = MessageMd5.OfAttributes(new Dictionary<string, MessageAttributeValue>
            {
                [SqsWire.MessageAttributes.AwsTraceHeader] = new("String", trace, null),
            });
        }

        if (outcome.SequenceNumber is { } sequence)
        {
            answer["SequenceNumber"] = sequence;
        }

        return answer;
    }

    private static JsonObject Failure(string id, QueueError error) => new()
    {
        ["Id"] = id,
        ["SenderFault"] = error.SenderFault,
        ["Code"] = error.Code.QueryCode,
        ["Message"] = error.Message,
    };

    private static QueueMessageInput MessageInput(JsonObject input)
    {
        string? trace = null;
        var system = MessageAttributeMap(input, "MessageSystemAttributes");
        foreach (var (name, value) in system)
        {
            if (name != SqsWire.MessageAttributes.AwsTraceHeader || value.DataType != "String" || string.IsNullOrEmpty(value.StringValue))
            {
                throw new InvalidRequestException(QueueError.InvalidParameter(
                    $"Message system attribute '{name}' is not supported: the only one a sender may set is AWSTraceHeader, of type String."));
            }

            trace = value.StringValue;
        }

        return new QueueMessageInput(
            String(input, "MessageBody") ?? "",
            MessageAttributeMap(input, "MessageAttributes"),
            Int(input, "DelaySeconds"),
            String(input, "MessageGroupId"),
            String(input, "MessageDeduplicationId"),
            trace);
    }

    private static Dictionary<string, MessageAttributeValue> MessageAttributeMap(JsonObject input, string name)
    {
        var result = new Dictionary<string, MessageAttributeValue>(StringComparer.Ordinal);
        if (input[name] is not JsonObject map)
        {
            return result;
        }

        foreach (var (key, node) in map)
        {
            if (node is not JsonObject value)
            {
                throw new InvalidRequestException(QueueError.InvalidParameter($"The message attribute '{key}' must be an object with DataType and a value."));
            }

            var dataType = String(value, "DataType");
            if (string.IsNullOrEmpty(dataType))
            {
                throw new InvalidRequestException(QueueError.InvalidParameter($"The message attribute '{key}' must contain a non-empty attribute type."));
            }

            byte[]? binary = null;
            if (String(value, "BinaryValue") is { } base64)
            {
                try
                {
                    binary = Convert.FromBase64String(base64);
                }
                catch (FormatException)
                {
                    throw new InvalidRequestException(QueueError.InvalidParameter($"The message attribute '{key}' has a BinaryValue that is not base64."));
                }
            }

            result[key] = new MessageAttributeValue(dataType, binary is null ? String(value, "StringValue") : null, binary);
        }

        return result;
    }

    private static JsonObject AttributesJson(IReadOnlyDictionary<string, MessageAttributeValue> attributes)
    {
        var map = new JsonObject();
        foreach (var (name, value) in attributes.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            var item = new JsonObject();
            if (value.BinaryValue is { } binary)
            {
                item["BinaryValue"] = Convert.ToBase64String(binary);
            }
            else
            {
                item["StringValue"] = value.StringValue;
            }

            item["DataType"] = value.DataType;
            map[name] = item;
        }

        return map;
    }

    private static List<JsonObject> Entries(JsonObject input, string entryName)
    {
        var entries = (input["Entries"] as JsonArray)?.OfType<JsonObject>().ToList() ?? [];
        if (entries.Count == 0)
        {
            throw new InvalidRequestException(new QueueError(SqsWire.Errors.EmptyBatchRequest, $"There should be at least one {entryName} in the request."));
        }

        if (entries.Count > SqsWire.Limits.MaxBatchEntries)
        {
            throw new InvalidRequestException(new QueueError(SqsWire.Errors.TooManyEntriesInBatchRequest,
                $"Maximum number of entries per request are {SqsWire.Limits.MaxBatchEntries}. You have sent {entries.Count}."));
        }

        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var entry in entries)
        {
            var id = String(entry, "Id");
            if (string.IsNullOrEmpty(id) || id.Length > SqsWire.Limits.MaxBatchEntryIdLength || !id.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_'))
            {
                throw new InvalidRequestException(new QueueError(SqsWire.Errors.InvalidBatchEntryId,
                    "A batch entry id can only contain alphanumeric characters, hyphens and underscores. It can be at most 80 letters long."));
            }

            if (!seen.Add(id))
            {
                throw new InvalidRequestException(new QueueError(SqsWire.Errors.BatchEntryIdsNotDistinct, $"Id {id} repeated."));
            }
        }

        return entries;
    }

    private static string QueueUrl(JsonObject input) =>
        String(input, "QueueUrl") is { Length: > 0 } url ? url : throw new InvalidRequestException(QueueError.Missing("QueueUrl"));

    private string UrlOf(HttpContext context, string name) => $"{context.Request.Scheme}://{context.Request.Host}/{queues.AccountId}/{name}";

    /// <summary>A string member, or null when it is missing or not a string (validation reports that later).</summary>
    private static string? Text(JsonObject input, string name) =>
        input[name] is JsonValue value && value.TryGetValue<string>(out var text) ? text : null;

    private static string? String(JsonObject input, string name) => input[name] switch
    {
        null => null,
        JsonValue value when value.TryGetValue<string>(out var s) => s,
        JsonValue value => value.ToJsonString(),
        _ => throw new InvalidRequestException(QueueError.InvalidParameter($"The parameter {name} must be a string.")),
    };

    private static int? Int(JsonObject input, string name)
    {
        var node = input[name];
        if (node is null)
        {
            return null;
        }

        if (node is JsonValue value && (value.TryGetValue<int>(out var n)
            || (value.TryGetValue<string>(out var s) && int.TryParse(s, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out n))))
        {
            return n;
        }

        throw new InvalidRequestException(QueueError.InvalidParameter($"Value {node.ToJsonString()} for parameter {name} is invalid. Reason: it must be an integer."));
    }

    private static int RequiredInt(JsonObject input, string name) =>
        Int(input, name) ?? throw new InvalidRequestException(QueueError.Missing(name));

    private static Dictionary<string, string> StringMap(JsonObject input, string name)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        if (input[name] is JsonObject map)
        {
            foreach (var (key, value) in map)
            {
                result[key] = value is JsonValue v && v.TryGetValue<string>(out var s) ? s : value?.ToJsonString() ?? "";
            }
        }

        return result;
    }

    private static List<string> StringList(JsonObject input, string name) =>
        input[name] is JsonArray list ? [.. list.Select(n => n is JsonValue v && v.TryGetValue<string>(out var s) ? s : n?.ToJsonString() ?? "")] : [];

    /// <summary>A request that cannot be run as given; carries the error to answer with.</summary>
    private sealed class InvalidRequestException(QueueError error) : Exception(error.Message)
    {
        public QueueError Error { get; } = error;
    }
}

/// <summary>Routes SQS requests (either protocol) to <see cref="SqsApi"/>; everything else passes on.</summary>
internal static class SqsApiExtensions
{
    public static WebApplication MapQueueApi(this WebApplication app)
    {
        var api = ActivatorUtilities.CreateInstance<SqsApi>(app.Services);
        // Not async on the pass-through path (every Lambda, S3 and Logs request): no state machine, no parsing.
        app.Use((context, next) => SqsApi.MayBeSqsRequest(context.Request) ? HandleOrPassAsync(api, context, next) : next(context));
        return app;
    }

    private static async Task HandleOrPassAsync(SqsApi api, HttpContext context, RequestDelegate next)
    {
        if (!await api.TryHandleAsync(context).ConfigureAwait(false))
        {
            await next(context).ConfigureAwait(false);
        }
    }
}
