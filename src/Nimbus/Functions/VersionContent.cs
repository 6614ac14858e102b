using System.Text.Json;
using Nimbus.Storage;

namespace Nimbus.Functions;

/// <summary>
/// Whether <c>$LATEST</c> still holds the code and configuration a published version froze. AWS publishes no new
/// version when nothing changed since the last one and returns that version instead, whatever RevisionId or
/// LastModified say: UpdateFunctionCode with the same zip, or UpdateFunctionConfiguration with the same values, moves
/// both but changes nothing a version holds.
/// </summary>
internal static class VersionContent
{
    public static bool IsUnchangedSince(FunctionRecord version, FunctionRecord latest) =>
        version.PublishedFromRevisionId == latest.RevisionId
        || Canonical(version with { Description = version.PublishedFromDescription ?? version.Description }) == Canonical(latest);

    // Everything a version freezes, serialized as the store persists it (so a field added later is compared without
    // anyone remembering to): identity, timestamps, status and Tags (they belong to the function, not to a version)
    // are left out; environment variables compare by value, whatever their order.
    private static string Canonical(FunctionRecord record) => JsonSerializer.Serialize(record with
    {
        Version = FunctionRecord.Latest,
        LastModified = default,
        RevisionId = "",
        State = FunctionStates.Active,
        LastUpdateStatus = FunctionStates.Successful,
        PublishedFromRevisionId = null,
        PublishedFromDescription = null,
        Tags = null,
        Environment = record.Environment is { Count: > 0 } environment
            ? new SortedDictionary<string, string>(environment.ToDictionary(), StringComparer.Ordinal)
            : null,
    }, StorageJsonContext.Default.FunctionRecord);
}
