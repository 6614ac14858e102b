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

    /// <summary>The longest a call waits for a start slot before it starts an instance without one.</summary>
    private static readonly TimeSpan MaxStartSlotWait = TimeSpan.FromSeconds(1);

    private readonly Lock _lock = new();
    private readonly Stack<SandboxInstance> _idle = new();
    private readonly HashSet<SandboxInstance> _all = [];
    private bool _retired;

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

    /// <summary>
    /// An idle instance, or a newly started one. When the node has no room for another, waits up to the
    /// admission wait for one of this pool's instances to come back (or for room), then gives up: (null, null).
    /// </summary>
    public async Task<(SandboxInstance? Instance, byte[]? StartError)> AcquireAsync(CancellationToken cancellationToken)
    {
        var started = manager.Time.GetTimestamp();
        while (true)
        {
            if (TryTakeIdle() is { } idle)
            {
                return (idle, null);
            }

            // Starting is CPU-bound: past a few starts at once they only slow each other down (64 at once on two
            // cores ran past Lambda's 10 s init limit). Without a start slot, the call waits for one, or for an
            // instance of this pool to come back, whichever is first; after MaxStartSlotWait it starts anyway, so
            // no caller is starved by others that keep finding their instances idle first.
            var holdsSlot = await manager.TryEnterStartAsync(AdmissionPoll, cancellationToken).ConfigureAwait(false);
            if (!holdsSlot)
            {
                if (manager.IsDraining || manager.Time.GetElapsedTime(started) >= manager.AdmissionWait)
                {
                    return (null, null);
                }

                if (manager.Time.GetElapsedTime(started) < MaxStartSlotWait)
                {
                    continue;
                }
            }

            var (instance, error) = holdsSlot
                ? await StartHoldingSlotAsync(cancellationToken).ConfigureAwait(false)
                : await manager.StartInstanceAsync(Function, provisioned: false, cancellationToken).ConfigureAwait(false);
            if (instance is not null)
            {
                lock (_lock)
                {
                    _all.Add(instance);
                }

                Log.InstanceStarted(logger, Function.Name, Function.Version, instance.Id, instance.Sandbox?.ProcessId ?? 0);
                return (instance, null);
            }

            if (error is not null || manager.IsDraining || manager.Time.GetElapsedTime(started) >= manager.AdmissionWait)
            {
                return (null, error);
            }

            await Task.Delay(AdmissionPoll, manager.Time, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Starts an instance in a start slot the caller holds; the slot is given back once its init is over.</summary>
    private async Task<(SandboxInstance? Instance, byte[]? StartError)> StartHoldingSlotAsync(CancellationToken cancellationToken)
    {
        (SandboxInstance? Instance, byte[]? StartError) started = (null, null);
        try
        {
            started = await manager.StartInstanceAsync(Function, provisioned: false, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            if (started.Instance is { } instance)
            {
                _ = ReleaseSlotAfterInitAsync(instance);
            }
            else
            {
                manager.ExitStart();
            }
        }

        return started;
    }

    private async Task ReleaseSlotAfterInitAsync(SandboxInstance instance)
    {
        try
        {
            await instance.InitEnded.ConfigureAwait(false);
        }
        finally
        {
            manager.ExitStart();
        }
    }

    private SandboxInstance? TryTakeIdle()
    {
        var now = manager.Time.GetUtcNow();
        List<SandboxInstance>? due = null;
        SandboxInstance? taken = null;
        var replaceProvisioned = false;
        lock (_lock)
        {
            while (_idle.TryPop(out var idle))
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
        lock (_lock)
        {
            keep = !_retired && instance.State == InstanceState.Idle && !instance.CredentialsDue(manager.Time.GetUtcNow());
            if (keep)
            {
                // Frozen while idle (once its runtime waits on /next): no CPU until an invocation takes it.
                instance.FreezeIfWaiting();
                _idle.Push(instance);
            }
            else
            {
                _all.Remove(instance);
                replaceProvisioned = _provisioned.Remove(instance) && !_retired;
            }
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
        lock (_lock)
        {
            _retired = true;
            idle = [.. _idle];
            _idle.Clear();
            foreach (var instance in idle)
            {
                _all.Remove(instance);
            }
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
