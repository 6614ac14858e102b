namespace Nimbus.Functions;

/// <summary>
/// A function alias as stored in the metadata store: a name pointing at one version, optionally sending a share
/// of invocations to one more version. Persisted as JSON; the golden test in Nimbus.Tests pins the shape.
/// </summary>
internal sealed record AliasRecord
{
    public required string FunctionName { get; init; }
    public required string Name { get; init; }
    public required string FunctionVersion { get; init; }
    public string Description { get; init; } = "";

    /// <summary>AWS's <c>RoutingConfig.AdditionalVersionWeights</c>: at most one version and the share (0.0-1.0) it gets.</summary>
    public IReadOnlyDictionary<string, double>? AdditionalVersionWeights { get; init; }
    public required string RevisionId { get; init; }
}
