using Microsoft.Extensions.Hosting;
using Nimbus.Storage;

namespace Nimbus.Functions;

// Reserved concurrency (PutFunctionConcurrency, GetFunctionConcurrency, DeleteFunctionConcurrency) and the
// account's concurrency figures. The store is the truth; the limiter gets every change after the store has it,
// and every stored reservation at start-up (IHostedService).
internal sealed partial class FunctionService : IHostedService, IDisposable
{
    // Serializes every change of a reservation (put, delete, DeleteFunction) from the store write to the limiter
    // update, so the limiter always ends with what the store holds. Writes under it ignore cancellation for the
    // same reason.
    private readonly SemaphoreSlim _reservationWrites = new(1, 1);

    /// <summary>The account's concurrency limit (<c>Nimbus:ConcurrencyLimit</c>, by default sized to the node's memory).</summary>
    public int AccountConcurrencyLimit { get; } = options.Value.AccountConcurrencyLimit();

    /// <summary>What reservations must leave unreserved: 100, or the whole limit when it is lower, as on AWS.</summary>
    public int MinUnreservedConcurrency => Math.Min(LambdaLimits.MinUnreservedConcurrency, AccountConcurrencyLimit);

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await _reservationWrites.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            foreach (var (name, reserved) in await store.ListReservedConcurrencyAsync(cancellationToken).ConfigureAwait(false))
            {
                concurrency.SetReservation(name, reserved);
            }
        }
        finally
        {
            _reservationWrites.Release();
        }

        await RestoreProvisionedConcurrencyAsync(cancellationToken).ConfigureAwait(false);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public void Dispose() => _reservationWrites.Dispose();

    public async Task<LambdaResult<FunctionConcurrency>> PutConcurrencyAsync(FunctionReference reference, FunctionConcurrency request, CancellationToken cancellationToken)
    {
        if (request.ReservedConcurrentExecutions is not { } reserved)
        {
            return LambdaError.ValidationFailed("null", "reservedConcurrentExecutions", "Member must not be null");
        }

        if (reserved < 0)
        {
            return LambdaError.ValidationFailed(Invariant(reserved), "reservedConcurrentExecutions", "Member must have value greater than or equal to 0");
        }

        if (UnqualifiedOnly(reference) is { } qualifierError)
        {
            return qualifierError;
        }

        await _reservationWrites.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var maxTotalReserved = AccountConcurrencyLimit - MinUnreservedConcurrency;
            switch (await store.TryPutReservedConcurrencyAsync(reference.Name, reserved, maxTotalReserved, CancellationToken.None).ConfigureAwait(false))
            {
                case ReservationWrite.FunctionNotFound:
                    return LambdaError.FunctionNotFound(FunctionArn(reference.Name));
                case ReservationWrite.OverLimit:
                    return LambdaError.UnreservedConcurrencyBelowMinimum(MinUnreservedConcurrency);
            }

            concurrency.SetReservation(reference.Name, reserved);
        }
        finally
        {
            _reservationWrites.Release();
        }

        Log.ReservedConcurrencySet(logger, reference.Name, reserved);
        return new FunctionConcurrency { ReservedConcurrentExecutions = reserved };
    }

    /// <summary>The function's reservation; an empty shape when it has none.</summary>
    public async Task<LambdaResult<FunctionConcurrency>> GetConcurrencyAsync(FunctionReference reference, CancellationToken cancellationToken)
    {
        if (UnqualifiedOnly(reference) is { } qualifierError)
        {
            return qualifierError;
        }

        var function = await GetAsync(reference, cancellationToken).ConfigureAwait(false);
        if (function.IsError)
        {
            return function.Error!;
        }

        return new FunctionConcurrency
        {
            ReservedConcurrentExecutions = await store.GetReservedConcurrencyAsync(reference.Name, cancellationToken).ConfigureAwait(false),
        };
    }

    public async Task<LambdaError?> DeleteConcurrencyAsync(FunctionReference reference, CancellationToken cancellationToken)
    {
        if (UnqualifiedOnly(reference) is { } qualifierError)
        {
            return qualifierError;
        }

        var function = await GetAsync(reference, cancellationToken).ConfigureAwait(false);
        if (function.IsError)
        {
            return function.Error;
        }

        await _reservationWrites.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (!await store.DeleteReservedConcurrencyAsync(reference.Name, CancellationToken.None).ConfigureAwait(false))
            {
                return null;
            }

            concurrency.SetReservation(reference.Name, null);
        }
        finally
        {
            _reservationWrites.Release();
        }

        Log.ReservedConcurrencyDeleted(logger, reference.Name);
        return null;
    }

    /// <summary>A function's reservation for GetFunction's <c>Concurrency</c>; null when it has none.</summary>
    public Task<int?> GetReservedConcurrencyAsync(string functionName, CancellationToken cancellationToken) =>
        store.GetReservedConcurrencyAsync(functionName, cancellationToken);

    /// <summary>The account limit and what the reservations leave of it, for GetAccountSettings.</summary>
    public async Task<(int Limit, int Unreserved)> GetAccountConcurrencyAsync(CancellationToken cancellationToken)
    {
        var reservations = await store.ListReservedConcurrencyAsync(cancellationToken).ConfigureAwait(false);
        var reserved = reservations.Values.Sum(r => (long)r);
        return (AccountConcurrencyLimit, (int)Math.Max(0, AccountConcurrencyLimit - reserved));
    }

    private static LambdaError? UnqualifiedOnly(FunctionReference reference) =>
        reference.Qualifier is { } qualifier
            ? LambdaError.InvalidParameter($"Reserved concurrency applies to the whole function, not to the version or alias '{qualifier}': use the function name without a qualifier.")
            : null;
}
