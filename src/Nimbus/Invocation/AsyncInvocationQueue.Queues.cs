using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Nimbus.Events;
using Nimbus.Functions;
using Nimbus.Storage;

namespace Nimbus.Invocation;

/// <summary>
/// Queue targets of an event's final outcome: an SQS destination gets the destination record as its message body,
/// the function's dead-letter queue gets the original event with Lambda's attributes (<c>RequestID</c>,
/// <c>ErrorCode</c>, <c>ErrorMessage</c>). Both are sent (durably, by the queue service) before the event is deleted,
/// so a crash in between repeats them rather than losing them.
/// </summary>
internal sealed partial class AsyncInvocationQueue
{
    /// <summary>Lambda cuts a dead letter's <c>ErrorMessage</c> attribute to 1 KB.</summary>
    public const int MaxDeadLetterErrorMessageBytes = 1024;

    public const string RequestIdAttribute = "RequestID";
    public const string ErrorCodeAttribute = "ErrorCode";
    public const string ErrorMessageAttribute = "ErrorMessage";

    private static bool IsQueueArn(string arn) => arn.StartsWith("arn:aws:sqs:", StringComparison.Ordinal);

    private async Task SendRecordToQueueAsync(StoredEvent item, string queueArn, AsyncOutcome outcome, InvocationResult? result)
    {
        var functionArn = functions.FunctionArn(item.FunctionName, item.Qualifier ?? FunctionRecord.Latest);
        var function = await functions.GetAsync(new FunctionReference(item.FunctionName, item.Qualifier), CancellationToken.None).ConfigureAwait(false);
        if (function.Value is { } sender && SendRefusal(sender.Role, queueArn) is { } refusal)
        {
            Log.QueueDeliveryNotPermitted(logger, item.FunctionName, item.RequestId, queueArn, refusal);
            Observe(AsyncEventMetric.DestinationDeliveryFailure, item, 1);
            return;
        }

        var record = DestinationRecord.Build(item, functionArn, outcome, result, time.GetUtcNow());
        var sent = await queues.SendAsync(queueArn, Encoding.UTF8.GetString(record), new Dictionary<string, EventSourceMessageAttribute>(), CancellationToken.None, QueueTraceHeader(item)).ConfigureAwait(false);
        if (sent)
        {
            Log.DestinationSentToQueue(logger, item.FunctionName, item.RequestId, outcome, queueArn);
        }
        else
        {
            Log.QueueTargetMissing(logger, item.FunctionName, item.RequestId, queueArn);
            Observe(AsyncEventMetric.DestinationDeliveryFailure, item, 1);
        }
    }

    private async Task SendToDeadLetterQueueAsync(StoredEvent item, InvocationResult? result, CancellationToken stoppingToken)
    {
        var function = await functions.GetAsync(new FunctionReference(item.FunctionName, item.Qualifier), stoppingToken).ConfigureAwait(false);
        if (function.Value?.DeadLetterTargetArn is not { } queueArn)
        {
            return;
        }

        if (SendRefusal(function.Value.Role, queueArn) is { } refusal)
        {
            Log.QueueDeliveryNotPermitted(logger, item.FunctionName, item.RequestId, queueArn, refusal);
            Observe(AsyncEventMetric.DeadLetterError, item, 1);
            return;
        }

        var (code, message) = DeadLetterError(result);
        var attributes = new Dictionary<string, EventSourceMessageAttribute>(StringComparer.Ordinal)
        {
            [RequestIdAttribute] = new("String", item.RequestId, null),
            [ErrorCodeAttribute] = new("Number", code.ToString(CultureInfo.InvariantCulture), null),
            [ErrorMessageAttribute] = new("String", message, null),
        };
        var body = item.Payload.Length == 0 ? "{}" : Encoding.UTF8.GetString(item.Payload);
        if (await queues.SendAsync(queueArn, body, attributes, CancellationToken.None, QueueTraceHeader(item)).ConfigureAwait(false))
        {
            Log.DeadLetterSent(logger, item.FunctionName, item.RequestId, queueArn);
        }
        else
        {
            Log.QueueTargetMissing(logger, item.FunctionName, item.RequestId, queueArn);
            Observe(AsyncEventMetric.DeadLetterError, item, 1);
        }
    }

