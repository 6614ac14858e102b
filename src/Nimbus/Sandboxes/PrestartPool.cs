using Microsoft.Extensions.Logging;

namespace Nimbus.Sandboxes;

/// <summary>
/// Keeps runtimes of each shape in demand started and waiting for a function, so a cold start costs a
/// specialization (a mount and one HTTP answer) instead of a process start. The default shapes are kept from
/// the start; any other shape joins when a function needs it and leaves after the idle timeout without demand.
/// <para>
/// Each shape keeps a target depth between its floor (<see cref="NimbusOptions.PrestartPool"/> for the shapes kept deep
/// from the start, one for the others) and the cap
/// (<see cref="NimbusOptions.PrestartPoolMax"/>): a take for a function's first instance that finds no runtime already
/// waiting (the pool was drained faster than it refills) doubles it, and a shape without such a shortfall for <c>shrinkAfter</c> returns to the floor, its
/// extra runtimes stopped. Replacements start as soon as a runtime is taken, at most <c>maxLoading</c> loading at once
/// over all shapes (the sandbox starts them at the lowest CPU weight, so they load on CPU time nothing else wants).
/// A shape whose runtimes die unused <see cref="FailuresBeforePause"/> times in a row is paused for a while instead of
/// being restarted in a loop; a single death only starts the next one.
/// </para>
/// </summary>
internal sealed partial class PrestartPool(
    int floor,
    int cap,
    int maxLoading,
    TimeSpan shrinkAfter,
    Func<PrestartKey, Task<PrestartedRuntime?>> start,
    Func<PrestartedRuntime, Task> stop,
    Func<bool> hasRoom,
    TimeProvider time,
    ILogger logger)
{
    /// <summary>Most shapes kept at once; beyond it the least recently needed one leaves.</summary>
    private const int MaxShapes = 8;

    /// <summary>Runtimes of a shape dying unused in a row (none loading in between) before the shape is paused.</summary>
    internal const int FailuresBeforePause = 3;

    internal static readonly TimeSpan FailurePause = TimeSpan.FromSeconds(30);

    /// <summary>A runtime still loading after this no longer counts against <c>maxLoading</c> (a stuck client must not stop refills).</summary>
    internal static readonly TimeSpan LoadDeadline = TimeSpan.FromSeconds(10);

    // Guards _shapes, _loading, _spawning and every Shape's fields.
    private readonly Lock _lock = new();
    private readonly Dictionary<PrestartKey, Shape> _shapes = [];

    // Runtimes spawned but not yet waiting for a function (nor taken, dead or past LoadDeadline), and spawns in flight.
    private readonly HashSet<PrestartedRuntime> _loading = [];
    private int _spawning;
    private volatile bool _stopped;

    // Cold starts that took a runtime already waiting for its function, one still loading, or found none.
    private long _takesWaiting;
    private long _takesLoading;
    private long _takesNone;

    /// <summary>Cold starts of pre-startable functions so far, by what they found in the pool.</summary>
    public (long Waiting, long Loading, long None) Takes => (Interlocked.Read(ref _takesWaiting), Interlocked.Read(ref _takesLoading), Interlocked.Read(ref _takesNone));

    /// <summary>Every shape's runtimes waiting for a function, loading (or being started), and its target depth.</summary>
    public IReadOnlyList<(PrestartKey Key, int Waiting, int Loading, int Target)> Snapshot()
    {
        lock (_lock)
        {
            return [.. _shapes.Select(s =>
            {
                var waiting = s.Value.Runtimes.Count(r => r.IsWaiting);
                return (s.Key, waiting, s.Value.Runtimes.Count - waiting + s.Value.Starting, s.Value.Target);
            })];
        }
    }

    /// <summary>
    /// Shapes kept from the start and never dropped for want of demand. <paramref name="deep"/>: kept at the floor from the
    /// start; otherwise at one runtime (as a shape that joins on demand), deeper only once its cold starts drain it.
    /// </summary>
    public void Keep(PrestartKey key, bool deep = true)
    {
        lock (_lock)
        {
            var shape = ShapeOf(key);
            shape.Pinned = true;
            shape.Floor = deep ? floor : Math.Min(floor, 1);
            shape.Target = Math.Max(shape.Target, shape.Floor);
        }

        Refill();
    }

    /// <summary>
    /// A runtime of this shape, started or starting, that no function has taken yet; null when none.
    /// <paramref name="mayGrow"/>: a shortfall of this take raises the shape's target (the first instance of a function; a
    /// function scaling out is served by the scale-out rules, not by a deeper pool).
    /// </summary>
    public PrestartedRuntime? TryTake(PrestartKey key, bool mayGrow = true)
    {
        PrestartedRuntime? taken = null;
        var grewTo = 0;
        lock (_lock)
        {
            var known = _shapes.ContainsKey(key);
            var shape = ShapeOf(key);
            var now = time.GetUtcNow();
            shape.LastDemand = now;

            // Prefer one that already waits for its function over one still loading.
            var index = shape.Runtimes.FindIndex(r => r.IsWaiting && IsAlive(r));
            if (index < 0)
            {
                index = shape.Runtimes.FindIndex(IsAlive);

                // Drained faster than it refills: keep more of this shape ready (not on a shape's first demand, which
                // says nothing about the rate).
                if (known && mayGrow)
                {
                    var target = Math.Min(cap, Math.Max(shape.Target + 1, shape.Target * 2));
                    grewTo = target > shape.Target ? target : 0;
                    shape.Target = target;
                    shape.LastShortfall = now;
                }
            }

            if (index >= 0)
            {
                Interlocked.Increment(ref shape.Runtimes[index].IsWaiting ? ref _takesWaiting : ref _takesLoading);
                taken = shape.Runtimes[index];
                shape.Runtimes.RemoveAt(index);
                _loading.Remove(taken);
            }
            else
            {
                Interlocked.Increment(ref _takesNone);
            }
        }

        if (grewTo > 0)
        {
            Log.PoolGrew(logger, key.Family, key.HeapMb, grewTo);
        }

        Refill();
        return taken;
    }

    /// <summary>Removes one unused runtime (to free its port and memory for an instance); null when none.</summary>
    public PrestartedRuntime? TryTakeAny()
    {
        lock (_lock)
        {
            // From the deepest shape, so a grown shape gives back before another loses its last runtime.
            var shape = _shapes.Values.Where(s => s.Runtimes.Count > 0).MaxBy(s => s.Runtimes.Count);
            if (shape is null)
            {
                return null;
            }

            var victim = shape.Runtimes[^1];
            shape.Runtimes.RemoveAt(shape.Runtimes.Count - 1);
            _loading.Remove(victim);
            return victim;
        }
    }

    /// <summary>
    /// Drops shapes nobody needed since <paramref name="cutoff"/>, stopping their runtimes, and returns shapes without a
    /// shortfall for <c>shrinkAfter</c> to the floor.
    /// </summary>
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

            var now = time.GetUtcNow();
            foreach (var (key, shape) in _shapes)
            {
                if (shape.Target > shape.Floor && now - shape.LastShortfall >= shrinkAfter)
                {
                    Log.PoolShrunk(logger, key.Family, key.HeapMb, shape.Target, shape.Floor);
                    shape.Target = shape.Floor;
                }

                // The most recently started first: they are the ones most likely still loading.
                while (shape.Runtimes.Count > shape.Target)
                {
                    unused.Add(shape.Runtimes[^1]);
                    shape.Runtimes.RemoveAt(shape.Runtimes.Count - 1);
                }
            }

            foreach (var runtime in unused)
            {
                _loading.Remove(runtime);
            }
        }

        foreach (var runtime in unused)
        {
            _ = stop(runtime);
        }

        Refill();
    }

    /// <summary>How many runtimes of the shape are kept (started or starting), and its current target depth.</summary>
    public (int Kept, int Target) StatusOf(PrestartKey key)
    {
        lock (_lock)
        {
            return _shapes.TryGetValue(key, out var shape) ? (shape.Runtimes.Count + shape.Starting, shape.Target) : (0, 0);
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

            _loading.Clear();
        }

        await Task.WhenAll(all.Select(stop)).ConfigureAwait(false);
    }

    /// <summary>
    /// Starts runtimes for the shapes below their target, the most recently needed first, while fewer than <c>maxLoading</c>
    /// are spawning or loading and the node has room. Takes, loads and deaths call it; the manager calls it too when room
    /// comes back (an instance stopped and returned its Runtime API slot), which nothing in the pool would notice.
    /// </summary>
    public void Refill()
    {
        while (true)
        {
            PrestartKey key;
            lock (_lock)
            {
                if (_stopped || _spawning + _loading.Count >= maxLoading)
                {
                    return;
                }

                var now = time.GetUtcNow();
                Shape? neediest = null;
                var neediestKey = default(PrestartKey);
                foreach (var (candidate, shape) in _shapes)
                {
                    // The shape needed most recently first (the one cold starts are draining now), then the furthest below.
                    var deficit = shape.Target - shape.Runtimes.Count - shape.Starting;
                    if (deficit > 0 && now >= shape.PausedUntil
                        && (neediest is null || shape.LastDemand > neediest.LastDemand
                            || (shape.LastDemand == neediest.LastDemand && deficit > neediest.Target - neediest.Runtimes.Count - neediest.Starting)))
                    {
                        neediest = shape;
                        neediestKey = candidate;
                    }
                }

                if (neediest is null || !hasRoom())
                {
                    return;
                }

                neediest.Starting++;
                _spawning++;
                key = neediestKey;
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
                _spawning--;
                if (_shapes.TryGetValue(key, out var shape))
                {
                    shape.Starting--;
                    if (runtime is not null && !_stopped)
                    {
                        shape.Runtimes.Add(runtime);
                        if (!runtime.IsWaiting)
                        {
                            _loading.Add(runtime);
                        }

                        keep = true;
                    }
                    else if (runtime is null && !_stopped)
                    {
                        // A start that failed (no port, no sandbox): counted as a death, so a shape that cannot start pauses.
                        RecordFailure(shape);
                    }
                }
            }

            if (runtime is not null && !keep)
            {
                await stop(runtime).ConfigureAwait(false);
            }
            else if (runtime?.Sandbox is { } sandbox)
            {
                _ = WatchLoadingAsync(runtime, sandbox);
                _ = WatchAsync(runtime, sandbox);
            }
        }
    }

    /// <summary>When the runtime has loaded (or died, or passed <see cref="LoadDeadline"/>), it stops counting as loading.</summary>
    private async Task WatchLoadingAsync(PrestartedRuntime runtime, ISandbox sandbox)
    {
        using var deadline = new CancellationTokenSource(LoadDeadline, time);
        await Task.WhenAny(runtime.Loaded, sandbox.Exited, Task.Delay(Timeout.InfiniteTimeSpan, deadline.Token)).ConfigureAwait(false);
        lock (_lock)
        {
            _loading.Remove(runtime);
            if (runtime.IsWaiting && _shapes.TryGetValue(runtime.Key, out var shape))
            {
                shape.Failures = 0;
            }
        }

        Refill();
    }

    /// <summary>A runtime that dies before a function takes it leaves the pool; repeated deaths pause its shape.</summary>
    private async Task WatchAsync(PrestartedRuntime runtime, ISandbox sandbox)
    {
        var exit = await sandbox.Exited.ConfigureAwait(false);
        if (runtime.IsAssigned)
        {
            return;
        }

        bool removed;
        var paused = false;
        lock (_lock)
        {
            removed = _shapes.TryGetValue(runtime.Key, out var shape) && shape.Runtimes.Remove(runtime);
            _loading.Remove(runtime);
            if (removed && !_stopped)
            {
                paused = RecordFailure(shape!);
            }
        }

        if (removed)
        {
            if (!_stopped)
            {
                var output = runtime.RecentOutput() is { Length: > 0 } lines ? lines : "no output";
                if (paused)
                {
                    Log.PrestartedRuntimeDied(logger, runtime.Key.Family, runtime.Id, exit.Describe(), FailuresBeforePause, FailurePause.TotalSeconds, output);
                }
                else
                {
                    Log.PrestartedRuntimeDiedOnce(logger, runtime.Key.Family, runtime.Id, exit.Describe(), output);
                }
            }

            await stop(runtime).ConfigureAwait(false);
            Refill();
        }
    }

    /// <summary>Counts a death of the shape's runtimes; true when it pauses the shape. Call under the lock.</summary>
    private bool RecordFailure(Shape shape)
    {
        if (++shape.Failures < FailuresBeforePause)
        {
            return false;
        }

        shape.Failures = 0;
        shape.PausedUntil = time.GetUtcNow() + FailurePause;
        return true;
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
                    _loading.Remove(runtime);
                    _ = stop(runtime);
                }

                _shapes.Remove(oldest.Key);
            }

            // A shape joining on demand starts at one runtime: how many it needs shows in how fast it is drained.
            var start = Math.Min(floor, 1);
            shape = new Shape { LastDemand = time.GetUtcNow(), Floor = start, Target = start };
            _shapes[key] = shape;
        }

        return shape;
    }

    private sealed class Shape
    {
        public List<PrestartedRuntime> Runtimes { get; } = [];

        public int Starting { get; set; }

        public bool Pinned { get; set; }

        /// <summary>Runtimes this shape keeps when nothing drains it.</summary>
        public int Floor { get; set; }

        /// <summary>Runtimes this shape keeps: the floor, raised by shortfalls up to the cap.</summary>
        public int Target { get; set; }

        public DateTimeOffset LastDemand { get; set; }

        public DateTimeOffset LastShortfall { get; set; }

        public DateTimeOffset PausedUntil { get; set; }

        /// <summary>Runtimes that died unused (or failed to start) since one last loaded.</summary>
        public int Failures { get; set; }
    }
}
