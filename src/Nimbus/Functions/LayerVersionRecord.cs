namespace Nimbus.Functions;

/// <summary>
/// One published version of a layer as stored in the metadata store. Immutable once published; persisted as JSON
/// pinned by a golden test in Nimbus.Tests.
/// </summary>
internal sealed record LayerVersionRecord
{
    public required string LayerName { get; init; }
    public required int Version { get; init; }
    public string Description { get; init; } = "";
    public IReadOnlyList<string>? CompatibleRuntimes { get; init; }
    public IReadOnlyList<string>? CompatibleArchitectures { get; init; }
    public string? LicenseInfo { get; init; }

    /// <summary>Lower-case hex SHA-256 of the layer's zip: the key into the code store.</summary>
    public required string CodeSha256Hex { get; init; }
    public required long CodeSize { get; init; }
    public required DateTimeOffset CreatedDate { get; init; }
}

/// <summary>
/// A layer as a function version uses it, persisted inside the function record: the version ARN and its code,
/// so a function keeps working (as on AWS) after the layer version itself is deleted.
/// </summary>
internal sealed record FunctionLayer
{
    public required string Arn { get; init; }
    public required string CodeSha256Hex { get; init; }
    public required long CodeSize { get; init; }
}
