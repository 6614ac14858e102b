using Nimbus.Functions;

namespace Nimbus.Storage;

/// <summary>What <see cref="IMetadataStore.TryPublishVersionAsync"/> did.</summary>
internal enum VersionPublishStatus
{
    /// <summary>A new version is stored.</summary>
    Published,

    /// <summary>The last version was published from this same revision of $LATEST; it is returned, nothing stored.</summary>
    Unchanged,

    FunctionNotFound,

    /// <summary>$LATEST changed since the caller read it; nothing stored.</summary>
    RevisionChanged,
}

internal readonly record struct VersionPublish(VersionPublishStatus Status, FunctionRecord? Version = null);

internal enum VersionDeleteStatus
{
    Deleted,
    NotFound,

    /// <summary>Aliases route to the version; it stays.</summary>
    ReferencedByAliases,
}

internal readonly record struct VersionDelete(VersionDeleteStatus Status, IReadOnlyList<string> Aliases);

/// <summary>What an alias write did.</summary>
internal enum AliasWriteStatus
{
    Saved,
    FunctionNotFound,

    /// <summary>A version the alias would route to does not exist: see <see cref="AliasWrite.MissingVersion"/>.</summary>
    VersionNotFound,
    AliasExists,
    AliasNotFound,

    /// <summary>The stored alias has another revision than the caller expected.</summary>
    RevisionChanged,
}

internal readonly record struct AliasWrite(AliasWriteStatus Status, string? MissingVersion = null);
