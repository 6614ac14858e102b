using System.Globalization;
using Nimbus.Storage;

namespace Nimbus.Functions;

// Provisioned concurrency (Put/Get/Delete/ListProvisionedConcurrencyConfigs): on a published version or an alias,
// never on $LATEST. The store holds the setting; IProvisionedConcurrency keeps that many instances of the version
// (an alias's version) initialized, and reports READY once they all are.
internal sealed partial class FunctionService
{
    public async Task<LambdaResult<ProvisionedConcurrencyConfig>> PutProvisionedConcurrencyAsync(FunctionReference reference, PutProvisionedConcurrencyConfigRequest request, CancellationToken cancellationToken)
    {
        if (request.ProvisionedConcurrentExecutions is not { } requested)
        {
            return LambdaError.ValidationFailed("null", "provisionedConcurrentExecutions", "Member must not be null");
        }

        if (requested < 1)
        {
            return LambdaError.ValidationFailed(Invariant(requested), "provisionedConcurrentExecutions", "Member must have value greater than or equal to 1");
        }

        var target = await ProvisionedTargetAsync(reference, cancellationToken).ConfigureAwait(false);
        if (target.IsError)
        {
            return target.Error!;
        }

        if (await store.GetReservedConcurrencyAsync(reference.Name, cancellationToken).ConfigureAwait(false) is { } reserved && requested > reserved)
        {
            return LambdaError.InvalidParameter($"Requested Provisioned Concurrency should not be greater than the reservedConcurrentExecution for function: {reserved}.");
        }

        var row = new ProvisionedConcurrencyRow(reference.Name, reference.Qualifier!, requested, FormatTimestamp(time.GetUtcNow()));
        await store.PutProvisionedConcurrencyAsync(row, CancellationToken.None).ConfigureAwait(false);
        provisioned.SetProvisionedConcurrency(target.Value!, requested);
        Log.ProvisionedConcurrencySet(logger, reference.Name, reference.Qualifier!, requested);
        return ToProvisionedConfig(row, target.Value!, includeArn: false);
    }

    public async Task<LambdaResult<ProvisionedConcurrencyConfig>> GetProvisionedConcurrencyAsync(FunctionReference reference, CancellationToken cancellationToken)
    {
        var target = await ProvisionedTargetAsync(reference, cancellationToken).ConfigureAwait(false);
        if (target.IsError)
        {
            return target.Error!;
        }

        var row = (await store.ListProvisionedConcurrencyAsync(reference.Name, cancellationToken).ConfigureAwait(false))
            .FirstOrDefault(r => r.Qualifier == reference.Qualifier);
        return row is null ? LambdaError.NoProvisionedConcurrencyConfig() : ToProvisionedConfig(row, target.Value!, includeArn: false);
    }

    public async Task<LambdaError?> DeleteProvisionedConcurrencyAsync(FunctionReference reference, CancellationToken cancellationToken)
    {
        var target = await ProvisionedTargetAsync(reference, cancellationToken).ConfigureAwait(false);
        if (target.IsError)
        {
            return target.Error;
        }

        if (!await store.DeleteProvisionedConcurrencyAsync(reference.Name, reference.Qualifier!, CancellationToken.None).ConfigureAwait(false))
        {
            return LambdaError.NoProvisionedConcurrencyConfig();
        }

        provisioned.SetProvisionedConcurrency(target.Value!, 0);
        Log.ProvisionedConcurrencyDeleted(logger, reference.Name, reference.Qualifier!);
        return null;
    }

    public async Task<LambdaResult<ListProvisionedConcurrencyConfigsResponse>> ListProvisionedConcurrencyAsync(FunctionReference reference, CancellationToken cancellationToken)
    {
        if (reference.Qualifier is not null)
        {
            return LambdaError.InvalidParameter("ListProvisionedConcurrencyConfigs takes the function name without a qualifier.");
        }

        var function = await GetAsync(reference, cancellationToken).ConfigureAwait(false);
        if (function.IsError)
        {
            return function.Error!;
        }

        var items = new List<ProvisionedConcurrencyConfig>();
        foreach (var row in await store.ListProvisionedConcurrencyAsync(reference.Name, cancellationToken).ConfigureAwait(false))
        {
            if (await GetAsync(reference with { Qualifier = row.Qualifier }, cancellationToken).ConfigureAwait(false) is { IsError: false } version)
            {
                items.Add(ToProvisionedConfig(row, version.Value!, includeArn: true));
            }
        }

        return new ListProvisionedConcurrencyConfigsResponse { ProvisionedConcurrencyConfigs = items };
    }

