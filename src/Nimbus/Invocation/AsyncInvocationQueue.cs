using System.Threading.Channels;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Nimbus.Invocation;

/// <summary>
/// Event (asynchronous) invocations: accepted into a bounded in-memory queue and run in the background with
/// bounded parallelism. A throttled event stays accepted and is tried again with backoff (<see cref="AsyncRetryPolicy"/>),
/// except when the function's reserved concurrency is 0: then it is dropped with a warning (the failure destination
/// comes later). Not yet durable: a crash loses queued events (durability is a later milestone).
/// </summary>
internal sealed partial class AsyncInvocationQueue(
    Invoker invoker,
    IOptions<NimbusOptions> options,
    TimeProvider time,
    ILogger<AsyncInvocationQueue> logger) : BackgroundService
{
    /// <summary>Most events accepted and not finished: queued, running or waiting to be retried.</summary>
    public const int Capacity = 10_000;

    // _accepted counts every event from TryEnqueue until it ends (ran, dropped or expired). It never exceeds
    // Capacity, so the channel, which holds a subset of those events, never fills and a retry always fits back in.
    private readonly Channel<QueuedEvent> _queue = Channel.CreateBounded<QueuedEvent>(new BoundedChannelOptions(Capacity)
    {
        FullMode = BoundedChannelFullMode.Wait,
        SingleReader = true,
    });

    private int _accepted;

    /// <summary>False when the queue is full: the caller answers 429.</summary>
    public bool TryEnqueue(InvocationRequest request)
    {
        if (Interlocked.Increment(ref _accepted) > Capacity)
        {
            Interlocked.Decrement(ref _accepted);
            return false;
        }

        if (!_queue.Writer.TryWrite(new QueuedEvent(request, time.GetUtcNow(), ThrottledAttempts: 0)))
        {
            Interlocked.Decrement(ref _accepted);
            return false;
        }

        return true;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var slots = new SemaphoreSlim(Math.Max(1, options.Value.MaxInstances / 2));
        var running = new List<Task>();
        try
        {
            await foreach (var queued in _queue.Reader.ReadAllAsync(stoppingToken).ConfigureAwait(false))
            {
                await slots.WaitAsync(stoppingToken).ConfigureAwait(false);
                running.RemoveAll(t => t.IsCompleted);
                running.Add(RunAsync(queued, slots, stoppingToken));
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }

        await Task.WhenAll(running).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }

    private async Task RunAsync(QueuedEvent queued, SemaphoreSlim slots, CancellationToken stoppingToken)
    {
        var finished = true;
        try
        {
            var request = queued.Request;
            var result = await invoker.InvokeAsync(request, stoppingToken).ConfigureAwait(false);
            switch (result)
            {
                case { Throttle: ConcurrencyThrottle.ReservedConcurrencyIsZero }:
                    Log.EventDroppedReservedConcurrencyZero(logger, request.Function.Name);
                    break;
                case { Throttle: not ConcurrencyThrottle.None }:
                    var attempts = queued.ThrottledAttempts + 1;
                    var now = time.GetUtcNow();
                    if (AsyncRetryPolicy.NextThrottleAttempt(queued.AcceptedAt, now, attempts) is { } next)
                    {
                        Log.EventThrottled(logger, request.Function.Name, result.Throttle, attempts, (next - now).TotalSeconds);
                        finished = false;
                        _ = RetryAsync(queued with { ThrottledAttempts = attempts }, next - now, stoppingToken);
                    }
                    else
                    {
                        Log.EventExpired(logger, request.Function.Name, attempts, AsyncRetryPolicy.MaxEventAge.TotalHours);
                    }

                    break;
                case { Status: InvocationStatus.Rejected }:
                    Log.EventRejected(logger, request.Function.Name, result.Error!.Type);
                    break;
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            if (finished)
            {
                Interlocked.Decrement(ref _accepted);
            }

            slots.Release();
        }
    }

    private async Task RetryAsync(QueuedEvent queued, TimeSpan delay, CancellationToken stoppingToken)
    {
        try
        {
            await Task.Delay(delay, time, stoppingToken).ConfigureAwait(false);
            await _queue.Writer.WriteAsync(queued, stoppingToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down: the event is lost, as every queued event is until the queue is durable.
        }
    }

    /// <summary>An accepted event: when it was accepted (its age bounds the retries) and how often it was throttled.</summary>
    private sealed record QueuedEvent(InvocationRequest Request, DateTimeOffset AcceptedAt, int ThrottledAttempts);
}
