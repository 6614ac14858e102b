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

    /// <summary>Deletes every version and alias of a function and its reserved concurrency; false when there was none.</summary>
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

    /// <summary>
    /// In one transaction: if $LATEST still has <paramref name="latestRevisionId"/>, either finds that
    /// <paramref name="isUnchanged"/> holds for the last published version (<see cref="VersionPublishStatus.Unchanged"/>)
    /// or stores <paramref name="build"/>(next number). Numbers are never reused, even after a version is deleted.
    /// </summary>
    Task<VersionPublish> TryPublishVersionAsync(
        string name, string latestRevisionId, Func<FunctionRecord, bool> isUnchanged, Func<int, FunctionRecord> build, CancellationToken cancellationToken);

    /// <summary>Every version of a function: $LATEST first, then published versions by number.</summary>
    Task<IReadOnlyList<FunctionRecord>> ListVersionsAsync(string name, CancellationToken cancellationToken);

    /// <summary>Deletes one published version unless an alias routes to it.</summary>
    Task<VersionDelete> DeleteVersionAsync(string name, string version, CancellationToken cancellationToken);

    Task<AliasRecord?> GetAliasAsync(string functionName, string aliasName, CancellationToken cancellationToken);

    /// <summary>A function's aliases ordered by name.</summary>
    Task<IReadOnlyList<AliasRecord>> ListAliasesAsync(string functionName, CancellationToken cancellationToken);

    /// <summary>Stores a new alias if the function and every version it routes to exist.</summary>
    Task<AliasWrite> TryCreateAliasAsync(AliasRecord alias, CancellationToken cancellationToken);

    /// <summary>Replaces an alias if its stored revision is still <paramref name="expectedRevisionId"/> and every version it routes to exists.</summary>
    Task<AliasWrite> TryUpdateAliasAsync(AliasRecord alias, string expectedRevisionId, CancellationToken cancellationToken);

    Task<bool> DeleteAliasAsync(string functionName, string aliasName, CancellationToken cancellationToken);

    /// <summary>Stores <paramref name="build"/>(next number) as a new version of a layer; numbers are never reused.</summary>
    Task<LayerVersionRecord> PublishLayerVersionAsync(string layerName, Func<int, LayerVersionRecord> build, CancellationToken cancellationToken);

    Task<LayerVersionRecord?> GetLayerVersionAsync(string layerName, int version, CancellationToken cancellationToken);

    /// <summary>Every version of one layer, newest first.</summary>
    Task<IReadOnlyList<LayerVersionRecord>> ListLayerVersionsAsync(string layerName, CancellationToken cancellationToken);

    /// <summary>Every version of every layer, by layer name, newest version first.</summary>
    Task<IReadOnlyList<LayerVersionRecord>> ListAllLayerVersionsAsync(CancellationToken cancellationToken);

    Task<bool> DeleteLayerVersionAsync(string layerName, int version, CancellationToken cancellationToken);

    /// <summary>Sets the provisioned concurrency of one version or alias (replacing any).</summary>
    Task PutProvisionedConcurrencyAsync(ProvisionedConcurrencyRow row, CancellationToken cancellationToken);

    /// <summary>Every provisioned concurrency setting, or one function's when <paramref name="functionName"/> is given.</summary>
    Task<IReadOnlyList<ProvisionedConcurrencyRow>> ListProvisionedConcurrencyAsync(string? functionName, CancellationToken cancellationToken);

    /// <summary>False when the version or alias had none.</summary>
    Task<bool> DeleteProvisionedConcurrencyAsync(string functionName, string qualifier, CancellationToken cancellationToken);

    /// <summary>Stores a new function URL; false when the function and qualifier already have one.</summary>
    Task<bool> TryCreateFunctionUrlAsync(FunctionUrlRecord record, CancellationToken cancellationToken);

    /// <summary>Replaces a function URL's settings; false when it has none.</summary>
    Task<bool> UpdateFunctionUrlAsync(FunctionUrlRecord record, CancellationToken cancellationToken);

    Task<FunctionUrlRecord?> GetFunctionUrlAsync(string functionName, string qualifier, CancellationToken cancellationToken);

    Task<FunctionUrlRecord?> FindFunctionUrlAsync(string urlId, CancellationToken cancellationToken);

    /// <summary>A function's URLs ordered by qualifier.</summary>
    Task<IReadOnlyList<FunctionUrlRecord>> ListFunctionUrlsAsync(string functionName, CancellationToken cancellationToken);

    /// <summary>False when there was none.</summary>
    Task<bool> DeleteFunctionUrlAsync(string functionName, string qualifier, CancellationToken cancellationToken);
}

/// <summary>One provisioned concurrency setting as stored: LastModified is already in Lambda's format.</summary>
internal sealed record ProvisionedConcurrencyRow(string FunctionName, string Qualifier, int Requested, string LastModified);
