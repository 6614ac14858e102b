using Microsoft.Extensions.Logging;
using Nimbus.Functions;

namespace Nimbus.Sandboxes;

/// <summary>
/// Warm instances of one function version at one revision. Idle instances are reused newest-first (the
/// warmest caches); when all are busy a new one starts, until the node's Runtime API ports run out. A retired
/// pool (the function changed or was deleted) starts nothing new and stops instances as they come back.
/// </summary>
internal sealed partial class SandboxPool(FunctionRecord function, SandboxManager manager, ILogger logger)
{
    private static readonly TimeSpan AdmissionPoll = TimeSpan.FromMilliseconds(20);

    /// <summary>The longest a caller is held back before any instance of its pool finished its init: a node cold start or two on a busy node.</summary>
    private static readonly TimeSpan UnknownColdStart = TimeSpan.FromSeconds(3);

    /// <summary>The longest a caller is held back, however slow its pool's cold starts.</summary>
    private static readonly TimeSpan MaxHoldBack = TimeSpan.FromSeconds(5);

    private readonly Lock _lock = new();
    private readonly Stack<SandboxInstance> _idle = new();
    private readonly HashSet<SandboxInstance> _all = [];
    private bool _retired;

    // Callers waiting for an instance of this pool, oldest first, under _lock: a released instance goes to the first
    // one still waiting (decided on the releasing thread), so no caller is starved by others whose instances keep
    // coming back. A waiter leaves the queue's count under _lock (handed an instance, withdrawn by its caller, or woken
    // to decide again) and its task is completed after the lock is left; Release skips the ones no longer waiting.
    // _waiting counts the waiters still waiting.
    private readonly Queue<Waiter> _waiters = new();
    private int _waiting;

    // Hysteresis of the hold-back (ScaleOutWait), under _lock.
    private readonly ScaleOutGate _gate = new(manager.Time);

    // Instances being started for callers of this pool, under _lock.
    private int _starting;

    // Moving average of this pool's invocation durations (ms); NaN until the first one ends.
    private double _averageDurationMs = double.NaN;

    // Moving average of this pool's cold starts (ms, from the start to the end of its init), under _lock; NaN until one ends.
    private double _coldStartMs = double.NaN;

    // Moving average of how long held-back callers waited for their hand-over (ms); NaN until one was served.
    private double _heldWaitMs = double.NaN;

    // Callers held back: they waited for an instance to come back instead of taking an idle one or starting one
    // (ScaleOutWait), Interlocked.
    private long _scaleOutWaits;

    // Provisioned concurrency, under _lock: instances initialized ahead and kept (never reaped or evicted).
    private readonly HashSet<SandboxInstance> _provisioned = [];
    private int _provisionedTarget;
    private int _provisionedStarting;
    private string? _provisionFailure;

    public FunctionRecord Function { get; } = function;

    /// <summary>Instances running an invocation (or starting for one) right now.</summary>
    public int BusyCount
    {
        get
        {
            lock (_lock)
            {
                return _all.Count - _idle.Count;
            }
        }
    }

    /// <summary>Callers so far that waited for an instance to come back instead of starting one (<see cref="NimbusOptions.ScaleOutWait"/>).</summary>
    public long ScaleOutWaits => Interlocked.Read(ref _scaleOutWaits);

    /// <summary>Callers waiting for an instance of this pool right now (for a start slot, room, or one to come back).</summary>
    public int WaitingCount => Volatile.Read(ref _waiting);

    private enum WaiterState
    {
        Waiting,
        Handed,
        Gone,
    }

    /// <summary>
    /// A caller's place in the queue. Its task completes with the instance handed over (on the releasing thread, whose
    /// call continues the caller's: no thread hop and no timer on the hand-over), or with null when the caller is woken
    /// to decide again (its pool stopped holding it back, its bound passed, it hung up).
    /// </summary>
    private sealed class Waiter(SandboxPool pool, long started) : TaskCompletionSource<SandboxInstance?>(TaskCreationOptions.None)
    {
        public SandboxPool Pool { get; } = pool;

        /// <summary>Under the pool's lock.</summary>
        public WaiterState State;

        /// <summary>Set under the pool's lock with <see cref="State"/> Handed, before the task completes.</summary>
        public SandboxInstance? Handed;

        /// <summary>Held back (ScaleOutWait) in its caller's last decision: rechecked on every CPU sample. Under the pool's lock.</summary>
        public bool HeldBack;

