using System.Collections.Concurrent;
using Nimbus.Storage;

namespace Nimbus.Functions;

// Aliases: CreateAlias, GetAlias, UpdateAlias, DeleteAlias, ListAliases. An alias names one version and may send
// a weighted share of invocations to one more; invokes resolve it from a cache that every alias write drops.
// Alias changes retire no sandbox pool: the versions they point to keep their warm instances.
internal sealed partial class FunctionService
{
    private readonly ConcurrentDictionary<(string Function, string Alias), AliasRecord> _aliases = new();

    public string AliasArn(string functionName, string aliasName) => FunctionArn(functionName, aliasName);

    public async Task<LambdaResult<AliasRecord>> CreateAliasAsync(FunctionReference reference, CreateAliasRequest request, CancellationToken cancellationToken)
    {
        var error = AliasRouting.ValidateName(request.Name)
            ?? AliasRouting.ValidateFunctionVersion(request.FunctionVersion)
            ?? ValidateAliasDescription(request.Description)
            ?? AliasRouting.ValidateWeights(request.RoutingConfig?.AdditionalVersionWeights, request.FunctionVersion!);
        if (error is not null)
        {
            return error;
        }

        var alias = new AliasRecord
        {
            FunctionName = reference.Name,
            Name = request.Name!,
            FunctionVersion = request.FunctionVersion!,
            Description = request.Description ?? "",
            AdditionalVersionWeights = request.RoutingConfig?.AdditionalVersionWeights is { Count: > 0 } weights ? weights : null,
            RevisionId = Guid.NewGuid().ToString(),
        };

        var written = await store.TryCreateAliasAsync(alias, cancellationToken).ConfigureAwait(false);
        if (AliasWriteError(written, reference.Name, alias.Name) is { } writeError)
        {
            return writeError;
        }

        Invalidate(reference.Name);
        Log.AliasWritten(logger, reference.Name, alias.Name, alias.FunctionVersion);
        return alias;
    }

    public async Task<LambdaResult<AliasRecord>> GetAliasAsync(FunctionReference reference, string aliasName, CancellationToken cancellationToken)
    {
        if (AliasRouting.ValidateName(aliasName) is { } nameError)
        {
            return nameError;
        }

        var alias = await FindAliasAsync(reference.Name, aliasName, cancellationToken).ConfigureAwait(false);
        return alias is null ? await AliasNotFoundAsync(reference.Name, aliasName, cancellationToken).ConfigureAwait(false) : alias;
    }

    public async Task<LambdaResult<AliasRecord>> UpdateAliasAsync(FunctionReference reference, string aliasName, UpdateAliasRequest request, CancellationToken cancellationToken)
    {
        var error = AliasRouting.ValidateName(aliasName)
            ?? (request.FunctionVersion is null ? null : AliasRouting.ValidateFunctionVersion(request.FunctionVersion))
            ?? ValidateAliasDescription(request.Description);
        if (error is not null)
        {
            return error;
        }

        var current = await store.GetAliasAsync(reference.Name, aliasName, cancellationToken).ConfigureAwait(false);
        if (current is null)
        {
            return await AliasNotFoundAsync(reference.Name, aliasName, cancellationToken).ConfigureAwait(false);
        }

        var expectedRevision = request.RevisionId is { Length: > 0 } revision ? revision : null;
        if (expectedRevision is not null && expectedRevision != current.RevisionId)
        {
            return LambdaError.RevisionMismatch();
        }

        // RoutingConfig replaces the weights when given; an empty one removes them.
        var weights = request.RoutingConfig is null
            ? current.AdditionalVersionWeights
            : request.RoutingConfig.AdditionalVersionWeights is { Count: > 0 } given ? given : null;
        var version = request.FunctionVersion ?? current.FunctionVersion;
        if (AliasRouting.ValidateWeights(weights, version) is { } weightsError)
        {
            return weightsError;
        }

        var updated = current with
        {
            FunctionVersion = version,
            Description = request.Description ?? current.Description,
            AdditionalVersionWeights = weights,
            RevisionId = Guid.NewGuid().ToString(),
        };
        var written = await store.TryUpdateAliasAsync(updated, current.RevisionId, cancellationToken).ConfigureAwait(false);
        if (written.Status == AliasWriteStatus.RevisionChanged)
        {
            return expectedRevision is null ? UpdateInProgress(reference.Name) : LambdaError.RevisionMismatch();
        }

        if (AliasWriteError(written, reference.Name, aliasName) is { } writeError)
        {
            return writeError;
        }

        Invalidate(reference.Name);
        await RetargetProvisionedConcurrencyAsync(reference.Name, aliasName).ConfigureAwait(false);
        Log.AliasWritten(logger, reference.Name, aliasName, version);
        return updated;
    }

