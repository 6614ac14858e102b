using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Nimbus.Functions;
using Nimbus.Invocation;
using Nimbus.Storage;

namespace Nimbus.Events;

/// <summary>
/// Runs the pollers of the SQS event source mappings. One loop owns <see cref="_pollers"/>: at start-up it settles
/// every stored mapping (states a crash left transient included) and starts the enabled ones; afterwards it applies
/// each change the control plane signals, in order: stop the mapping's poller (no new receives, batches in flight
/// finish, received messages not yet run are made visible again), then start it with the new settings or drop it,
/// and store the settled state. At shutdown every poller stops the same way.
/// </summary>
internal sealed partial class QueuePollers(
    IEventSourceMappingStore store,
    EventSourceMappingChanges changes,
    IEventSourceQueues queues,
    Invoker invoker,
    IOptions<NimbusOptions> options,
    TimeProvider time,
    ILogger<QueuePollers> logger,
    PollerPermissions? permissions = null) : BackgroundService
{
    // Owned by ExecuteAsync's loop; read (as a snapshot) by Backlogs.
    private readonly Dictionary<string, MappingPoller> _pollers = new(StringComparer.Ordinal);
    private readonly Lock _pollersLock = new();

    /// <summary>The metrics seam: per running mapping, its queue's last seen backlog and the batches it runs at once.</summary>
    public IReadOnlyList<MappingBacklog> Backlogs()
    {
        lock (_pollersLock)
        {
            return [.. _pollers.Values.Select(p => new MappingBacklog(p.Record.Uuid, p.Record.FunctionName, p.Record.EventSourceArn, p.LastBacklog, p.Workers))];
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            foreach (var mapping in await store.ListAsync(stoppingToken).ConfigureAwait(false))
            {
                await ApplyAsync(mapping.Uuid, stoppingToken).ConfigureAwait(false);
            }

            await foreach (var uuid in changes.Reader.ReadAllAsync(stoppingToken).ConfigureAwait(false))
            {
                await ApplyAsync(uuid, stoppingToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            MappingPoller[] running;
            lock (_pollersLock)
            {
                running = [.. _pollers.Values];
                _pollers.Clear();
            }

            await Task.WhenAll(running.Select(p => p.StopAsync())).ConfigureAwait(false);
            foreach (var poller in running)
            {
                poller.Dispose();
            }
        }
    }

    private async Task ApplyAsync(string uuid, CancellationToken stoppingToken)
    {
        MappingPoller? old;
        lock (_pollersLock)
        {
            _pollers.Remove(uuid, out old);
        }

        if (old is not null)
        {
            await old.StopAsync().ConfigureAwait(false);
            old.Dispose();
            permissions?.Forget(uuid);
            Log.PollerStopped(logger, uuid);
        }

        var record = await store.GetAsync(uuid, stoppingToken).ConfigureAwait(false);
        if (record is null)
        {
            return;
        }

        if (record.State == EventSourceMappingStates.Deleting)
        {
            await store.DeleteAsync(uuid, CancellationToken.None).ConfigureAwait(false);
            Log.MappingDeleted(logger, uuid);
            return;
        }

        var settled = record with { State = record.Enabled ? EventSourceMappingStates.Enabled : EventSourceMappingStates.Disabled };
        if (record.Enabled)
        {
            var queue = await queues.FindAsync(record.EventSourceArn, stoppingToken).ConfigureAwait(false);
            var poller = new MappingPoller(settled, queue, queues, invoker, options.Value, time, logger, permissions);
            lock (_pollersLock)
            {
                _pollers[uuid] = poller;
            }

            poller.Start();
            Log.PollerStarted(logger, uuid, record.EventSourceArn, record.FunctionName);
        }

        // A change made meanwhile is queued behind this one and settles the record again.
        if (settled != record)
        {
            await store.UpdateIfUnchangedAsync(record, settled, CancellationToken.None).ConfigureAwait(false);
        }
    }
}

/// <summary>One running mapping's figures for metrics.</summary>
internal sealed record MappingBacklog(string Uuid, string FunctionName, string EventSourceArn, long Backlog, int ConcurrentBatches);
