using Nimbus.Functions;
using Nimbus.Invocation;

namespace Nimbus.Events;

/// <summary>Where a schedule's runs go: the async invocation queue, or a test's recorder.</summary>
internal interface IScheduleDispatcher
{
    /// <summary>
    /// Stores the run's event durably for <paramref name="function"/>; a failure (no such function, the queue is
    /// full) says why, in the target API's error code, so the schedule can retry it or dead-letter it.
    /// </summary>
    Task<ScheduleDelivery> DispatchAsync(string requestId, FunctionReference function, byte[] payload);

    /// <summary>Sends a dead-letter event to an SQS queue; false when there is no such queue.</summary>
    Task<bool> SendDeadLetterAsync(string queueArn, string body, IReadOnlyDictionary<string, string> attributes);
}

/// <summary>The outcome of handing a run to its target: delivered, or the error code and message it failed with.</summary>
internal readonly record struct ScheduleDelivery(string? ErrorCode, string? ErrorMessage)
{
    public static readonly ScheduleDelivery Delivered = new(null, null);

    public bool IsDelivered => ErrorCode is null;

    public static ScheduleDelivery Failed(string code, string message) => new(code, message);
}

/// <summary>
/// Runs go into <see cref="AsyncInvocationQueue"/> (durable before this returns, with Lambda's async retries) once
/// the function is known to exist, as Lambda's Invoke checks before it accepts an <c>Event</c> invocation.
/// </summary>
internal sealed class AsyncQueueDispatcher(AsyncInvocationQueue queue, Invoker invoker, IEventSourceQueues queues) : IScheduleDispatcher
{
    public async Task<ScheduleDelivery> DispatchAsync(string requestId, FunctionReference function, byte[] payload)
    {
        // One span per firing, the parent of the stored event's attempts (and their invocations).
        using var activity = Metrics.NimbusTelemetry.Source.StartActivity(Metrics.NimbusTelemetry.ScheduleFireSpan, System.Diagnostics.ActivityKind.Producer);
        activity?.SetTag("faas.trigger", "timer");
        activity?.SetTag("faas.name", function.Name);
        activity?.SetTag("faas.invocation_id", requestId);
        if (await invoker.CheckAsync(function, CancellationToken.None).ConfigureAwait(false) is { } error)
        {
            return ScheduleDelivery.Failed(error.Type, error.Message);
        }

        return await queue.TryEnqueueAsync(new InvocationRequest(requestId, function, payload, ClientContext: null, TailLog: false)).ConfigureAwait(false)
            ? ScheduleDelivery.Delivered
            : ScheduleDelivery.Failed("TooManyRequestsException", "Rate Exceeded.");
    }

    public Task<bool> SendDeadLetterAsync(string queueArn, string body, IReadOnlyDictionary<string, string> attributes) =>
        queues.SendAsync(
            queueArn,
            body,
            attributes.ToDictionary(a => a.Key, a => new EventSourceMessageAttribute("String", a.Value, null), StringComparer.Ordinal),
            CancellationToken.None);
}
