using Nimbus.Functions;
using Nimbus.Invocation;

namespace Nimbus.Events;

/// <summary>Where a schedule's runs go: the async invocation queue, or a test's recorder.</summary>
internal interface IScheduleDispatcher
{
    /// <summary>Stores the run's event durably; false when it was not accepted (the caller offers it again).</summary>
    Task<bool> DispatchAsync(string requestId, FunctionReference function, byte[] payload);
}

/// <summary>Runs go into <see cref="AsyncInvocationQueue"/>: durable before this returns, with Lambda's async retries.</summary>
internal sealed class AsyncQueueDispatcher(AsyncInvocationQueue queue) : IScheduleDispatcher
{
    public async Task<bool> DispatchAsync(string requestId, FunctionReference function, byte[] payload)
    {
        // One span per firing, the parent of the stored event's attempts (and their invocations).
        using var activity = Metrics.NimbusTelemetry.Source.StartActivity(Metrics.NimbusTelemetry.ScheduleFireSpan, System.Diagnostics.ActivityKind.Producer);
        activity?.SetTag("faas.trigger", "timer");
        activity?.SetTag("faas.name", function.Name);
        activity?.SetTag("faas.invocation_id", requestId);
        return await queue.TryEnqueueAsync(new InvocationRequest(requestId, function, payload, ClientContext: null, TailLog: false)).ConfigureAwait(false);
    }
}
