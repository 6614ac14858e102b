using System.Threading.Channels;

namespace Nimbus.Storage;

/// <summary>
/// The loop of a background writer (logs.db, metrics.db) on a dedicated long-lived thread of its own, reading the
/// writer's bounded channel: while the channel is empty the thread blocks; once an item is there it lets items gather
/// for <c>window</c> (the thread sleeps: no timer, no thread-pool work item, no pool worker woken or held by a
/// batch's synchronous SQLite work), then hands up to <c>batchSize</c> of them to <c>write</c> in the order they came,
/// and calls <c>between</c> after each batch. Under steady load the channel never runs empty, so the writers' side of
/// the invoke path is a lock-protected enqueue and nothing else. On stop it writes everything still queued, in batches
/// of at most <c>batchSize</c>, before the task <see cref="Run"/> returned completes.
/// </summary>
/// <remarks>
/// The window is wall-clock time (the thread sleeps on the stopping token's wait handle, so a stop cuts it short),
/// not the injected <see cref="TimeProvider"/>: it only paces batching, never decides an outcome.
/// </remarks>
internal sealed class BatchingThread<T>(string name, ChannelReader<T> reader, int batchSize, TimeSpan window, Action<List<T>> write, Action? between = null)
{
    /// <summary>Starts the thread; the task completes once it has written what was queued when <paramref name="stoppingToken"/> fired.</summary>
    public Task Run(CancellationToken stoppingToken)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var thread = new Thread(() =>
        {
            try
            {
                Loop(stoppingToken);
                done.TrySetResult();
            }
            catch (Exception e)
            {
                done.TrySetException(e);
            }
        })
        {
            IsBackground = true,
            Name = name,
        };
        thread.Start();
        return done.Task;
    }

    private void Loop(CancellationToken stoppingToken)
    {
        var batch = new List<T>(batchSize);
        try
        {
            while (true)
            {
                if (reader.Count == 0)
                {
                    // Idle: block until a writer's item wakes us (one pool work item per idle-to-busy change), or stop.
                    var wait = reader.WaitToReadAsync(stoppingToken);
                    if (!(wait.IsCompleted ? wait.Result : wait.AsTask().GetAwaiter().GetResult()))
                    {
                        return;
                    }
                }

                if (reader.Count < batchSize)
                {
                    stoppingToken.WaitHandle.WaitOne(window);
                }

                while (batch.Count < batchSize && reader.TryRead(out var item))
                {
                    batch.Add(item);
                }

                if (batch.Count > 0)
                {
                    write(batch);
                    batch.Clear();
                }

                stoppingToken.ThrowIfCancellationRequested();
                between?.Invoke();
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down: write what is already queued so no accepted item is lost.
            batch.Clear();
            while (reader.TryRead(out var item))
            {
                batch.Add(item);
                if (batch.Count == batchSize)
                {
                    write(batch);
                    batch.Clear();
                }
            }

            if (batch.Count > 0)
            {
                write(batch);
            }
        }
    }
}
