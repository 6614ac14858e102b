using System.Collections.Concurrent;
using System.Threading.Channels;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Nimbus.Functions;
using Nimbus.Storage;

namespace Nimbus.Invocation;

/// <summary>
/// Event (asynchronous) invocations. An event is stored durably (<see cref="IAsyncEventStore"/>) before Invoke
/// answers 202, run in the background with bounded parallelism under the function's concurrency limits, retried
/// as Lambda retries (<see cref="AsyncRetryPolicy"/>, with the function's event invoke config), and deleted only
/// after its final outcome, once its destination record (if any) is itself stored as an event of the destination
/// function. At start-up every stored event runs again: delivery is at least once.
/// </summary>
internal sealed partial class AsyncInvocationQueue(
    Invoker invoker,
    FunctionService functions,
    IAsyncEventStore store,
    IEventInvokeConfigStore configs,
    Events.IEventSourceQueues queues,
    IOptions<NimbusOptions> options,
    TimeProvider time,
    ILogger<AsyncInvocationQueue> logger,
    IEnumerable<IAsyncEventObserver> observers,
    Security.ServiceAuthorization authorization) : BackgroundService
{
    private readonly IAsyncEventObserver[] _observers = [.. observers];

    /// <summary>Most events accepted and not finished: queued, running or waiting to be retried.</summary>
    public const int Capacity = 10_000;

    // Events that are due run from this channel. Every event in it, running or waiting for a retry is in _live
    // (keyed by request id) from acceptance (or restore) until its final outcome; accepts stop at Capacity live
    // events, so the channel, which holds a subset of them, only fills when a restore brought back more.
    private readonly Channel<StoredEvent> _due = Channel.CreateBounded<StoredEvent>(new BoundedChannelOptions(Capacity)
    {
        FullMode = BoundedChannelFullMode.Wait,
        SingleReader = true,
    });

    private readonly ConcurrentDictionary<string, QueuedEvent> _live = new(StringComparer.Ordinal);

    /// <summary>What /metrics reports of a live event: its function, qualifier and when it was accepted.</summary>
    internal readonly record struct QueuedEvent(string FunctionName, string? Qualifier, DateTimeOffset AcceptedAt);

    /// <summary>The events accepted and not finished (queued, running or waiting for a retry), for /metrics.</summary>
    public ICollection<QueuedEvent> LiveEvents => _live.Values;

    /// <summary>Stores the event durably, then queues it. False when the queue is full: the caller answers 429.</summary>
    public async Task<bool> TryEnqueueAsync(InvocationRequest request)
    {
        using var activity = Metrics.NimbusTelemetry.Source.StartActivity(Metrics.NimbusTelemetry.AsyncEnqueueSpan);
        activity?.SetTag("faas.invocation_id", request.RequestId);
        var now = time.GetUtcNow();
        var stored = new StoredEvent(request.RequestId, request.Function.Name, request.Function.Qualifier, request.Payload.ToArray(), now, 0, 0, now)
        {
            TraceHeader = Metrics.LambdaTraceHeader.ForEvent(request.TraceHeader, time),
            TraceParent = activity?.Id,
        };
        if (!await TryAcceptAsync(stored).ConfigureAwait(false))
        {
            return false;
        }

        Observe(AsyncEventMetric.Received, stored, 1);
        return true;
    }

    private void Observe(AsyncEventMetric metric, StoredEvent item, double value)
    {
        foreach (var observer in _observers)
        {
            observer.OnAsyncEvent(metric, item.FunctionName, item.Qualifier, value);
        }
    }

    /// <summary>
    /// Stores and queues an event; <paramref name="evenWhenFull"/> admits a destination record past the capacity,
    /// since it replaces the finishing event it comes from.
    /// </summary>
    private async Task<bool> TryAcceptAsync(StoredEvent stored, bool evenWhenFull = false)
    {
        if ((!evenWhenFull && _live.Count >= Capacity) || !_live.TryAdd(stored.RequestId, new QueuedEvent(stored.FunctionName, stored.Qualifier, stored.AcceptedAt)))
        {
            return false;
        }

        try
        {
            await store.AddAsync(stored, CancellationToken.None).ConfigureAwait(false);
        }
        catch
        {
            _live.TryRemove(stored.RequestId, out _);
            throw;
        }

        // The channel is full only after a restore brought back more than Capacity events. The event is stored by
        // now, so waiting for room happens in the background: a runner holding a slot must never wait on the
        // channel its own reader is blocked behind.
        if (!_due.Writer.TryWrite(stored))
        {
            _ = _due.Writer.WriteAsync(stored).AsTask();
        }

        return true;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var slots = new SemaphoreSlim(Math.Max(1, options.Value.MaxInstances / 2));
        var running = new List<Task>();
        var restore = RestoreAsync(stoppingToken);
        try
        {
            await foreach (var due in _due.Reader.ReadAllAsync(stoppingToken).ConfigureAwait(false))
            {
                await slots.WaitAsync(stoppingToken).ConfigureAwait(false);
                running.RemoveAll(t => t.IsCompleted);
                running.Add(RunAsync(due, slots, stoppingToken));
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }

        await restore.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        await Task.WhenAll(running).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }

    /// <summary>Runs every event a previous run of this node accepted and did not finish.</summary>
    private async Task RestoreAsync(CancellationToken stoppingToken)
    {
        try
        {
            var stored = await store.ListAsync(stoppingToken).ConfigureAwait(false);
            var restored = 0;
            foreach (var item in stored)
            {
                if (_live.TryAdd(item.RequestId, new QueuedEvent(item.FunctionName, item.Qualifier, item.AcceptedAt)))
                {
                    restored++;
                    await ScheduleAsync(item, stoppingToken).ConfigureAwait(false);
                }
            }

            if (restored > 0)
            {
                Log.EventsRestored(logger, restored);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private async Task ScheduleAsync(StoredEvent item, CancellationToken stoppingToken)
    {
        var wait = item.NextAttemptAt - time.GetUtcNow();
        if (wait > TimeSpan.Zero)
        {
            _ = RetryAsync(item, wait, stoppingToken);
        }
        else
        {
            await _due.Writer.WriteAsync(item, stoppingToken).ConfigureAwait(false);
        }
    }

    private async Task RunAsync(StoredEvent item, SemaphoreSlim slots, CancellationToken stoppingToken)
    {
        var finished = true;

        // Every attempt joins the trace of the span that accepted the event (its context is stored with the event).
        using var activity = Metrics.NimbusTelemetry.Source.StartActivity(Metrics.NimbusTelemetry.AsyncRunSpan, System.Diagnostics.ActivityKind.Consumer, item.TraceParent);
        activity?.SetTag("nimbus.attempt", item.InvokeCount + item.ThrottleCount + 1);
        activity?.SetTag("faas.invocation_id", item.RequestId);
        activity?.SetTag("faas.name", item.FunctionName);
        try
        {
            finished = await RunOnceAsync(item, stoppingToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down: the event stays stored and runs again after the restart.
        }
#pragma warning disable CA1031 // One event's unexpected failure must not stop the queue; it is retried as a system error.
        catch (Exception e)
#pragma warning restore CA1031
        {
            Log.EventRunFailed(logger, item.FunctionName, item.RequestId, e);
            finished = !await TryRetryAfterSystemErrorAsync(item, stoppingToken).ConfigureAwait(false);
        }
        finally
        {
            if (finished)
            {
                _live.TryRemove(item.RequestId, out _);
            }

            slots.Release();
        }
    }

    /// <summary>One attempt; true when the event reached its final outcome (or stays stored for the next start).</summary>
    private async Task<bool> RunOnceAsync(StoredEvent item, CancellationToken stoppingToken)
    {
        var config = await configs.GetAsync(item.FunctionName, item.Qualifier ?? FunctionRecord.Latest, stoppingToken).ConfigureAwait(false);
        var maxAge = config?.MaximumEventAgeInSeconds is { } seconds ? TimeSpan.FromSeconds(seconds) : AsyncRetryPolicy.MaxEventAge;
        var now = time.GetUtcNow();
        if (now - item.AcceptedAt > maxAge)
        {
            Log.EventExpired(logger, item.FunctionName, item.InvokeCount + item.ThrottleCount, maxAge.TotalSeconds);
            await FinishAsync(item, config, AsyncOutcome.EventAgeExceeded, null, stoppingToken).ConfigureAwait(false);
            return true;
        }

        Observe(AsyncEventMetric.Age, item, Math.Max(0, (now - item.AcceptedAt).TotalMilliseconds));
        var request = new InvocationRequest(item.RequestId, new FunctionReference(item.FunctionName, item.Qualifier), item.Payload, null, TailLog: false, item.TraceHeader);
        var result = await invoker.InvokeAsync(request, stoppingToken).ConfigureAwait(false);
        switch (result)
        {
            case { Throttle: ConcurrencyThrottle.ReservedConcurrencyIsZero }:
                Log.EventDroppedReservedConcurrencyZero(logger, item.FunctionName);
                await FinishAsync(item, config, AsyncOutcome.RetriesExhausted, null, stoppingToken).ConfigureAwait(false);
                return true;

            case { Throttle: not ConcurrencyThrottle.None }:
                Log.EventThrottled(logger, item.FunctionName, result.Throttle, item.ThrottleCount + 1);
                if (await TryRetryThrottledAsync(item, maxAge, stoppingToken).ConfigureAwait(false))
                {
                    return false;
                }

                Log.EventExpired(logger, item.FunctionName, item.InvokeCount + item.ThrottleCount + 1, maxAge.TotalSeconds);
                await FinishAsync(item with { ThrottleCount = item.ThrottleCount + 1 }, config, AsyncOutcome.EventAgeExceeded, null, stoppingToken).ConfigureAwait(false);
                return true;

            case { Status: InvocationStatus.Rejected, Error.Type: LambdaError.Service }:
                // The node is draining: the event stays stored and runs after the restart.
                return true;

            case { Status: InvocationStatus.Rejected }:
                Log.EventRejected(logger, item.FunctionName, result.Error!.Type);
                Observe(AsyncEventMetric.Dropped, item, 1);
                await store.DeleteAsync(item.RequestId, CancellationToken.None).ConfigureAwait(false);
                return true;

            case { Status: InvocationStatus.Success }:
                await FinishAsync(item with { InvokeCount = item.InvokeCount + 1 }, config, AsyncOutcome.Success, result, stoppingToken).ConfigureAwait(false);
                return true;
        }

        var invoked = item with { InvokeCount = item.InvokeCount + 1 };
        var maxRetries = config?.MaximumRetryAttempts ?? AsyncRetryPolicy.DefaultMaximumRetryAttempts;
        now = time.GetUtcNow();
        var next = AsyncRetryPolicy.NextFunctionErrorAttempt(now, invoked.InvokeCount, maxRetries, options.Value.AsyncRetryDelay);
        if (next is null)
        {
            Log.EventFailed(logger, item.FunctionName, item.RequestId, invoked.InvokeCount, nameof(AsyncOutcome.RetriesExhausted));
            await FinishAsync(invoked, config, AsyncOutcome.RetriesExhausted, result, stoppingToken).ConfigureAwait(false);
            return true;
        }

        if (next.Value - item.AcceptedAt > maxAge)
        {
            Log.EventFailed(logger, item.FunctionName, item.RequestId, invoked.InvokeCount, nameof(AsyncOutcome.EventAgeExceeded));
            await FinishAsync(invoked, config, AsyncOutcome.EventAgeExceeded, result, stoppingToken).ConfigureAwait(false);
            return true;
        }

        Log.EventRetryScheduled(logger, item.FunctionName, item.RequestId, invoked.InvokeCount, (next.Value - now).TotalSeconds);
        invoked = invoked with { NextAttemptAt = next.Value };
        await store.UpdateAsync(invoked, CancellationToken.None).ConfigureAwait(false);
        _ = RetryAsync(invoked, next.Value - now, stoppingToken);
        return false;
    }

    /// <summary>Schedules a throttled attempt again; false when the event would be too old by then.</summary>
    private async Task<bool> TryRetryThrottledAsync(StoredEvent item, TimeSpan maxAge, CancellationToken stoppingToken)
    {
        var throttled = item with { ThrottleCount = item.ThrottleCount + 1 };
        var now = time.GetUtcNow();
        if (AsyncRetryPolicy.NextThrottleAttempt(item.AcceptedAt, now, throttled.ThrottleCount, maxAge) is not { } next)
        {
            return false;
        }

        throttled = throttled with { NextAttemptAt = next };
        await store.UpdateAsync(throttled, CancellationToken.None).ConfigureAwait(false);
        _ = RetryAsync(throttled, next - now, stoppingToken);
        return true;
    }

    /// <summary>
    /// Lambda invokes a function destination as the source function's execution role: the role must allow
    /// <c>lambda:InvokeFunction</c> on the destination, checked at every delivery. Null when it may.
    /// </summary>
    private async Task<string?> InvokeRefusalAsync(StoredEvent item, string destination)
    {
        var function = await functions.GetAsync(new FunctionReference(item.FunctionName, item.Qualifier), CancellationToken.None).ConfigureAwait(false);
        if (function.Value is not { } sender || authorization.CheckRole(sender.Role, Functions.EventInvokeConfigService.InvokeAction, destination).Allowed)
        {
            return null;
        }

        return $"the execution role {sender.Role} is not allowed {Functions.EventInvokeConfigService.InvokeAction} on {destination}: add an Allow for it to the role's policy (./nimbus policy put --role <role> <file>)";
    }

    /// <summary>
    /// The final outcome: the destination record (when the config names a destination for it) is stored as an
    /// event of the destination function first, then the event is deleted, so a crash in between repeats the
    /// record rather than losing it.
    /// </summary>
    private async Task FinishAsync(StoredEvent item, EventInvokeConfigRecord? config, AsyncOutcome outcome, InvocationResult? result, CancellationToken stoppingToken)
    {
        var destination = outcome == AsyncOutcome.Success ? config?.OnSuccess : config?.OnFailure;
        if (destination is not null && IsQueueArn(destination))
        {
            await SendRecordToQueueAsync(item, destination, outcome, result).ConfigureAwait(false);
        }
        else if (destination is not null)
        {
            var target = functions.ParseReference(destination, null);
            if (target.IsError)
            {
                Log.DestinationInvalid(logger, item.FunctionName, destination, target.Error!.Message);
                Observe(AsyncEventMetric.DestinationDeliveryFailure, item, 1);
            }
            else if (await InvokeRefusalAsync(item, destination).ConfigureAwait(false) is { } refusal)
            {
                Log.DestinationNotPermitted(logger, item.FunctionName, item.RequestId, destination, refusal);
                Observe(AsyncEventMetric.DestinationDeliveryFailure, item, 1);
            }
            else
            {
                var now = time.GetUtcNow();
                var functionArn = functions.FunctionArn(item.FunctionName, item.Qualifier ?? FunctionRecord.Latest);
                var record = DestinationRecord.Build(item, functionArn, outcome, result, now);
                var recordEvent = new StoredEvent(Guid.NewGuid().ToString(), target.Value.Name, target.Value.Qualifier, record, now, 0, 0, now)
                {
                    TraceHeader = item.TraceHeader,
                    TraceParent = System.Diagnostics.Activity.Current?.Id,
                };
                await TryAcceptAsync(recordEvent, evenWhenFull: true).ConfigureAwait(false);
                Log.DestinationSent(logger, item.FunctionName, item.RequestId, outcome, target.Value.Name);
            }
        }

        if (outcome != AsyncOutcome.Success)
        {
            Observe(AsyncEventMetric.Dropped, item, 1);
            await SendToDeadLetterQueueAsync(item, result, stoppingToken).ConfigureAwait(false);
        }

        await store.DeleteAsync(item.RequestId, CancellationToken.None).ConfigureAwait(false);
    }

    /// <summary>
    /// An unexpected failure is retried as Lambda retries system errors, until the default maximum age; if even
    /// storing the retry fails, the event stays stored as it was and runs again after a restart.
    /// </summary>
    private async Task<bool> TryRetryAfterSystemErrorAsync(StoredEvent item, CancellationToken stoppingToken)
    {
        try
        {
            return await TryRetryThrottledAsync(item, AsyncRetryPolicy.MaxEventAge, stoppingToken).ConfigureAwait(false);
        }
#pragma warning disable CA1031 // The event is stored as it was; the restart runs it. Nothing else to do here.
        catch (Exception e) when (e is not OperationCanceledException)
#pragma warning restore CA1031
        {
            return false;
        }
    }

    private async Task RetryAsync(StoredEvent item, TimeSpan delay, CancellationToken stoppingToken)
    {
        try
        {
            await Task.Delay(delay, time, stoppingToken).ConfigureAwait(false);
            await _due.Writer.WriteAsync(item, stoppingToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down: the event and its retry state are stored; it runs after the restart.
        }
    }
}
