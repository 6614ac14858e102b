using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Nimbus.Http;
using Nimbus.Security;
using Nimbus.Storage;

namespace Nimbus.Logs;

/// <summary>
/// The CloudWatch Logs-compatible API (awsJson1_1, <c>X-Amz-Target: Logs_20140328.&lt;Op&gt;</c>) over the log
/// store. Every operation validates as AWS does and answers AWS's error shapes.
/// </summary>
internal sealed partial class LogsApi(LogStore store, ServiceAuthorization authorization, IOptions<NimbusOptions> options, TimeProvider time, ILogger<LogsApi> logger)
{
    private delegate Task<LogsError?> Operation(LogsApi api, LogsRequest request, Utf8JsonWriter writer, CancellationToken cancellationToken);

    private static readonly Dictionary<string, Operation> Operations = new(StringComparer.Ordinal)
    {
        ["CreateLogGroup"] = static (api, r, w, c) => api.CreateLogGroupAsync(r, w, c),
        ["DeleteLogGroup"] = static (api, r, w, c) => api.DeleteLogGroupAsync(r, w, c),
        ["DescribeLogGroups"] = static (api, r, w, c) => api.DescribeLogGroupsAsync(r, w, c),
        ["CreateLogStream"] = static (api, r, w, c) => api.CreateLogStreamAsync(r, w, c),
        ["DeleteLogStream"] = static (api, r, w, c) => api.DeleteLogStreamAsync(r, w, c),
        ["DescribeLogStreams"] = static (api, r, w, c) => api.DescribeLogStreamsAsync(r, w, c),
        ["PutLogEvents"] = static (api, r, w, c) => api.PutLogEventsAsync(r, w, c),
        ["GetLogEvents"] = static (api, r, w, c) => api.GetLogEventsAsync(r, w, c),
        ["FilterLogEvents"] = static (api, r, w, c) => api.FilterLogEventsAsync(r, w, c),
        ["PutRetentionPolicy"] = static (api, r, w, c) => api.PutRetentionPolicyAsync(r, w, c),
        ["DeleteRetentionPolicy"] = static (api, r, w, c) => api.DeleteRetentionPolicyAsync(r, w, c),
    };

    /// <summary>FilterLogEvents reads at most this many events per call before it answers with a nextToken.</summary>
    internal const int MaxScannedPerFilterCall = 200_000;

    private readonly NimbusOptions _options = options.Value;

    public static bool IsLogsRequest(HttpContext context) =>
        HttpMethods.IsPost(context.Request.Method)
        && context.Request.Headers[LogsWire.TargetHeader].ToString().StartsWith(LogsWire.TargetPrefix, StringComparison.Ordinal);

    /// <summary>
    /// Serves one Logs request. A bug answers Logs' own 500 <c>ServiceUnavailableException</c> (a JSON body the AWS
    /// clients parse), never the Lambda-shaped error of the general error middleware.
    /// </summary>
    public async Task HandleAsync(HttpContext context)
    {
        try
        {
            await HandleOperationAsync(context).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException || !context.RequestAborted.IsCancellationRequested)
        {
            var operation = context.Request.Headers[LogsWire.TargetHeader].ToString();
            Log.LogsRequestFailed(logger, operation, e);
            if (!context.Response.HasStarted)
            {
                context.Response.Clear();
                await WriteErrorAsync(context, new LogsError(LogsWire.ServiceUnavailable,
                    $"Nimbus failed to process {operation}; the server log has the details (event LogsRequestFailed). Retry, and report it if it persists.", 500)).ConfigureAwait(false);
            }
        }
    }