    /// <summary>
    /// Lambda sends to a dead-letter queue or a queue destination as the function's execution role: the role's policy
    /// must allow <c>sqs:SendMessage</c> on the queue and the queue's policy must not deny it, checked at every delivery
    /// as on AWS (the role may have lost the permission since the config was put). Null when it may send.
    /// </summary>
    private string? SendRefusal(string roleArn, string queueArn) =>
        Queues.QueueSendPermission.Refusal(authorization, queues.PolicyOf(queueArn), roleArn, queueArn, options.Value, time.GetUtcNow());

    /// <summary>
    /// The <c>AWSTraceHeader</c> of a message Nimbus sends for an event: the event's Root and Sampled with a Parent of
    /// its own, so a queue mapping (or any X-Ray-aware reader) of that queue continues the event's trace.
    /// </summary>
    private string? QueueTraceHeader(StoredEvent item) =>
        item.TraceHeader is null ? null : Metrics.LambdaTraceHeader.ForFunction(item.TraceHeader, time);

    /// <summary>
    /// The dead letter's error: 200 and the function's <c>errorMessage</c> after function errors (the invoke itself
    /// succeeded, as on Lambda); 429 when the event aged out while throttled.
    /// </summary>
    private static (int Code, string Message) DeadLetterError(InvocationResult? result)
    {
        if (result is null)
        {
            return (429, "The event was throttled until it exceeded its maximum age.");
        }

        var message = Encoding.UTF8.GetString(result.Payload);
        try
        {
            using var error = JsonDocument.Parse(result.Payload);
            if (error.RootElement.ValueKind == JsonValueKind.Object && error.RootElement.TryGetProperty("errorMessage", out var text) && text.ValueKind == JsonValueKind.String)
            {
                message = text.GetString()!;
            }
        }
        catch (JsonException)
        {
            // Not JSON: the raw payload is the message.
        }

        while (Encoding.UTF8.GetByteCount(message) > MaxDeadLetterErrorMessageBytes)
        {
            message = message[..^Math.Max(1, (Encoding.UTF8.GetByteCount(message) - MaxDeadLetterErrorMessageBytes) / 4)];
        }

        return (200, message.Length == 0 ? "Unhandled" : message);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 3020, EventName = "DestinationSentToQueue", Level = LogLevel.Information,
            Message = "The {Outcome} record of {FunctionName} event {RequestId} went to the queue {QueueArn}.")]
        public static partial void DestinationSentToQueue(ILogger logger, string functionName, string requestId, AsyncOutcome outcome, string queueArn);

        [LoggerMessage(EventId = 3021, EventName = "DeadLetterSent", Level = LogLevel.Information,
            Message = "{FunctionName} event {RequestId} went to its dead-letter queue {QueueArn}.")]
        public static partial void DeadLetterSent(ILogger logger, string functionName, string requestId, string queueArn);

        [LoggerMessage(EventId = 3022, EventName = "QueueTargetMissing", Level = LogLevel.Warning,
            Message = "{FunctionName} event {RequestId}: the queue {QueueArn} does not exist any more; its record is dropped.")]
        public static partial void QueueTargetMissing(ILogger logger, string functionName, string requestId, string queueArn);

        // From the Queues range (6110-6129) given to queue policy checks; see QueueNotificationTarget.Log.cs.
        [LoggerMessage(EventId = 6120, EventName = "QueueDeliveryNotPermitted", Level = LogLevel.Warning,
            Message = "{FunctionName} event {RequestId}: its record for the queue {QueueArn} is dropped because {Reason}. Deliveries resume once it may send.")]
        public static partial void QueueDeliveryNotPermitted(ILogger logger, string functionName, string requestId, string queueArn, string reason);
    }
}
