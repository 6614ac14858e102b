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

    /// <summary>Deletes every version of a function; false when there was none.</summary>
    Task<bool> DeleteFunctionAsync(string name, CancellationToken cancellationToken);

    Task<(int FunctionCount, long TotalCodeSize)> GetUsageAsync(CancellationToken cancellationToken);
}