    private async Task HandleOperationAsync(HttpContext context)
    {
        AwsRequestId.Get(context);
        var operationName = context.Request.Headers[LogsWire.TargetHeader].ToString()[LogsWire.TargetPrefix.Length..];
        if (!Operations.TryGetValue(operationName, out var operation))
        {
            await WriteErrorAsync(context, new LogsError(LogsWire.UnknownOperation,
                $"The operation {operationName} is not supported by Nimbus's CloudWatch Logs API; see docs/compatibility.md.")).ConfigureAwait(false);
            return;
        }

        var body = await RequestBody.ReadAsync(context, LogsWire.MaxRequestBytes).ConfigureAwait(false);
        if (body is null)
        {
            await WriteErrorAsync(context, new LogsError(LogsWire.InvalidParameter,
                $"The request body is larger than {LogsWire.MaxRequestBytes} bytes.", 413)).ConfigureAwait(false);
            return;
        }

        JsonDocument document;
        try
        {
            document = body.Length > 0 && Http.JsonText.Problem(body) is { } problem
                ? throw new JsonException(problem)
                : JsonDocument.Parse(body.Length == 0 ? "{}"u8.ToArray() : body);
        }
        catch (JsonException e)
        {
            await WriteErrorAsync(context, new LogsError(LogsWire.Serialization, $"The request body is not valid JSON: {e.Message}")).ConfigureAwait(false);
            return;
        }

        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                await WriteErrorAsync(context, new LogsError(LogsWire.Serialization, "The request body must be a JSON object.")).ConfigureAwait(false);
                return;
            }

            var (action, resourceKind) = LogsActions.Of(operationName);
            var decision = authorization.Check(context, action, LogsActions.ResourceArn(resourceKind, document.RootElement, _options.Region, _options.AccountId));
            if (!decision.Allowed)
            {
                await AwsAuthErrors.WriteAsync(context, AwsServices.Logs, decision.ToFailure()).ConfigureAwait(false);
                return;
            }

            var buffer = new ArrayBufferWriter<byte>();
            LogsError? error;
            await using (var writer = new Utf8JsonWriter(buffer))
            {
                error = await operation(this, new LogsRequest(document.RootElement), writer, context.RequestAborted).ConfigureAwait(false);
            }

            if (error is not null)
            {
                await WriteErrorAsync(context, error).ConfigureAwait(false);
                return;
            }

