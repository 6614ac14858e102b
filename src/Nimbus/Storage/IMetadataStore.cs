using Nimbus.Functions;

namespace Nimbus.Storage;

/// <summary>
/// Everything Nimbus knows about functions. SQLite on one node; PostgreSQL in cluster mode. No SQL lives outside
/// Storage/. Writes are durable when the returned task completes.
/// </summary>
internal interface IMetadataStore
{
    Task<FunctionRecord?> GetFunctionAsync(string name, string version, CancellationToken cancellationToken);

    /// <summary>Inserts a new function; false when one with that name already exists.</summary>
    Task<bool> TryCreateFunctionAsync(FunctionRecord record, CancellationToken cancellationToken);

    /// <summary>Replaces a version only if its stored revision is still <paramref name="expectedRevisionId"/>.</summary>
    Task<bool> TryUpdateFunctionAsync(FunctionRecord record, string expectedRevisionId, CancellationToken cancellationToken);

    /// <summary>Functions ordered by name, starting after <paramref name="afterName"/>.</summary>
    Task<IReadOnlyList<FunctionRecord>> ListFunctionsAsync(string? afterName, int limit, CancellationToken cancellationToken);

    /// <summary>Deletes every version of a function and its reserved concurrency; false when there was none.</summary>
    Task<bool> DeleteFunctionAsync(string name, CancellationToken cancellationToken);

    Task<(int FunctionCount, long TotalCodeSize)> GetUsageAsync(CancellationToken cancellationToken);

    /// <summary>A function's reserved concurrency; null when it has none.</summary>
    Task<int?> GetReservedConcurrencyAsync(string name, CancellationToken cancellationToken);

    /// <summary>Every reservation, by function name.</summary>
    Task<IReadOnlyDictionary<string, int>> ListReservedConcurrencyAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Sets a function's reserved concurrency if the function exists and the reservations of all functions, this one
    /// included, stay at or below <paramref name="maxTotalReserved"/>; checked and written atomically.
    /// </summary>
    Task<ReservationWrite> TryPutReservedConcurrencyAsync(string name, int reserved, int maxTotalReserved, CancellationToken cancellationToken);

    /// <summary>Removes a function's reserved concurrency; false when it had none.</summary>
    Task<bool> DeleteReservedConcurrencyAsync(string name, CancellationToken cancellationToken);
}