    /// <summary>
    /// Stops provisioning for a version or alias that is being deleted (its setting goes with it), or for every
    /// one of a function's when <paramref name="qualifier"/> is null (the store drops those rows with the function).
    /// </summary>
    private async Task ForgetProvisionedConcurrencyAsync(string functionName, string? qualifier, IReadOnlyList<ProvisionedConcurrencyRow> rows)
    {
        foreach (var row in rows.Where(r => qualifier is null || r.Qualifier == qualifier))
        {
            if (qualifier is not null)
            {
                await store.DeleteProvisionedConcurrencyAsync(functionName, row.Qualifier, CancellationToken.None).ConfigureAwait(false);
            }

            if (_provisionedVersions.TryRemove((functionName, row.Qualifier), out var version))
            {
                provisioned.SetProvisionedConcurrency(version, 0);
            }
        }
    }

    /// <summary>An alias now names another version: its provisioned instances move there.</summary>
    private async Task RetargetProvisionedConcurrencyAsync(string functionName, string aliasName)
    {
        var row = (await store.ListProvisionedConcurrencyAsync(functionName, CancellationToken.None).ConfigureAwait(false)).FirstOrDefault(r => r.Qualifier == aliasName);
        if (row is null || await GetAsync(new FunctionReference(functionName, aliasName), CancellationToken.None).ConfigureAwait(false) is not { IsError: false } version)
        {
            return;
        }

        if (_provisionedVersions.TryGetValue((functionName, aliasName), out var previous) && previous.Version != version.Value!.Version)
        {
            provisioned.SetProvisionedConcurrency(previous, 0);
        }

        _provisionedVersions[(functionName, aliasName)] = version.Value!;
        provisioned.SetProvisionedConcurrency(version.Value!, row.Requested);
    }

    // The version each provisioned qualifier was last given to, so a deleted alias or function releases it.
    private readonly System.Collections.Concurrent.ConcurrentDictionary<(string Function, string Qualifier), FunctionRecord> _provisionedVersions = new();

    /// <summary>Every stored setting goes back to its version at start-up.</summary>
    private async Task RestoreProvisionedConcurrencyAsync(CancellationToken cancellationToken)
    {
        foreach (var row in await store.ListProvisionedConcurrencyAsync(null, cancellationToken).ConfigureAwait(false))
        {
            var reference = new FunctionReference(row.FunctionName, row.Qualifier);
            if (await GetAsync(reference, cancellationToken).ConfigureAwait(false) is { IsError: false } version)
            {
                _provisionedVersions[(row.FunctionName, row.Qualifier)] = version.Value!;
                provisioned.SetProvisionedConcurrency(version.Value!, row.Requested);
            }
        }
    }

    /// <summary>The published version a qualifier provisions: the version itself, or the version an alias names.</summary>
    private async Task<LambdaResult<FunctionRecord>> ProvisionedTargetAsync(FunctionReference reference, CancellationToken cancellationToken)
    {
        if (reference.Qualifier is null)
        {
            return LambdaError.ValidationFailed("null", "qualifier", "Member must not be null");
        }

        if (reference.Qualifier == FunctionRecord.Latest)
        {
            return LambdaError.InvalidParameter("Provisioned Concurrency Configs cannot be applied to unpublished function versions.");
        }

        var version = await GetAsync(reference, cancellationToken).ConfigureAwait(false);
        if (version.IsError)
        {
            return version.Error!;
        }

        _provisionedVersions[(reference.Name, reference.Qualifier)] = version.Value!;
        return version;
    }

    private ProvisionedConcurrencyConfig ToProvisionedConfig(ProvisionedConcurrencyRow row, FunctionRecord version, bool includeArn)
    {
        var (_, ready, failure) = provisioned.ProvisionedStatus(version);
        var allocated = Math.Min(ready, row.Requested);
        return new ProvisionedConcurrencyConfig
        {
            FunctionArn = includeArn ? FunctionArn(row.FunctionName, row.Qualifier) : null,
            RequestedProvisionedConcurrentExecutions = row.Requested,
            AllocatedProvisionedConcurrentExecutions = allocated,
            AvailableProvisionedConcurrentExecutions = allocated,
            Status = allocated >= row.Requested ? ProvisionedConcurrencyStatus.Ready
                : failure is not null ? ProvisionedConcurrencyStatus.Failed
                : ProvisionedConcurrencyStatus.InProgress,
            StatusReason = allocated >= row.Requested ? null : failure,
            LastModified = row.LastModified,
        };
    }

    private static string FormatTimestamp(DateTimeOffset time) =>
        time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'+0000'", CultureInfo.InvariantCulture);
}
