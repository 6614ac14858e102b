using Nimbus.Storage;

namespace Nimbus.Functions;

// Published versions: PublishVersion (also CreateFunction/UpdateFunctionCode with Publish), ListVersionsByFunction
// and DeleteFunction with a version qualifier. A version is an immutable copy of $LATEST's record with its own
// number and RevisionId; its sandbox pool is keyed by that number, so it outlives every later $LATEST change.
internal sealed partial class FunctionService
{
    /// <summary>How often PublishVersion without a RevisionId re-reads $LATEST when a concurrent update moved it.</summary>
    private const int PublishAttempts = 3;

    public async Task<LambdaResult<FunctionRecord>> PublishVersionAsync(FunctionReference reference, PublishVersionRequest request, CancellationToken cancellationToken)
    {
        if (reference.Qualifier is not null)
        {
            return LambdaError.InvalidParameter($"PublishVersion publishes $LATEST: name the function without a qualifier (got '{reference.Qualifier}').");
        }

        if (request.Description is { Length: > LambdaLimits.MaxDescriptionLength } description)
        {
            return LambdaError.ValidationFailed(description, "description", $"Member must have length less than or equal to {LambdaLimits.MaxDescriptionLength}");
        }

        var expectedRevision = request.RevisionId is { Length: > 0 } revision ? revision : null;
        for (var attempt = 1; ; attempt++)
        {
            var latest = await store.GetFunctionAsync(reference.Name, FunctionRecord.Latest, cancellationToken).ConfigureAwait(false);
            if (latest is null)
            {
                return LambdaError.FunctionNotFound(FunctionArn(reference.Name));
            }

            if (expectedRevision is not null && expectedRevision != latest.RevisionId)
            {
                return LambdaError.RevisionMismatch();
            }

            var codeSha256 = Convert.ToBase64String(Convert.FromHexString(latest.CodeSha256Hex));
            if (request.CodeSha256 is { Length: > 0 } expectedSha256 && expectedSha256 != codeSha256)
            {
                return LambdaError.InvalidParameter(
                    $"CodeSHA256 ({expectedSha256}) is different from current CodeSHA256 in $LATEST ({codeSha256}). Please try again with the CodeSHA256 in $LATEST.");
            }

            var published = await PublishAsync(latest, request.Description, cancellationToken).ConfigureAwait(false);
            if (published.Status != VersionPublishStatus.RevisionChanged)
            {
                return ToPublishResult(published, reference.Name);
            }

            if (expectedRevision is not null)
            {
                return LambdaError.RevisionMismatch();
            }

            if (attempt == PublishAttempts)
            {
                return UpdateInProgress(reference.Name);
            }
        }
    }

    public async Task<LambdaResult<(IReadOnlyList<FunctionRecord> Versions, string? NextMarker)>> ListVersionsAsync(
        FunctionReference reference, string? marker, int? maxItems, CancellationToken cancellationToken)
    {
        var versions = await store.ListVersionsAsync(reference.Name, cancellationToken).ConfigureAwait(false);
        if (versions.Count == 0)
        {
            return LambdaError.FunctionNotFound(FunctionArn(reference.Name));
        }

        return Paging.Page(versions, v => v.Version, marker, maxItems, "ListVersionsByFunction");
    }

    /// <summary>Publishes right after CreateFunction or UpdateFunctionCode wrote <paramref name="saved"/>.</summary>
    private async Task<LambdaResult<FunctionRecord>> PublishAfterWriteAsync(FunctionRecord saved, CancellationToken cancellationToken)
    {
        var published = await PublishAsync(saved, description: null, cancellationToken).ConfigureAwait(false);
        return published.Status == VersionPublishStatus.RevisionChanged ? UpdateInProgress(saved.Name) : ToPublishResult(published, saved.Name);
    }

    private Task<VersionPublish> PublishAsync(FunctionRecord latest, string? description, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        return store.TryPublishVersionAsync(latest.Name, latest.RevisionId, previous => VersionContent.IsUnchangedSince(previous, latest), number => latest with
        {
            Version = number.ToString(System.Globalization.CultureInfo.InvariantCulture),
            Description = description ?? latest.Description,
            LastModified = now,
            RevisionId = Guid.NewGuid().ToString(),
            State = FunctionStates.Active,
            LastUpdateStatus = FunctionStates.Successful,
            PublishedFromRevisionId = latest.RevisionId,
            PublishedFromDescription = latest.Description,
        }, cancellationToken);
    }

    private LambdaResult<FunctionRecord> ToPublishResult(VersionPublish published, string name)
    {
        switch (published.Status)
        {
            case VersionPublishStatus.Published:
                Log.VersionPublished(logger, name, published.Version!.Version);
                return published.Version;
            case VersionPublishStatus.Unchanged:
                Log.VersionUnchanged(logger, name, published.Version!.Version);
                return published.Version;
            case VersionPublishStatus.FunctionNotFound:
                return LambdaError.FunctionNotFound(FunctionArn(name));
            default:
                return UpdateInProgress(name);
        }
    }

    private async Task<LambdaError?> DeleteVersionAsync(string name, string qualifier, CancellationToken cancellationToken)
    {
        if (qualifier == FunctionRecord.Latest)
        {
            return LambdaError.InvalidParameter("$LATEST version cannot be deleted without deleting the function.");
        }

        if (Qualifiers.IsAlias(qualifier))
        {
            return LambdaError.InvalidParameter("Deletion of aliases is not currently supported.");
        }

        var deleted = await store.DeleteVersionAsync(name, qualifier, cancellationToken).ConfigureAwait(false);
        switch (deleted.Status)
        {
            case VersionDeleteStatus.NotFound:
                return LambdaError.FunctionNotFound(FunctionArn(name, qualifier));
            case VersionDeleteStatus.ReferencedByAliases:
                return new LambdaError(LambdaError.ResourceConflict, 409,
                    $"Unable to delete version because the following aliases reference it: [{string.Join(", ", deleted.Aliases)}]");
        }

        Notify(name, qualifier);
        await ForgetProvisionedConcurrencyAsync(name, qualifier,
            await store.ListProvisionedConcurrencyAsync(name, CancellationToken.None).ConfigureAwait(false)).ConfigureAwait(false);
        Log.VersionDeleted(logger, name, qualifier);
        return null;
    }

    private LambdaError UpdateInProgress(string name) =>
        new(LambdaError.ResourceConflict, 409, $"The operation cannot be performed at this time. An update is in progress for resource: {FunctionArn(name)}");
}