        /// <summary>When its caller arrived (<see cref="TimeProvider.GetTimestamp"/>).</summary>
        public long Started { get; } = started;
    }

    /// <summary>
    /// An idle instance, one handed over by the next <see cref="Release"/>, or a newly started one, whichever comes
    /// first. At most two starts per core run at once; past them a caller waits for a start slot or for an instance
    /// to come back. When the node has no room for another, or too many callers wait already, the caller waits up to
    /// the admission wait (or not at all), then gives up: (null, null), a throttle. Cancelling
    /// <paramref name="cancellationToken"/> (the caller hung up) gives the caller's place up at once, before an
    /// instance is started for it: <see cref="OperationCanceledException"/>. A caller of a pool of short invocations
    /// at its target on a saturated node is held back (<see cref="HoldBackLocked"/>): it waits for a busy or starting
    /// instance to be handed over rather than take an idle one or start another.
    /// </summary>
    public async Task<(SandboxInstance? Instance, byte[]? StartError)> AcquireAsync(CancellationToken cancellationToken)
    {
        var started = manager.Time.GetTimestamp();
        Waiter? waiter = null;
        SandboxInstance? returned = null;
        var heldBack = false;
        try
        {
            while (true)
            {
                cancellationToken.ThrowIfCancellationRequested();

                // Every round decides again: an idle instance unless held back, else a place in the queue (kept from
                // round to round, so an instance released meanwhile is handed to this caller in its turn).
                var elapsed = manager.Time.GetElapsedTime(started);
                if (TryTakeIdle(started, elapsed, ref waiter, out var holdBack) is { } taken)
                {
                    return (returned = taken, null);
                }

                if (waiter is null)
                {
                    // As many callers as the node has instance slots, four times over, wait for this function
                    // already: throttled now rather than after the wait.
                    Log.WaitQueueFull(logger, Function.Name, Function.Version, manager.MaxWaitingPerFunction);
                    return (null, null);
                }

                if (waiter.State == WaiterState.Handed)
                {
                    return (returned = waiter.Handed, null);
                }

                if (manager.IsDraining || elapsed >= manager.AdmissionWait)
                {
                    return (null, null);
                }

                // A pool of short invocations that keeps its target busy on a saturated node: its callers wait (bounded)
                // for the next instance to come back rather than start one more to context-switch with the others.
                // Woken to decide again by RecheckHeldBack (the CPU freed up, the durations show a slow function, the
                // bound passed), not by a timer of its own.
                if (holdBack)
                {
                    if (!heldBack)
                    {
                        heldBack = true;
                        Interlocked.Increment(ref _scaleOutWaits);
                    }

                    if (await WaitHeldBackAsync(waiter, cancellationToken).ConfigureAwait(false) is { } handed)
                    {
                        RecordHeldWait(manager.Time.GetElapsedTime(started).TotalMilliseconds);
                        return (returned = handed, null);
                    }

                    continue;
                }

                // Starting is CPU-bound: past a few starts at once they only slow each other down (64 at once on two
                // cores ran past Lambda's 10 s init limit). Without a start slot, the call waits for one, or for an
                // instance of this pool to come back, whichever is first.
                var (slot, handedOver) = await WaitForSlotOrHandOverAsync(waiter, manager.AdmissionWait - elapsed, cancellationToken).ConfigureAwait(false);
                if (handedOver is not null)
                {
                    return (returned = handedOver, null);
                }

                if (!slot)
                {
                    continue;
                }

                // Holding a slot: others may have started enough instances while this caller waited for it (a cold
                // burst), so it is decided again, in the lock that counts this start among the pool's.
                var reservation = TryReserveStart(waiter, manager.Time.GetElapsedTime(started));
                if (reservation != StartReservation.Reserved)
                {
                    manager.ExitStart();
                    if (reservation == StartReservation.HandedOver)
                    {
                        return (returned = waiter.Handed, null);
                    }

                    continue;
                }

                var (instance, error) = await StartHoldingSlotAsync(cancellationToken).ConfigureAwait(false);
                if (instance is not null)
                {
                    Log.InstanceStarted(logger, Function.Name, Function.Version, instance.Id, instance.Sandbox?.ProcessId ?? 0);
                    return (instance, null);
                }

                if (error is not null || manager.IsDraining || manager.Time.GetElapsedTime(started) >= manager.AdmissionWait)
                {
                    return (null, error);
                }

                // No room on the node: back in the queue, for an instance of this pool or for room.
                if (TryTakeIdle(started, manager.Time.GetElapsedTime(started), ref waiter, out _) is { } idleNow)
                {
                    return (returned = idleNow, null);
                }

                if (waiter is null)
                {
                    return (null, null);
                }

                if (await WaitForHandOverAsync(waiter, AdmissionPoll, cancellationToken).ConfigureAwait(false) is { } afterRoom)
                {
                    return (returned = afterRoom, null);
                }
            }
        }
        finally
        {
            // Gave up, hung up or failed: out of the queue. An instance handed over meanwhile goes to the next caller.
            if (waiter is not null && !Withdraw(waiter) && waiter.Handed is { } late && !ReferenceEquals(late, returned))
            {
                Release(late);
            }
        }
    }

