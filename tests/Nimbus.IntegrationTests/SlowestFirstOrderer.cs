using Xunit.Abstractions;
using Xunit.Sdk;

[assembly: TestCollectionOrderer("Nimbus.IntegrationTests.SlowestFirstOrderer", "Nimbus.IntegrationTests")]

namespace Nimbus.IntegrationTests;

/// <summary>
/// Starts the slowest test collections first, so that the parallel part of a run ends with short ones instead of
/// one long class running alone after the others finished (longest-first keeps the 4 parallel slots busy to the
/// end). The list comes from CI's per-class durations (docs/testing.md, "Where the time goes"); a class missing from it
/// only starts later, in xUnit's default order, and a stale entry costs nothing.
/// </summary>
public sealed class SlowestFirstOrderer : ITestCollectionOrderer
{
    // Slowest first: the sums of the classes' test durations in CI (ci-s18a/b, minus what the "fixes" session removed; docs/testing.md).
    private static readonly string[] Slowest =
    [
        "AuthConditionTests", "AuthServicesTests", "MetricsTests", LogsCollectionDefinition.Name, "EventSourceMappingTests",
        "DotnetRuntimeTests", "ScheduleTests", "VersionTests", "BucketCliTests", "ControlPlaneTests", "ReadmeTourTests",
        "AsyncInvocationTests", "RuntimeTests", "BucketCrashTests", "FunctionUrlTests", "QueueCliTests", "ConcurrencyTests",
        "AliasTests", "LayerTests", "AuthPolicyTests", "FailureTests", "AuthTests", "JavaRuntimeTests", ProvisionedConcurrencyTests.Name,
    ];

    public IEnumerable<ITestCollection> OrderTestCollections(IEnumerable<ITestCollection> testCollections) =>
        testCollections.Select((collection, index) => (collection, index))
            .OrderBy(c => Rank(c.collection) is var rank and >= 0 ? rank : Slowest.Length + c.index)
            .Select(c => c.collection);

    /// <summary>A class's own collection is "Test collection for Nimbus.IntegrationTests.X"; a named one is its name.</summary>
    private static int Rank(ITestCollection collection)
    {
        var name = collection.DisplayName;
        var dot = name.LastIndexOf('.');
        return Array.IndexOf(Slowest, dot >= 0 ? name[(dot + 1)..] : name);
    }
}