    public async Task<LambdaError?> DeleteAliasAsync(FunctionReference reference, string aliasName, CancellationToken cancellationToken)
    {
        if (AliasRouting.ValidateName(aliasName) is { } nameError)
        {
            return nameError;
        }

        if (!await store.DeleteAliasAsync(reference.Name, aliasName, cancellationToken).ConfigureAwait(false))
        {
            return (await AliasNotFoundAsync(reference.Name, aliasName, cancellationToken).ConfigureAwait(false)).Error;
        }

        Invalidate(reference.Name);
        await ForgetProvisionedConcurrencyAsync(reference.Name, aliasName,
            await store.ListProvisionedConcurrencyAsync(reference.Name, CancellationToken.None).ConfigureAwait(false)).ConfigureAwait(false);
        Log.AliasDeleted(logger, reference.Name, aliasName);
        return null;
    }

    public async Task<LambdaResult<(IReadOnlyList<AliasRecord> Aliases, string? NextMarker)>> ListAliasesAsync(
        FunctionReference reference, string? functionVersion, string? marker, int? maxItems, CancellationToken cancellationToken)
    {
        if (functionVersion is { Length: > 0 } && AliasRouting.ValidateFunctionVersion(functionVersion) is { } versionError)
        {
            return versionError;
        }

        var function = await GetVersionAsync(reference.Name, FunctionRecord.Latest, cancellationToken).ConfigureAwait(false);
        if (function.IsError)
        {
            return function.Error!;
        }

        var aliases = await store.ListAliasesAsync(reference.Name, cancellationToken).ConfigureAwait(false);
        IReadOnlyList<AliasRecord> matching = functionVersion is { Length: > 0 }
            ? [.. aliases.Where(a => a.FunctionVersion == functionVersion)]
            : aliases;
        return Paging.Page(matching, a => a.Name, marker, maxItems, "ListAliases");
    }

    public AliasConfiguration ToAliasConfiguration(AliasRecord alias) => new()
    {
        AliasArn = AliasArn(alias.FunctionName, alias.Name),
        Name = alias.Name,
        FunctionVersion = alias.FunctionVersion,
        Description = alias.Description,
        RoutingConfig = alias.AdditionalVersionWeights is { Count: > 0 } weights
            ? new AliasRoutingConfiguration { AdditionalVersionWeights = new(weights) }
            : null,
        RevisionId = alias.RevisionId,
    };

    /// <summary>An alias from the cache, reading the store on a miss; null when there is none.</summary>
    private async ValueTask<AliasRecord?> FindAliasAsync(string functionName, string aliasName, CancellationToken cancellationToken)
    {
        var key = (functionName, aliasName);
        if (_aliases.TryGetValue(key, out var cached))
        {
            return cached;
        }

        var generation = Volatile.Read(ref _cacheGeneration);
        var alias = await store.GetAliasAsync(functionName, aliasName, cancellationToken).ConfigureAwait(false);
        if (alias is not null)
        {
            CacheIfCurrent(_aliases, key, alias, generation);
        }

        return alias;
    }

    /// <summary>AWS names the missing function when there is none, else the missing alias.</summary>
    private async Task<LambdaResult<AliasRecord>> AliasNotFoundAsync(string functionName, string aliasName, CancellationToken cancellationToken)
    {
        var function = await GetVersionAsync(functionName, FunctionRecord.Latest, cancellationToken).ConfigureAwait(false);
        return function.IsError
            ? function.Error!
            : new LambdaError(LambdaError.ResourceNotFound, 404, $"Cannot find alias arn: {AliasArn(functionName, aliasName)}", CapitalMessageKey: true);
    }

    private LambdaError? AliasWriteError(AliasWrite written, string functionName, string aliasName) => written.Status switch
    {
        AliasWriteStatus.Saved => null,
        AliasWriteStatus.FunctionNotFound => LambdaError.FunctionNotFound(FunctionArn(functionName)),
        AliasWriteStatus.VersionNotFound => LambdaError.FunctionNotFound(FunctionArn(functionName, written.MissingVersion)),
        AliasWriteStatus.AliasExists => new LambdaError(LambdaError.ResourceConflict, 409, $"Alias already exists: {AliasArn(functionName, aliasName)}"),
        AliasWriteStatus.AliasNotFound => new LambdaError(LambdaError.ResourceNotFound, 404, $"Cannot find alias arn: {AliasArn(functionName, aliasName)}", CapitalMessageKey: true),
        _ => LambdaError.RevisionMismatch(),
    };

    private static LambdaError? ValidateAliasDescription(string? description) =>
        description is { Length: > LambdaLimits.MaxDescriptionLength }
            ? LambdaError.ValidationFailed(description, "description", $"Member must have length less than or equal to {LambdaLimits.MaxDescriptionLength}")
            : null;
}