    /// <summary>Feeds the moving average of invocation durations that <see cref="NimbusOptions.ScaleOutWait"/> looks at.</summary>
    public void RecordDuration(double durationMs)
    {
        var average = _averageDurationMs;
        _averageDurationMs = double.IsNaN(average) ? durationMs : average + ((durationMs - average) / 16);
    }

    /// <summary>Moving average of this pool's invocation durations (ms); NaN before the first one ended.</summary>
    public double AverageDurationMs => _averageDurationMs;

    /// <summary>Instances of this pool: busy, idle (frozen) and initializing.</summary>
    public int InstanceCount
    {
        get
        {
            lock (_lock)
            {
                return _all.Count + _starting;
            }
        }
    }

    /// <summary>
    /// True when a caller that arrived <paramref name="elapsed"/> ago should wait for one of this pool's busy or starting
    /// instances to come back instead of taking an idle one or starting another. It waits when all of these hold:
    /// <see cref="NimbusOptions.ScaleOutWait"/> is on; the pool's invocations average no longer than it, or none has
    /// ended yet and none has run longer than it (a cold burst, <see cref="RunsLongerLocked"/>); busy and starting instances already number the node's
    /// <see cref="SandboxManager.ScaleOutTarget"/> (or the provisioned concurrency, if higher); the node's CPUs are
    /// saturated, or have not been free for long enough since the pool reached its target (<see cref="ScaleOutGate"/>);
    /// and the caller has waited less than <see cref="HoldBackBound"/> and the admission wait. Under <see cref="_lock"/>.
    /// </summary>
    private bool HoldBackLocked(TimeSpan elapsed, long now)
    {
        var threshold = manager.ScaleOutWait;
        if (threshold <= TimeSpan.Zero || _averageDurationMs > threshold.TotalMilliseconds || _retired || manager.IsDraining
            || (double.IsNaN(_averageDurationMs) && RunsLongerLocked(threshold, now)))
        {
            // A retired pool is no longer rechecked (RecheckHeldBack): its callers are not held back.
            return false;
        }

        var atTarget = _all.Count - _idle.Count + _starting >= Math.Max(manager.ScaleOutTarget, _provisionedTarget);
        return _gate.Holds(atTarget, manager.CpuFreeSince, now) && elapsed < HoldBackBound(threshold) && elapsed < manager.AdmissionWait;
    }

