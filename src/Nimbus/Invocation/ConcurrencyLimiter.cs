namespace Nimbus.Invocation;

/// <summary>
/// The in-process limiter of one node, with Lambda's rules: a function with reserved concurrency N runs at most N
/// invocations at once, and its N are carved out of the account limit; functions without a reservation share what
/// is left (the unreserved pool). A reservation of 0 throttles every invocation.
/// </summary>
internal sealed class ConcurrencyLimiter : IConcurrencyLimiter
{
    // _lock guards _functions, _reservedTotal and _unreservedInUse. Invariants: _reservedTotal is the sum of
    // every Reserved; _unreservedInUse is the sum of InUse over the functions without a reservation.
    private readonly Lock _lock = new();
    private readonly Dictionary<string, FunctionState> _functions = new(StringComparer.Ordinal);
    private int _reservedTotal;
    private int _unreservedInUse;

    public ConcurrencyLimiter(int accountLimit)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(accountLimit, 1);
        AccountLimit = accountLimit;
    }

    public int AccountLimit { get; }

    /// <summary>The account limit minus every reservation: what functions without a reservation share.</summary>
    public int UnreservedLimit
    {
        get
        {
            lock (_lock)
            {
                return UnreservedLimitLocked;
            }
        }
    }

    public int UnreservedInUse
    {
        get
        {
            lock (_lock)
            {
                return _unreservedInUse;
            }
        }
    }

    /// <summary>Reservations can exceed the limit when the limit is lowered after they were made; the pool is then empty.</summary>
    private int UnreservedLimitLocked => Math.Max(0, AccountLimit - _reservedTotal);

    /// <summary>How many invocations of the function hold a lease now.</summary>
    public int InUse(string functionName)
    {
        lock (_lock)
        {
            return _functions.TryGetValue(functionName, out var state) ? state.InUse : 0;
        }
    }

    public ConcurrencyGrant TryAcquire(string functionName)
    {
        lock (_lock)
        {
            _functions.TryGetValue(functionName, out var state);
            if (state?.Reserved is { } reserved)
            {
                if (reserved == 0)
                {
                    return ConcurrencyGrant.Throttled(ConcurrencyThrottle.ReservedConcurrencyIsZero);
                }

                if (state.InUse >= reserved)
                {
                    return ConcurrencyGrant.Throttled(ConcurrencyThrottle.ReservedConcurrencyInUse);
                }
            }
            else
            {
                if (_unreservedInUse >= UnreservedLimitLocked)
                {
                    return ConcurrencyGrant.Throttled(ConcurrencyThrottle.AccountConcurrencyInUse);
                }

                _unreservedInUse++;
            }

            if (state is null)
            {
                state = new FunctionState();
                _functions.Add(functionName, state);
            }

            state.InUse++;
            return new ConcurrencyGrant(new ConcurrencyLease(this, functionName) { InUseAtGrant = state.InUse }, ConcurrencyThrottle.None);
        }
    }

    public void Release(ConcurrencyLease lease)
    {
        ArgumentNullException.ThrowIfNull(lease);
        lock (_lock)
        {
            if (!_functions.TryGetValue(lease.FunctionName, out var state) || state.InUse == 0)
            {
                throw new InvalidOperationException($"A concurrency lease of {lease.FunctionName} was released that this limiter did not grant.");
            }

            state.InUse--;
            if (state.Reserved is null)
            {
                _unreservedInUse--;
                RemoveIfUnused(lease.FunctionName, state);
            }
        }
    }

    public void SetReservation(string functionName, int? reservedConcurrentExecutions)
    {
        if (reservedConcurrentExecutions is < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(reservedConcurrentExecutions), reservedConcurrentExecutions, "A reservation cannot be negative.");
        }

        lock (_lock)
        {
            if (!_functions.TryGetValue(functionName, out var state))
            {
                if (reservedConcurrentExecutions is null)
                {
                    return;
                }

                state = new FunctionState();
                _functions.Add(functionName, state);
            }

            // Invocations in flight move with their function between the unreserved pool and its reservation, so a
            // release always gives back to the pool the function draws from now.
            if (state.Reserved is null && reservedConcurrentExecutions is not null)
            {
                _unreservedInUse -= state.InUse;
            }
            else if (state.Reserved is not null && reservedConcurrentExecutions is null)
            {
                _unreservedInUse += state.InUse;
            }

            _reservedTotal += (reservedConcurrentExecutions ?? 0) - (state.Reserved ?? 0);
            state.Reserved = reservedConcurrentExecutions;
            RemoveIfUnused(functionName, state);
        }
    }

    private void RemoveIfUnused(string functionName, FunctionState state)
    {
        if (state.Reserved is null && state.InUse == 0)
        {
            _functions.Remove(functionName);
        }
    }

    private sealed class FunctionState
    {
        public int? Reserved { get; set; }

        public int InUse { get; set; }
    }
}
