using Microsoft.Extensions.Logging;

namespace Nimbus.Sandboxes;

/// <summary>
/// Keeps a few runtimes of each shape in demand started and waiting for a function, so a cold start costs a
/// specialization (a mount and one HTTP answer) instead of a process start. The default shapes are kept from
/// the start; any other shape joins when a function needs it and leaves after the idle timeout without demand.
/// Taking a runtime starts its replacement in the background. A shape whose runtimes die before they are used
/// is paused for a while instead of being restarted in a loop.
/// </summary>
internal sealed partial class PrestartPool(
    int perShape,
    Func<PrestartKey, Task<PrestartedRuntime?>> start,
    Func<PrestartedRuntime, Task> stop,
    Func<bool> hasRoom,
    TimeProvider time,
    ILogger logger)
{
    /// <summary>Most shapes kept at once; beyond it the least recently needed one leaves.</summary>
    private const int MaxShapes = 8;

    private static readonly TimeSpan FailurePause = TimeSpan.FromSeconds(30);

    // Guards _shapes and every Shape's fields.
    private readonly Lock _lock = new();
    private readonly Dictionary<PrestartKey, Shape> _shapes = [];
    private volatile bool _stopped;

    /// <summary>Shapes kept from the start and never dropped for want of demand.</summary>
    public void Keep(PrestartKey key)
    {
        lock (_lock)
        {
            ShapeOf(key).Pinned = true;
        }

        Refill(key);
    }

    /// <summary>A runtime of this shape, started or starting, that no function has taken yet; null when none.</summary>
    public PrestartedRuntime? TryTake(PrestartKey key)
    {
        PrestartedRuntime? taken = null;
        lock (_lock)
        {
            var shape = ShapeOf(key);
            shape.LastDemand = time.GetUtcNow();

            // Prefer one that already waits for its function over one still loading.
            var index = shape.Runtimes.FindIndex(r => r.IsWaiting && IsAlive(r));
            if (index < 0)
            {
                index = shape.Runtimes.FindIndex(IsAlive);
            }

            if (index >= 0)
            {
                taken = shape.Runtimes[index];
                shape.Runtimes.RemoveAt(index);
            }
        }

        Refill(key);
        return taken;
    }

    /// <summary>Removes one unused runtime (to free its port and memory for an instance); null when none.</summary>
    public PrestartedRuntime? TryTakeAny()
    {
        lock (_lock)
        {
            foreach (var shape in _shapes.Values)
            {
                if (shape.Runtimes.Count > 0)
                {
                    var victim = shape.Runtimes[^1];
                    shape.Runtimes.RemoveAt(shape.Runtimes.Count - 1);
                    return victim;
                }
            }
        }

        return null;
    }

    /// <summary>Drops shapes nobody needed since <paramref name="cutoff"/>, stopping their runtimes.</summary>
    public void ReapUnused(DateTimeOffset cutoff)
    {
        List<PrestartedRuntime> unused = [];
        lock (_lock)
        {
            foreach (var (key, shape) in _shapes.Where(s => !s.Value.Pinned && s.Value.LastDemand < cutoff).ToList())
            {
                unused.AddRange(shape.Runtimes);
                _shapes.Remove(key);
            }
        }

        foreach (var runtime in unused)
        {
            _ = stop(runtime);
        }
    }

    /// <summary>Starts nothing more and stops every unused runtime.</summary>
    public async Task StopAllAsync()
    {
        _stopped = true;
        List<PrestartedRuntime> all;
        lock (_lock)
        {
            all = [.. _shapes.Values.SelectMany(s => s.Runtimes)];
            foreach (var shape in _shapes.Values)
            {
                shape.Runtimes.Clear();
            }
        }

        await Task.WhenAll(all.Select(stop)).ConfigureAwait(false);
    }

    private void Refill(PrestartKey key)
    {
        while (true)
        {
            lock (_lock)
            {
                if (_stopped || !_shapes.TryGetValue(key, out var shape) || shape.Runtimes.Count + shape.Starting >= perShape
                    || time.GetUtcNow() < shape.PausedUntil || !hasRoom())
                {
                    return;
                }

                shape.Starting++;
            }

            _ = StartOneAsync(key);
        }
    }

    private async Task StartOneAsync(PrestartKey key)
    {
        PrestartedRuntime? runtime = null;
        try
        {
            runtime = await start(key).ConfigureAwait(false);
        }
        finally
        {
            var keep = false;
            lock (_lock)
            {
                if (_shapes.TryGetValue(key, out var shape))
                {
                    shape.Starting--;
                    if (runtime is not null && !_stopped)
                    {
                        shape.Runtimes.Add(runtime);
                        keep = true;
                    }
                }
            }

            if (runtime is not null && !keep)
            {
                await stop(runtime).ConfigureAwait(false);
            }
            else if (runtime?.Sandbox is { } sandbox)
            {
                _ = WatchAsync(runtime, sandbox);
            }
        }
    }

    /// <summary>A runtime that dies before a function takes it leaves the pool, and pauses its shape.</summary>
    private async Task WatchAsync(PrestartedRuntime runtime, ISandbox sandbox)
    {
        var exit = await sandbox.Exited.ConfigureAwait(false);
        if (runtime.IsAssigned)
        {
            return;
        }

        bool removed;
        lock (_lock)
        {
            removed = _shapes.TryGetValue(runtime.Key, out var shape) && shape.Runtimes.Remove(runtime);
            if (removed && !_stopped)
            {
                shape!.PausedUntil = time.GetUtcNow() + FailurePause;
            }
        }

        if (removed)
        {
            if (!_stopped)
            {
                var early = runtime.EarlyOutput();
                Log.PrestartedRuntimeDied(logger, runtime.Key.Family, runtime.Id, early.Length == 0 ? exit.Describe() : $"{exit.Describe()}; it wrote: {early}", FailurePause.TotalSeconds);
            }

            await stop(runtime).ConfigureAwait(false);
        }
    }

    private static bool IsAlive(PrestartedRuntime runtime) => runtime.Sandbox is { Exited.IsCompleted: false };

    private Shape ShapeOf(PrestartKey key)
    {
        if (!_shapes.TryGetValue(key, out var shape))
        {
            if (_shapes.Count >= MaxShapes && _shapes.Where(s => !s.Value.Pinned).MinBy(s => s.Value.LastDemand) is { Value: not null } oldest)
            {
                foreach (var runtime in oldest.Value.Runtimes)
                {
                    _ = stop(runtime);
                }

                _shapes.Remove(oldest.Key);
            }

            shape = new Shape { LastDemand = time.GetUtcNow() };
            _shapes[key] = shape;
        }

        return shape;
    }

    private sealed class Shape
    {
        public List<PrestartedRuntime> Runtimes { get; } = [];

        public int Starting { get; set; }

        public bool Pinned { get; set; }

        public DateTimeOffset LastDemand { get; set; }

        public DateTimeOffset PausedUntil { get; set; }
    }
}