    /// <summary>
    /// True when one of the pool's invocations has been running longer than <paramref name="threshold"/>: before the
    /// first one ends (a cold burst) this already shows the function is not short, so an I/O-bound function's burst
    /// scales out as soon as its first invocation has run that long, whatever else keeps the node's CPUs busy; its
    /// held callers are let go at the CPU sampler's next tick (<see cref="RecheckHeldBack"/>). Under <see cref="_lock"/>.
    /// </summary>
    private bool RunsLongerLocked(TimeSpan threshold, long now)
    {
        foreach (var instance in _all)
        {
            if (instance.Current is not null && instance.InvocationStarted is var started and not 0 && manager.Time.GetElapsedTime(started, now) > threshold)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// The longest a caller is held back: about two of the pool's cold starts (a cold burst's callers arrive with the
    /// starts, so one cold start passes before any instance can come back; past a second one, starting an instance
    /// would have served it sooner), at least a queue of ten of the longest short invocations (500 ms at the default
    /// 50 ms: a loaded node's busy instances come back late, not never), at most <see cref="MaxHoldBack"/>;
    /// <see cref="UnknownColdStart"/> before the pool's first start finished its init. A bound against instances that
    /// do not come back, not the usual wait: at 32 callers of a 1 ms function a caller waits a few ms.
    /// </summary>
    private TimeSpan HoldBackBound(TimeSpan threshold)
    {
        var coldStartMs = _coldStartMs;
        if (double.IsNaN(coldStartMs))
        {
            return UnknownColdStart;
        }

        // On a loaded node every wait is longer: at least ten of the recent hand-over waits, so the usual wait on a
        // slow machine does not run into the bound and start an instance the target did not need.
        var heldWaitMs = double.IsNaN(_heldWaitMs) ? 0 : 10 * _heldWaitMs;
        return TimeSpan.FromMilliseconds(Math.Clamp(Math.Max(2 * coldStartMs, heldWaitMs), 10 * threshold.TotalMilliseconds, MaxHoldBack.TotalMilliseconds));
    }

    // Racy as RecordDuration is (a lost update only delays the average): no lock on the hand-over path.
    private void RecordHeldWait(double waitedMs)
    {
        var average = _heldWaitMs;
        _heldWaitMs = double.IsNaN(average) ? waitedMs : average + ((waitedMs - average) / 32);
    }

    private enum StartReservation
    {
        Reserved,
        HeldBack,
        HandedOver,

        /// <summary>An idle instance can be taken: the caller rounds again instead of starting one more.</summary>
        IdleAvailable,
    }

    /// <summary>
    /// For a caller holding a start slot: counts its start among the pool's and takes it out of the queue (Reserved),
    /// unless an instance was handed over to it meanwhile, it is held back now, or an idle instance can be taken instead.
    /// </summary>
    private StartReservation TryReserveStart(Waiter waiter, TimeSpan elapsed)
    {
        var now = manager.Time.GetTimestamp();
        lock (_lock)
        {
            if (waiter.State == WaiterState.Handed)
            {
                return StartReservation.HandedOver;
            }

            if (HoldBackLocked(elapsed, now))
            {
                return StartReservation.HeldBack;
            }

            // An instance parked idle meanwhile (or one a caller past its hold-back bound may take now) serves this
            // caller sooner than a start: round again, and the next round takes it.
            foreach (var idle in _idle)
            {
                if (idle.State == InstanceState.Idle)
                {
                    return StartReservation.IdleAvailable;
                }
            }

            WithdrawLocked(waiter);
            _starting++;
            return StartReservation.Reserved;
        }
    }

    /// <summary>Takes the caller's place back; false when an instance was handed over to it first (it is the caller's).</summary>
    private bool Withdraw(Waiter waiter)
    {
        lock (_lock)
        {
            return WithdrawLocked(waiter);
        }
    }

    /// <summary>
    /// Takes a waiter out of the queue's count (its task is not completed: only its own caller, who is not awaiting it,
    /// withdraws it); false when an instance was handed over to it first.
    /// </summary>
    private bool WithdrawLocked(Waiter waiter)
    {
        if (waiter.State == WaiterState.Handed)
        {
            return false;
        }

        if (waiter.State == WaiterState.Waiting)
        {
            waiter.State = WaiterState.Gone;
            LeaveQueueLocked();
        }

        return true;
    }

    private void LeaveQueueLocked()
    {
        Volatile.Write(ref _waiting, _waiting - 1);
        if (_waiting == 0)
        {
            // Every place left in the queue was withdrawn: drop them now rather than at the next release.
            _waiters.Clear();
        }
    }

    private static SandboxInstance? HandedOf(Waiter waiter) => waiter.Task.IsCompletedSuccessfully ? waiter.Task.Result : null;

    /// <summary>
    /// Waits, held back, until an instance is handed over (it is returned) or the caller is woken to decide again by
    /// <see cref="RecheckHeldBack"/> or by hanging up (null). No timer: the CPU sampler's tick bounds the wait.
    /// </summary>
    private static async ValueTask<SandboxInstance?> WaitHeldBackAsync(Waiter waiter, CancellationToken cancellationToken)
    {
        if (!waiter.Task.IsCompleted)
        {
            using (cancellationToken.UnsafeRegister(static (state, _) => ((Waiter)state!).Pool.Wake((Waiter)state!), waiter))
            {
                await waiter.Task.ConfigureAwait(false);
            }
        }

        cancellationToken.ThrowIfCancellationRequested();
        return HandedOf(waiter);
    }

    /// <summary>Wakes one waiter to decide again, if it still waits (its task completes on the thread pool, never under the lock).</summary>
    private void Wake(Waiter waiter)
    {
        lock (_lock)
        {
            if (waiter.State != WaiterState.Waiting)
            {
                return;
            }

            waiter.State = WaiterState.Gone;
            LeaveQueueLocked();
        }

        ThreadPool.UnsafeQueueUserWorkItem(static w => w.TrySetResult(null), waiter, preferLocal: false);
    }

    /// <summary>
    /// On every CPU sample (<see cref="SandboxManager"/>): wakes the held-back callers that should no longer be, so they
    /// take an idle instance, start one, or give up: the CPUs stayed free at the target, the durations now show a slow
    /// function, or they waited past their bound or the admission wait.
    /// </summary>
    public void RecheckHeldBack()
    {
        if (Volatile.Read(ref _waiting) == 0)
        {
            return;
        }

        List<Waiter>? wake = null;
        var now = manager.Time.GetTimestamp();
        lock (_lock)
        {
            foreach (var waiter in _waiters)
            {
                if (waiter.State == WaiterState.Waiting && waiter.HeldBack && !HoldBackLocked(manager.Time.GetElapsedTime(waiter.Started, now), now))
                {
                    waiter.State = WaiterState.Gone;
                    (wake ??= []).Add(waiter);
                }
            }

            foreach (var _ in wake ?? [])
            {
                LeaveQueueLocked();
            }
        }

        foreach (var waiter in wake ?? [])
        {
            ThreadPool.UnsafeQueueUserWorkItem(static w => w.TrySetResult(null), waiter, preferLocal: false);
        }
    }

    /// <summary>Waits up to <paramref name="timeout"/> for an instance handed over; null when none came.</summary>
    private async Task<SandboxInstance?> WaitForHandOverAsync(Waiter waiter, TimeSpan timeout, CancellationToken cancellationToken)
    {
        await ((Task)waiter.Task.WaitAsync(timeout, manager.Time, cancellationToken)).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        cancellationToken.ThrowIfCancellationRequested();
        return HandedOf(waiter);
    }

    /// <summary>Waits for a start slot or an instance handed over, whichever comes first, at most <paramref name="timeout"/>.</summary>
    private async Task<(bool Slot, SandboxInstance? HandedOver)> WaitForSlotOrHandOverAsync(Waiter waiter, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var slot = manager.TryEnterStartAsync(timeout > TimeSpan.Zero ? timeout : TimeSpan.Zero, stop.Token);
        if (await Task.WhenAny(slot, waiter.Task).ConfigureAwait(false) != slot)
        {
            await stop.CancelAsync().ConfigureAwait(false);
        }

        await ((Task)slot).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        var holdsSlot = slot.IsCompletedSuccessfully && slot.Result;
        if (holdsSlot && (HandedOf(waiter) is not null || cancellationToken.IsCancellationRequested))
        {
            manager.ExitStart();
            holdsSlot = false;
        }

        cancellationToken.ThrowIfCancellationRequested();
        return (holdsSlot, HandedOf(waiter));
    }

    /// <summary>
    /// Starts an instance in a start slot the caller holds and a start it reserved (<see cref="TryReserveStart"/>); the
    /// slot is given back once its init is over.
    /// </summary>
    private async Task<(SandboxInstance? Instance, byte[]? StartError)> StartHoldingSlotAsync(CancellationToken cancellationToken)
    {
        (SandboxInstance? Instance, byte[]? StartError) started = (null, null);
        long startedAt = 0;
        try
        {
            // Starts in flight count as instances: four starting at once would otherwise each find none. This one is
            // counted in _starting already (TryReserveStart).
            int instances;
            lock (_lock)
            {
                instances = _all.Count + _starting - 1;
            }

            startedAt = manager.Time.GetTimestamp();
            started = await manager.StartInstanceAsync(Function, provisioned: false, cancellationToken, manager.MayEvictForAnother(Function, instances), firstInstance: instances == 0).ConfigureAwait(false);
        }
        finally
        {
            lock (_lock)
            {
                _starting--;
                if (started.Instance is { } startedInstance)
                {
                    _all.Add(startedInstance);
                }
            }

            if (started.Instance is { } instance)
            {
                _ = ReleaseSlotAfterInitAsync(instance, startedAt);
            }
            else
            {
                manager.ExitStart();
            }
        }

        return started;
    }

    private async Task ReleaseSlotAfterInitAsync(SandboxInstance instance, long startedAt)
    {
        try
        {
            await instance.InitEnded.ConfigureAwait(false);
            if (instance.IsInitialized)
            {
                var coldStartMs = manager.Time.GetElapsedTime(startedAt).TotalMilliseconds;
                lock (_lock)
                {
                    _coldStartMs = double.IsNaN(_coldStartMs) ? coldStartMs : _coldStartMs + ((coldStartMs - _coldStartMs) / 4);
                }
            }
        }
        finally
        {
            manager.ExitStart();
        }
    }

    /// <summary>
    /// In one lock, so no instance can be pushed idle in between: decides whether the caller is held back
    /// (<paramref name="holdBack"/>); if not, takes an idle instance (withdrawing the caller's place in the queue); if
    /// none was taken, gives a caller without a place (or whose place was withdrawn) a new one, or null when the queue
    /// is full. Takes nothing for a caller whose instance was handed over already.
    /// </summary>
    private SandboxInstance? TryTakeIdle(long started, TimeSpan elapsed, ref Waiter? waiter, out bool holdBack)
    {
        var now = manager.Time.GetUtcNow();
        var timestamp = manager.Time.GetTimestamp();
        List<SandboxInstance>? due = null;
        SandboxInstance? taken = null;
        var replaceProvisioned = false;
        lock (_lock)
        {
            holdBack = HoldBackLocked(elapsed, timestamp);
            if (waiter is { State: WaiterState.Handed })
            {
                return null;
            }

            // Newest first (a stack): the instances in use stay few and warm; those past the target sink to the bottom,
            // stay frozen and are reaped by the idle timeout.
            while (!holdBack && _idle.TryPop(out var idle))
            {
                if (idle.State != InstanceState.Idle)
                {
                    continue;
                }

                if (idle.CredentialsDue(now))
                {
                    // Its credentials could expire during this invocation: retired, a fresh instance takes over.
                    (due ??= []).Add(idle);
                    _all.Remove(idle);
                    replaceProvisioned |= _provisioned.Remove(idle) && !_retired;
                    continue;
                }

                idle.TakeForInvocation();
                taken = idle;
                break;
            }

            if (taken is not null)
            {
                if (waiter is not null)
                {
                    WithdrawLocked(waiter);
                }
            }
            else
            {
                if (waiter is null || waiter.State == WaiterState.Gone)
                {
                    waiter = null;
                    if (_waiting < manager.MaxWaitingPerFunction)
                    {
                        waiter = new Waiter(this, started);
                        _waiters.Enqueue(waiter);
                        Volatile.Write(ref _waiting, _waiting + 1);
                    }
                }

                if (waiter is not null)
                {
                    waiter.HeldBack = holdBack;
                }
            }
        }

        StopForCredentials(due, replaceProvisioned);
        return taken;
    }

    private void StopForCredentials(List<SandboxInstance>? due, bool replaceProvisioned)
    {
        if (due is not null)
        {
            foreach (var instance in due)
            {
                Log.CredentialsDue(logger, Function.Name, Function.Version, instance.Id, instance.CredentialsRenewAt);
                _ = manager.StopInstanceAsync(instance);
            }
        }

        if (replaceProvisioned)
        {
            _ = FillProvisionedAsync();
        }
    }

    /// <summary>Takes an instance back after an invocation; dead or retired ones are stopped.</summary>
    public void Release(SandboxInstance instance)
    {
        bool keep;
        var replaceProvisioned = false;
        Waiter? handedTo = null;
        lock (_lock)
        {
            keep = !_retired && instance.State == InstanceState.Idle && !instance.CredentialsDue(manager.Time.GetUtcNow());
            if (keep && (ParkLocked() || (handedTo = HandOverLocked(instance)) is null))
            {
                // Frozen while idle (once its runtime waits on /next): no CPU until an invocation takes it.
                instance.FreezeIfWaiting();
                _idle.Push(instance);
            }
            else if (!keep)
            {
                _all.Remove(instance);
                replaceProvisioned = _provisioned.Remove(instance) && !_retired;
            }
        }

        if (handedTo is not null)
        {
            // Outside the lock, on this thread: the waiting caller's invocation continues here, without a thread hop, but
            // after the releasing caller's answer when a runtime's answer is completing that caller here (AnswerFirst).
            AnswerFirst.RunAfterAnswer(static waiter => ((Waiter)waiter!).TrySetResult(((Waiter)waiter!).Handed), handedTo);
            return;
        }

        if (!keep)
        {
            _ = manager.StopInstanceAsync(instance);
        }

        if (replaceProvisioned)
        {
            // A provisioned instance that crashed or timed out is replaced, as Lambda replaces it.
            _ = FillProvisionedAsync();
        }
    }

    /// <summary>
    /// Takes back an instance whose caller hung up during its cold start: it finishes its init without an invocation
    /// and joins the pool (or goes to a waiting caller); one whose init fails is stopped.
    /// </summary>
    public void KeepInitializing(SandboxInstance instance) => _ = KeepInitializingAsync(instance);

    private async Task KeepInitializingAsync(SandboxInstance instance)
    {
        if (await instance.InitializeAheadAsync(CancellationToken.None).ConfigureAwait(false))
        {
            Release(instance);
            return;
        }

        lock (_lock)
        {
            _all.Remove(instance);
        }

        await manager.StopInstanceAsync(instance).ConfigureAwait(false);
    }

    /// <summary>
    /// True when an instance coming back is surplus: without it, the pool's other busy and starting instances still
    /// number its target and its callers are held back (<see cref="HoldBackLocked"/>'s pool-wide conditions). It is
    /// then frozen idle rather than handed over, so a set that grew past the target (callers that waited past their
    /// bound, a burst before the CPU signal caught up) shrinks back to it while the others keep serving the queue;
    /// parked instances sink to the bottom of the idle stack and the idle timeout reaps them.
    /// </summary>
    private bool ParkLocked()
    {
        var threshold = manager.ScaleOutWait;
        if (_waiting == 0 || threshold <= TimeSpan.Zero || !(_averageDurationMs <= threshold.TotalMilliseconds) || manager.IsDraining)
        {
            return false;
        }

        var othersBusy = _all.Count - _idle.Count + _starting - 1;
        return othersBusy >= Math.Max(manager.ScaleOutTarget, _provisionedTarget) && _gate.Holds(atTarget: true, manager.CpuFreeSince, manager.Time.GetTimestamp());
    }

    /// <summary>
    /// Gives an instance coming back to the longest-waiting caller, if any still waits; the caller completes the
    /// returned waiter's task once out of the lock.
    /// </summary>
    private Waiter? HandOverLocked(SandboxInstance instance)
    {
        while (_waiters.TryDequeue(out var waiter))
        {
            if (waiter.State != WaiterState.Waiting)
            {
                // Withdrawn by its caller, or woken to decide again.
                continue;
            }

            instance.TakeForInvocation();
            waiter.State = WaiterState.Handed;
            waiter.Handed = instance;
            Volatile.Write(ref _waiting, _waiting - 1);
            return waiter;
        }

        return null;
    }

    /// <summary>
    /// Keeps <paramref name="count"/> instances initialized ahead of demand (provisioned concurrency); 0 releases
    /// them to the ordinary idle timeout. Fills in the background; <see cref="ProvisionedStatus"/> reports progress.
    /// </summary>
    public void Provision(int count)
    {
        lock (_lock)
        {
            _provisionedTarget = count;
            _provisionFailure = null;
            foreach (var extra in _provisioned.Skip(count).ToList())
            {
                // No longer provisioned: an ordinary idle instance from now on.
                _provisioned.Remove(extra);
            }
        }

        _ = FillProvisionedAsync();
    }

    /// <summary>Requested and initialized provisioned instances, and why filling stopped, if it did.</summary>
    public (int Requested, int Ready, string? Failure) ProvisionedStatus
    {
        get
        {
            lock (_lock)
            {
                return (_provisionedTarget, _provisioned.Count(i => i.State != InstanceState.Dead), _provisionFailure);
            }
        }
    }

    private async Task FillProvisionedAsync()
    {
        while (true)
        {
            lock (_lock)
            {
                if (_retired || manager.IsDraining || _provisionFailure is not null || _provisioned.Count + _provisionedStarting >= _provisionedTarget)
                {
                    return;
                }

                _provisionedStarting++;
            }

            var (instance, error) = await manager.StartInstanceAsync(Function, provisioned: true, CancellationToken.None).ConfigureAwait(false);
            var initialized = instance is not null && await instance.InitializeAheadAsync(CancellationToken.None).ConfigureAwait(false);
            bool keep;
            lock (_lock)
            {
                _provisionedStarting--;
                keep = initialized && !_retired;
                if (keep)
                {
                    _all.Add(instance!);
                    _provisioned.Add(instance!);
                }
                else if (!_retired)
                {
                    _provisionFailure = instance is null
                        ? error is null ? "The node has no room for another instance (memory or instance slots); free some or lower the provisioned concurrency." : System.Text.Encoding.UTF8.GetString(error)
                        : "The function's initialization failed; see its log for the INIT phase.";
                }
            }

            if (instance is null)
            {
                Log.ProvisioningFailed(logger, Function.Name, Function.Version, _provisionFailure ?? "retired");
                return;
            }

            if (!keep)
            {
                _ = manager.StopInstanceAsync(instance);
                return;
            }

            Log.InstanceStarted(logger, Function.Name, Function.Version, instance.Id, instance.Sandbox?.ProcessId ?? 0);
            Release(instance);
        }
    }

    /// <summary>When the longest-idle instance was last used; null when none is idle.</summary>
    public DateTimeOffset? OldestIdleUse
    {
        get
        {
            lock (_lock)
            {
                return _idle.Where(i => !_provisioned.Contains(i)).Select(i => (DateTimeOffset?)i.LastUsed).Min();
            }
        }
    }

    /// <summary>Removes the longest-idle instance from the pool so the caller can stop it.</summary>
    public SandboxInstance? TryTakeOldestIdle()
    {
        lock (_lock)
        {
            if (_idle.Count == 0)
            {
                return null;
            }

            if (_idle.Where(i => !_provisioned.Contains(i)).MinBy(i => i.LastUsed) is not { } victim)
            {
                return null;
            }

            var rest = _idle.Where(i => i != victim).Reverse().ToList();
            _idle.Clear();
            foreach (var instance in rest)
            {
                _idle.Push(instance);
            }

            _all.Remove(victim);
            victim.MarkDead();
            return victim;
        }
    }

    /// <summary>
    /// Stops instances idle since before <paramref name="cutoff"/> (scale to zero), and idle ones whose credentials
    /// are due (provisioned ones are replaced by fresh instances ahead of the next invocation).
    /// </summary>
    public void ReapIdle(DateTimeOffset cutoff)
    {
        RenewDueCredentials();
        List<SandboxInstance> stale = [];
        lock (_lock)
        {
            if (_idle.Count == 0)
            {
                return;
            }

            // Provisioned instances stay however long they idle.
            var keep = _idle.Where(i => i.LastUsed >= cutoff || _provisioned.Contains(i)).Reverse().ToList();
            stale.AddRange(_idle.Where(i => i.LastUsed < cutoff && !_provisioned.Contains(i)));
            _idle.Clear();
            foreach (var instance in keep)
            {
                _idle.Push(instance);
            }

            foreach (var instance in stale)
            {
                _all.Remove(instance);
            }
        }

        foreach (var instance in stale)
        {
            Log.InstanceReaped(logger, Function.Name, instance.Id);
            _ = manager.StopInstanceAsync(instance);
        }
    }

    private void RenewDueCredentials()
    {
        var now = manager.Time.GetUtcNow();
        List<SandboxInstance>? due = null;
        var replaceProvisioned = false;
        lock (_lock)
        {
            if (!_idle.Any(i => i.CredentialsDue(now)))
            {
                return;
            }

            due = [.. _idle.Where(i => i.CredentialsDue(now))];
            var keep = _idle.Where(i => !i.CredentialsDue(now)).Reverse().ToList();
            _idle.Clear();
            foreach (var instance in keep)
            {
                _idle.Push(instance);
            }

            foreach (var instance in due)
            {
                _all.Remove(instance);
                replaceProvisioned |= _provisioned.Remove(instance) && !_retired;
            }
        }

        StopForCredentials(due, replaceProvisioned);
    }

    /// <summary>Stops idle instances now and busy ones when their invocation ends.</summary>
    public void Retire()
    {
        List<SandboxInstance> idle;
        List<Waiter> waiting;
        lock (_lock)
        {
            _retired = true;
            idle = [.. _idle];
            _idle.Clear();
            foreach (var instance in idle)
            {
                _all.Remove(instance);
            }

            // No instance comes back to a retired pool: its waiting callers decide again (and are not held back).
            waiting = [.. _waiters.Where(w => w.State == WaiterState.Waiting)];
            foreach (var waiter in waiting)
            {
                waiter.State = WaiterState.Gone;
                LeaveQueueLocked();
            }
        }

        foreach (var waiter in waiting)
        {
            ThreadPool.UnsafeQueueUserWorkItem(static w => w.TrySetResult(null), waiter, preferLocal: false);
        }

        foreach (var instance in idle)
        {
            _ = manager.StopInstanceAsync(instance);
        }
    }

    public SandboxInstance[] Snapshot()
    {
        lock (_lock)
        {
            return [.. _all];
        }
    }
}