            context.Response.StatusCode = 200;
            context.Response.ContentType = LogsWire.ContentType;
            await context.Response.Body.WriteAsync(buffer.WrittenMemory, context.RequestAborted).ConfigureAwait(false);
        }
    }

    private static async Task WriteErrorAsync(HttpContext context, LogsError error)
    {
        context.Response.StatusCode = error.StatusCode;
        context.Response.ContentType = LogsWire.ContentType;
        context.Response.Headers[LambdaHttp.ErrorTypeHeader] = error.Type;
        var buffer = new ArrayBufferWriter<byte>();
        await using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("__type", error.Type);
            writer.WriteString("message", error.Message);
            writer.WriteEndObject();
        }

        await context.Response.Body.WriteAsync(buffer.WrittenMemory, context.RequestAborted).ConfigureAwait(false);
    }

    // ---- Groups ----

    private async Task<LogsError?> CreateLogGroupAsync(LogsRequest request, Utf8JsonWriter writer, CancellationToken cancellationToken)
    {
        var name = request.String("logGroupName");
        var logGroupClass = request.String("logGroupClass");
        if ((request.Error ?? ValidateGroupName(name)) is { } error)
        {
            return error;
        }

        if (logGroupClass is not (null or "STANDARD" or "INFREQUENT_ACCESS" or "DELIVERY"))
        {
            return LogsError.Constraint(logGroupClass, "logGroupClass", "Member must satisfy enum value set: [STANDARD, INFREQUENT_ACCESS, DELIVERY]");
        }

        if (!await store.CreateGroupAsync(name!, cancellationToken).ConfigureAwait(false))
        {
            return new LogsError(LogsWire.ResourceAlreadyExists, LogsWire.GroupExistsMessage);
        }

        WriteEmpty(writer);
        return null;
    }

    private async Task<LogsError?> DeleteLogGroupAsync(LogsRequest request, Utf8JsonWriter writer, CancellationToken cancellationToken)
    {
        var name = request.String("logGroupName");
        if ((request.Error ?? ValidateGroupName(name)) is { } error)
        {
            return error;
        }

        if (!await store.DeleteGroupAsync(name!, cancellationToken).ConfigureAwait(false))
        {
            return LogsError.GroupNotFound;
        }

        WriteEmpty(writer);
        return null;
    }

    private async Task<LogsError?> DescribeLogGroupsAsync(LogsRequest request, Utf8JsonWriter writer, CancellationToken cancellationToken)
    {
        var prefix = request.String("logGroupNamePrefix");
        var pattern = request.String("logGroupNamePattern");
        var token = request.String("nextToken");
        var limit = request.Long("limit");
        if ((request.Error ?? ValidateLimit(limit, LogsWire.MaxDescribeLimit)) is { } error)
        {
            return error;
        }

        if (prefix is not null && pattern is not null)
        {
            return LogsError.Invalid("LogGroupNamePrefix and LogGroupNamePattern are mutually exclusive parameters.");
        }

        if (prefix is not null && ValidateGroupName(prefix, "logGroupNamePrefix") is { } prefixError)
        {
            return prefixError;
        }

        string? after = null;
        if (token is not null && !PageToken.TryDecode(token, out _, out after))
        {
            return LogsError.BadToken;
        }

        var take = (int)(limit ?? LogsWire.MaxDescribeLimit);
        var groups = await store.ListGroupsAsync(prefix, pattern, after, take + 1, cancellationToken).ConfigureAwait(false);
        writer.WriteStartObject();
        writer.WriteStartArray("logGroups");
        foreach (var group in groups.Take(take))
        {
            var arn = LogsWire.GroupArn(_options.Region, _options.AccountId, group.Name);
            writer.WriteStartObject();
            writer.WriteString("logGroupName", group.Name);
            writer.WriteNumber("creationTime", group.CreationTime);
            if (group.RetentionDays is { } days)
            {
                writer.WriteNumber("retentionInDays", days);
            }

            writer.WriteNumber("metricFilterCount", 0);
            writer.WriteString("arn", arn + ":*");
            writer.WriteNumber("storedBytes", group.StoredBytes);
            writer.WriteString("logGroupClass", "STANDARD");
            writer.WriteString("logGroupArn", arn);
            writer.WriteEndObject();
        }

        writer.WriteEndArray();
        if (groups.Count > take)
        {
            writer.WriteString("nextToken", PageToken.Encode(0, groups[take - 1].Name));
        }

        writer.WriteEndObject();
        return null;
    }

    private async Task<LogsError?> PutRetentionPolicyAsync(LogsRequest request, Utf8JsonWriter writer, CancellationToken cancellationToken)
    {
        var name = request.String("logGroupName");
        var days = request.Long("retentionInDays");
        if ((request.Error ?? ValidateGroupName(name)) is { } error)
        {
            return error;
        }

        if (days is null || !LogsWire.RetentionDays.Contains((int)Math.Clamp(days.Value, int.MinValue, int.MaxValue)))
        {
            return LogsError.Constraint(days is { } d ? LogsRequest.Invariant(d) : null, "retentionInDays",
                $"Member must satisfy enum value set: [{string.Join(", ", LogsWire.RetentionDays)}]");
        }

        if (!await store.SetRetentionAsync(name!, (int)days.Value, cancellationToken).ConfigureAwait(false))
        {
            return LogsError.GroupNotFound;
        }

        WriteEmpty(writer);
        return null;
    }

    private async Task<LogsError?> DeleteRetentionPolicyAsync(LogsRequest request, Utf8JsonWriter writer, CancellationToken cancellationToken)
    {
        var name = request.String("logGroupName");
        if ((request.Error ?? ValidateGroupName(name)) is { } error)
        {
            return error;
        }

        if (!await store.SetRetentionAsync(name!, null, cancellationToken).ConfigureAwait(false))
        {
            return LogsError.GroupNotFound;
        }

        WriteEmpty(writer);
        return null;
    }

    // ---- Streams ----

    private async Task<LogsError?> CreateLogStreamAsync(LogsRequest request, Utf8JsonWriter writer, CancellationToken cancellationToken)
    {
        var group = request.String("logGroupName");
        var stream = request.String("logStreamName");
        if ((request.Error ?? ValidateGroupName(group) ?? ValidateStreamName(stream)) is { } error)
        {
            return error;
        }

        switch (await store.CreateStreamAsync(group!, stream!, cancellationToken).ConfigureAwait(false))
        {
            case LogWriteOutcome.GroupMissing:
                return LogsError.GroupNotFound;
            case LogWriteOutcome.AlreadyExists:
                return new LogsError(LogsWire.ResourceAlreadyExists, LogsWire.StreamExistsMessage);
        }

        WriteEmpty(writer);
        return null;
    }

    private async Task<LogsError?> DeleteLogStreamAsync(LogsRequest request, Utf8JsonWriter writer, CancellationToken cancellationToken)
    {
        var group = request.String("logGroupName");
        var stream = request.String("logStreamName");
        if ((request.Error ?? ValidateGroupName(group) ?? ValidateStreamName(stream)) is { } error)
        {
            return error;
        }

        switch (await store.DeleteStreamAsync(group!, stream!, cancellationToken).ConfigureAwait(false))
        {
            case LogWriteOutcome.GroupMissing:
                return LogsError.GroupNotFound;
            case LogWriteOutcome.StreamMissing:
                return LogsError.StreamNotFound;
        }

        WriteEmpty(writer);
        return null;
    }

    private async Task<LogsError?> DescribeLogStreamsAsync(LogsRequest request, Utf8JsonWriter writer, CancellationToken cancellationToken)
    {
        var group = GroupOf(request, out var groupError);
        var prefix = request.String("logStreamNamePrefix");
        var orderBy = request.String("orderBy");
        var descending = request.Bool("descending") ?? false;
        var token = request.String("nextToken");
        var limit = request.Long("limit");
        if ((request.Error ?? groupError ?? ValidateLimit(limit, LogsWire.MaxDescribeLimit)) is { } error)
        {
            return error;
        }

        if (orderBy is not (null or "LogStreamName" or "LastEventTime"))
        {
            return LogsError.Constraint(orderBy, "orderBy", "Member must satisfy enum value set: [LogStreamName, LastEventTime]");
        }

        var byLastEvent = orderBy == "LastEventTime";
        if (byLastEvent && prefix is not null)
        {
            return LogsError.Invalid("Cannot order by LastEventTime with a logStreamNamePrefix.");
        }

        long afterKey = 0;
        string? afterName = null;
        if (token is not null && !PageToken.TryDecode(token, out afterKey, out afterName))
        {
            return LogsError.BadToken;
        }

        if (await store.GetGroupAsync(group!, cancellationToken).ConfigureAwait(false) is null)
        {
            return LogsError.GroupNotFound;
        }

        var take = (int)(limit ?? LogsWire.MaxDescribeLimit);
        var streams = await store.ListStreamsAsync(group!, prefix, byLastEvent, descending, afterKey, afterName, take + 1, cancellationToken).ConfigureAwait(false);
        writer.WriteStartObject();
        writer.WriteStartArray("logStreams");
        foreach (var stream in streams.Take(take))
        {
            writer.WriteStartObject();
            writer.WriteString("logStreamName", stream.Name);
            writer.WriteNumber("creationTime", stream.CreationTime);
            WriteOptional(writer, "firstEventTimestamp", stream.FirstEventTimestamp);
            WriteOptional(writer, "lastEventTimestamp", stream.LastEventTimestamp);
            WriteOptional(writer, "lastIngestionTime", stream.LastIngestionTime);
            writer.WriteString("uploadSequenceToken", SequenceToken());
            writer.WriteString("arn", LogsWire.StreamArn(_options.Region, _options.AccountId, group!, stream.Name));

            // AWS reports 0 for streams since 2019; groups carry the real figure.
            writer.WriteNumber("storedBytes", 0);
            writer.WriteEndObject();
        }

        writer.WriteEndArray();
        if (streams.Count > take)
        {
            var last = streams[take - 1];
            writer.WriteString("nextToken", PageToken.Encode(last.LastEventTimestamp ?? -1, last.Name));
        }

        writer.WriteEndObject();
        return null;
    }

    // ---- Events ----

    private async Task<LogsError?> PutLogEventsAsync(LogsRequest request, Utf8JsonWriter writer, CancellationToken cancellationToken)
    {
        var group = request.String("logGroupName");
        var stream = request.String("logStreamName");
        var events = request.Events("logEvents");
        if ((request.Error ?? ValidateGroupName(group) ?? ValidateStreamName(stream)) is { } error)
        {
            return error;
        }

        if (events is null || events.Count == 0)
        {
            return LogsError.Constraint(events is null ? null : "[]", "logEvents", events is null ? "Member must not be null" : "Member must have length greater than or equal to 1");
        }

        if (events.Count > LogsWire.MaxPutEvents)
        {
            return LogsError.Constraint($"[{events.Count} events]", "logEvents", $"Member must have length less than or equal to {LogsWire.MaxPutEvents}");
        }

        long batchBytes = 0;
        for (var i = 0; i < events.Count; i++)
        {
            var (timestamp, message) = events[i];
            if (timestamp is null || timestamp < 0)
            {
                return LogsError.Constraint(timestamp is { } t ? LogsRequest.Invariant(t) : null, $"logEvents.{i + 1}.member.timestamp",
                    timestamp is null ? "Member must not be null" : "Member must have value greater than or equal to 0");
            }

            if (string.IsNullOrEmpty(message))
            {
                return LogsError.Constraint(message, $"logEvents.{i + 1}.member.message",
                    message is null ? "Member must not be null" : "Member must have length greater than or equal to 1");
            }

            var size = LogStore.EventSize(message);
            if (size - 26 > LogsWire.MaxEventBytes)
            {
                return LogsError.Invalid($"Log event too large: {size} bytes exceeds limit of {LogsWire.MaxEventBytes + 26}");
            }

            batchBytes += size;
        }

        if (batchBytes > LogsWire.MaxPutBatchBytes)
        {
            return LogsError.Invalid($"Upload too large: {batchBytes} bytes exceeds limit of {LogsWire.MaxPutBatchBytes}");
        }

        var earliest = events.Min(e => e.Timestamp!.Value);
        var latest = events.Max(e => e.Timestamp!.Value);
        if (latest - earliest > (long)LogsWire.MaxBatchSpan.TotalMilliseconds)
        {
            return LogsError.Invalid("The batch of log events in a single PutLogEvents request cannot span more than 24 hours.");
        }

        var now = time.GetUtcNow();
        var tooNew = now.Add(LogsWire.MaxFuture).ToUnixTimeMilliseconds();
        var tooOld = now.Subtract(LogsWire.MaxPast).ToUnixTimeMilliseconds();
        var groupRow = await store.GetGroupAsync(group!, cancellationToken).ConfigureAwait(false);
        if (groupRow is null)
        {
            return LogsError.GroupNotFound;
        }

        var expired = groupRow.RetentionDays is { } days ? now.AddDays(-days).ToUnixTimeMilliseconds() : long.MinValue;
        int? tooNewStart = null, tooOldEnd = null, expiredEnd = null;
        var accepted = new List<(long, string)>(events.Count);
        for (var i = 0; i < events.Count; i++)
        {
            var timestamp = events[i].Timestamp!.Value;
            if (timestamp > tooNew)
            {
                tooNewStart ??= i;
            }
            else if (timestamp < tooOld)
            {
                tooOldEnd = i + 1;
            }
            else if (timestamp < expired)
            {
                expiredEnd = i + 1;
            }
            else
            {
                accepted.Add((timestamp, events[i].Message!));
            }
        }

        switch (await store.PutEventsAsync(group!, stream!, accepted, cancellationToken).ConfigureAwait(false))
        {
            case LogWriteOutcome.GroupMissing:
                return LogsError.GroupNotFound;
            case LogWriteOutcome.StreamMissing:
                return LogsError.StreamNotFound;
        }

        writer.WriteStartObject();
        writer.WriteString("nextSequenceToken", SequenceToken());
        if (tooNewStart is not null || tooOldEnd is not null || expiredEnd is not null)
        {
            writer.WriteStartObject("rejectedLogEventsInfo");
            WriteOptional(writer, "tooNewLogEventStartIndex", tooNewStart);
            WriteOptional(writer, "tooOldLogEventEndIndex", tooOldEnd);
            WriteOptional(writer, "expiredLogEventEndIndex", expiredEnd);
            writer.WriteEndObject();
        }

        writer.WriteEndObject();
        return null;
    }

    private async Task<LogsError?> GetLogEventsAsync(LogsRequest request, Utf8JsonWriter writer, CancellationToken cancellationToken)
    {
        var group = GroupOf(request, out var groupError);
        var stream = request.String("logStreamName");
        var startTime = request.Long("startTime");
        var endTime = request.Long("endTime");
        var token = request.String("nextToken");
        var limit = request.Long("limit");
        var startFromHead = request.Bool("startFromHead") ?? false;
        if ((request.Error ?? groupError ?? ValidateStreamName(stream) ?? ValidateLimit(limit, LogsWire.MaxGetEventsLimit)) is { } error)
        {
            return error;
        }

        LogPosition? position = null;
        var forward = startFromHead;
        if (token is not null)
        {
            if (!EventToken.TryDecode(token, out var tokenForward, out var tokenPosition))
            {
                return LogsError.BadToken;
            }

            forward = tokenForward;
            position = tokenPosition;
        }

        switch (await store.StreamExistsAsync(group!, stream!, cancellationToken).ConfigureAwait(false))
        {
            case LogWriteOutcome.GroupMissing:
                return LogsError.GroupNotFound;
            case LogWriteOutcome.StreamMissing:
                return LogsError.StreamNotFound;
        }

        // GetLogEvents' endTime is exclusive.
        var start = startTime ?? 0;
        var end = endTime is { } e ? e - 1 : long.MaxValue;
        var take = (int)(limit ?? LogsWire.MaxGetEventsLimit);
        var events = await store.GetStreamEventsAsync(group!, stream!, start, end,
            forward ? position : null, forward ? null : position, forward, take, cancellationToken).ConfigureAwait(false);
        events = CapBytes(events, keepNewest: !forward);

        var empty = new LogPosition(0, 0);
        var forwardToken = events.Count > 0 ? EventToken.Encode(true, Position(events[^1])) : EventToken.Encode(true, position ?? empty);
        var backwardToken = events.Count > 0 ? EventToken.Encode(false, Position(events[0])) : EventToken.Encode(false, position ?? empty);
        writer.WriteStartObject();
        writer.WriteStartArray("events");
        foreach (var item in events)
        {
            writer.WriteStartObject();
            writer.WriteNumber("timestamp", item.Timestamp);
            writer.WriteString("message", item.Message);
            writer.WriteNumber("ingestionTime", item.IngestionTime);
            writer.WriteEndObject();
        }

        writer.WriteEndArray();
        writer.WriteString("nextForwardToken", forwardToken);
        writer.WriteString("nextBackwardToken", backwardToken);
        writer.WriteEndObject();
        return null;
    }

    private async Task<LogsError?> FilterLogEventsAsync(LogsRequest request, Utf8JsonWriter writer, CancellationToken cancellationToken)
    {
        var group = GroupOf(request, out var groupError);
        var streams = request.Strings("logStreamNames");
        var prefix = request.String("logStreamNamePrefix");
        var startTime = request.Long("startTime");
        var endTime = request.Long("endTime");
        var patternText = request.String("filterPattern");
        var token = request.String("nextToken");
        var limit = request.Long("limit");
        request.Bool("interleaved");
        request.Bool("unmask");
        if ((request.Error ?? groupError ?? ValidateLimit(limit, LogsWire.MaxFilterEventsLimit)) is { } error)
        {
            return error;
        }

        if (streams is not null && prefix is not null)
        {
            return LogsError.Invalid("You cannot specify both LogStreamNames and LogStreamNamePrefix.");
        }

        if (streams is { Count: 0 or > LogsWire.MaxLogStreamNames })
        {
            return LogsError.Constraint($"[{string.Join(", ", streams)}]", "logStreamNames",
                $"Member must have length between 1 and {LogsWire.MaxLogStreamNames}");
        }

        if (patternText is { Length: > LogsWire.MaxFilterPatternLength })
        {
            return LogsError.Constraint(patternText, "filterPattern", $"Member must have length less than or equal to {LogsWire.MaxFilterPatternLength}");
        }

        var pattern = FilterPattern.Parse(patternText, out var patternError);
        if (pattern is null)
        {
            return LogsError.Invalid(patternError!);
        }

        LogPosition? position = null;
        if (token is not null)
        {
            if (!PageToken.TryDecode(token, out var ts, out var id) || !long.TryParse(id, NumberStyles.None, CultureInfo.InvariantCulture, out var eventId))
            {
                return LogsError.BadToken;
            }

            position = new LogPosition(ts, eventId);
        }

        if (await store.GetGroupAsync(group!, cancellationToken).ConfigureAwait(false) is null)
        {
            return LogsError.GroupNotFound;
        }

        var start = startTime ?? 0;
        var end = endTime ?? long.MaxValue;
        var take = (int)(limit ?? LogsWire.MaxFilterEventsLimit);
        var matches = new List<StoredLogEvent>();
        long bytes = 0;
        var scanned = 0;
        LogPosition? resume = null;
        while (true)
        {
            var chunk = await store.FilterEventsAsync(group!, streams, prefix, start, end, position, 1_000, cancellationToken).ConfigureAwait(false);
            var full = false;
            foreach (var item in chunk)
            {
                scanned++;
                if (pattern.Matches(item.Message))
                {
                    var size = LogStore.EventSize(item.Message);
                    if (matches.Count == take || bytes + size > LogsWire.MaxResponseBytes)
                    {
                        // One more match than fits: answer with a token that resumes right before it.
                        full = true;
                        break;
                    }

                    matches.Add(item);
                    bytes += size;
                }

                position = Position(item);
            }

            if (full)
            {
                resume = position;
                break;
            }

            if (chunk.Count < 1_000)
            {
                break;
            }

            if (scanned >= MaxScannedPerFilterCall)
            {
                resume = position;
                break;
            }
        }

        writer.WriteStartObject();
        writer.WriteStartArray("events");
        foreach (var item in matches)
        {
            writer.WriteStartObject();
            writer.WriteString("logStreamName", item.LogStream);
            writer.WriteNumber("timestamp", item.Timestamp);
            writer.WriteString("message", item.Message);
            writer.WriteNumber("ingestionTime", item.IngestionTime);
            writer.WriteString("eventId", LogsRequest.Invariant(item.Id));
            writer.WriteEndObject();
        }

        writer.WriteEndArray();
        writer.WriteStartArray("searchedLogStreams");
        writer.WriteEndArray();
        if (resume is { } next)
        {
            writer.WriteString("nextToken", PageToken.Encode(next.Timestamp, LogsRequest.Invariant(next.Id)));
        }

        writer.WriteEndObject();
        return null;
    }

    // ---- Helpers ----

    private static LogPosition Position(StoredLogEvent item) => new(item.Timestamp, item.Id);

    private static IReadOnlyList<StoredLogEvent> CapBytes(IReadOnlyList<StoredLogEvent> events, bool keepNewest)
    {
        long bytes = 0;
        var count = 0;
        for (var i = 0; i < events.Count; i++)
        {
            var item = events[keepNewest ? events.Count - 1 - i : i];
            bytes += LogStore.EventSize(item.Message);
            if (bytes > LogsWire.MaxResponseBytes)
            {
                break;
            }

            count++;
        }

        return count == events.Count ? events
            : keepNewest ? events.Skip(events.Count - count).ToList()
            : events.Take(count).ToList();
    }

    /// <summary>The group of a request that names it by <c>logGroupName</c> or <c>logGroupIdentifier</c> (a name or an ARN).</summary>
    private static string? GroupOf(LogsRequest request, out LogsError? error)
    {
        var name = request.String("logGroupName");
        var identifier = request.String("logGroupIdentifier");
        if (name is not null && identifier is not null)
        {
            error = LogsError.Invalid("LogGroupName and LogGroupIdentifier are mutually exclusive parameters.");
            return null;
        }

        if (identifier is not null)
        {
            const string marker = ":log-group:";
            var at = identifier.IndexOf(marker, StringComparison.Ordinal);
            name = identifier.StartsWith("arn:", StringComparison.Ordinal) && at >= 0 ? identifier[(at + marker.Length)..] : identifier;
            if (name.EndsWith(":*", StringComparison.Ordinal))
            {
                name = name[..^2];
            }

            error = ValidateGroupName(name, "logGroupIdentifier");
            return name;
        }

        if (name is null)
        {
            error = LogsError.Invalid("Either logGroupName or logGroupIdentifier must be specified.");
            return null;
        }

        error = ValidateGroupName(name);
        return name;
    }

    private static LogsError? ValidateGroupName(string? name, string member = "logGroupName")
    {
        if (name is null)
        {
            return LogsError.Constraint(null, member, "Member must not be null");
        }

        if (name.Length is 0 or > LogsWire.MaxGroupNameLength)
        {
            return LogsError.Constraint(name, member, $"Member must have length between 1 and {LogsWire.MaxGroupNameLength}");
        }

        return LogsWire.GroupNamePattern().IsMatch(name)
            ? null
            : LogsError.Constraint(name, member, @"Member must satisfy regular expression pattern: [\.\-_/#A-Za-z0-9]+");
    }

    private static LogsError? ValidateStreamName(string? name)
    {
        if (name is null)
        {
            return LogsError.Constraint(null, "logStreamName", "Member must not be null");
        }

        if (name.Length is 0 or > LogsWire.MaxStreamNameLength)
        {
            return LogsError.Constraint(name, "logStreamName", $"Member must have length between 1 and {LogsWire.MaxStreamNameLength}");
        }

        return name.AsSpan().IndexOfAny(':', '*') < 0
            ? null
            : LogsError.Constraint(name, "logStreamName", "Member must satisfy regular expression pattern: [^:*]*");
    }

    private static LogsError? ValidateLimit(long? limit, int max) => limit switch
    {
        null => null,
        < 1 => LogsError.Constraint(LogsRequest.Invariant(limit.Value), "limit", "Member must have value greater than or equal to 1"),
        _ when limit > max => LogsError.Constraint(LogsRequest.Invariant(limit.Value), "limit", $"Member must have value less than or equal to {max}"),
        _ => null,
    };

    private static void WriteEmpty(Utf8JsonWriter writer)
    {
        writer.WriteStartObject();
        writer.WriteEndObject();
    }

    private static void WriteOptional(Utf8JsonWriter writer, string name, long? value)
    {
        if (value is { } v)
        {
            writer.WriteNumber(name, v);
        }
    }

    /// <summary>Sequence tokens are ignored since 2023 (PutLogEvents accepts any); this one only looks like AWS's.</summary>
    private string SequenceToken() => time.GetUtcNow().ToUnixTimeMilliseconds().ToString("D20", CultureInfo.InvariantCulture) + "0000000000000000000000000000000000";

    /// <summary>Opaque paging token: a number and a name, base64url-encoded.</summary>
    private static class PageToken
    {
        public static string Encode(long key, string name) =>
            Convert.ToBase64String(Encoding.UTF8.GetBytes(LogsRequest.Invariant(key) + "\n" + name)).TrimEnd('=').Replace('+', '-').Replace('/', '_');

        public static bool TryDecode(string token, out long key, out string? name)
        {
            key = 0;
            name = null;
            try
            {
                var base64 = token.Replace('-', '+').Replace('_', '/');
                base64 += new string('=', (4 - (base64.Length % 4)) % 4);
                var text = Encoding.UTF8.GetString(Convert.FromBase64String(base64));
                var newline = text.IndexOf('\n', StringComparison.Ordinal);
                if (newline < 0 || !long.TryParse(text.AsSpan(0, newline), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out key))
                {
                    return false;
                }

                name = text[(newline + 1)..];
                return true;
            }
            catch (FormatException)
            {
                return false;
            }
        }
    }

    /// <summary>GetLogEvents' tokens, shaped like AWS's: <c>f/</c> or <c>b/</c> and digits (timestamp, event id).</summary>
    private static class EventToken
    {
        public static string Encode(bool forward, LogPosition position) =>
            (forward ? "f/" : "b/") + Math.Max(0, position.Timestamp).ToString("D20", CultureInfo.InvariantCulture)
            + Math.Max(0, position.Id).ToString("D20", CultureInfo.InvariantCulture);

        public static bool TryDecode(string token, out bool forward, out LogPosition position)
        {
            forward = token.StartsWith("f/", StringComparison.Ordinal);
            position = default;
            if ((!forward && !token.StartsWith("b/", StringComparison.Ordinal)) || token.Length != 42
                || !long.TryParse(token.AsSpan(2, 20), NumberStyles.None, CultureInfo.InvariantCulture, out var timestamp)
                || !long.TryParse(token.AsSpan(22, 20), NumberStyles.None, CultureInfo.InvariantCulture, out var id))
            {
                return false;
            }

            position = new LogPosition(timestamp, id);
            return true;
        }
    }
}
