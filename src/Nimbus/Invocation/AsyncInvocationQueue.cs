using System.Threading.Channels;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Nimbus.Invocation;

/// <summary>
/// Event (asynchronous) invocations: accepted into a bounded in-memory queue and run in the background with
/// bounded parallelism. Not yet durable: a crash loses queued events (durability is a later milestone).
/// </summary>
internal sealed partial class AsyncInvocationQueue(Invoker invoker, IOptions<NimbusOptions> options, ILogger<AsyncInvocationQueue> logger) : BackgroundService
{
    private readonly Channel<InvocationRequest> _queue = Channel.CreateBounded<InvocationRequest>(new BoundedChannelOptions(10_000)
    {
        FullMode = BoundedChannelFullMode.Wait,
        SingleReader = true,
    });

    /// <summary>False when the queue is full: the caller answers 429.</summary>
    public bool TryEnqueue(InvocationRequest request) => _queue.Writer.TryWrite(request);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var slots = new SemaphoreSlim(Math.Max(1, options.Value.MaxInstances / 2));
        var running = new List<Task>();
        try
        {
            await foreach (var request in _queue.Reader.ReadAllAsync(stoppingToken).ConfigureAwait(false))
            {
                await slots.WaitAsync(stoppingToken).ConfigureAwait(false);
                running.RemoveAll(t => t.IsCompleted);
                running.Add(RunAsync(request, slots, stoppingToken));
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }

        await Task.WhenAll(running).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }

    private async Task RunAsync(InvocationRequest request, SemaphoreSlim slots, CancellationToken stoppingToken)
    {
        try
        {
            var result = await invoker.InvokeAsync(request, stoppingToken).ConfigureAwait(false);
            if (result.Status == InvocationStatus.Rejected)
            {
                Log.EventRejected(logger, request.Function.Name, result.Error!.Type);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            slots.Release();
        }
    }
}
