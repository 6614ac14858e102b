using Xunit.Abstractions;
using Xunit.Sdk;

namespace Nimbus.IntegrationTests;

/// <summary>The collection orderer CI's wall time depends on (pure logic: no server).</summary>
public sealed class SlowestFirstOrdererTests
{
    [Fact]
    public void Listed_collections_start_slowest_first_and_the_others_follow_in_their_own_order()
    {
        var collections = new[]
        {
            Collection("Test collection for Nimbus.IntegrationTests.ZetaTests"),
            Collection("Test collection for Nimbus.IntegrationTests.RuntimeTests"),
            Collection(LogsCollectionDefinition.Name),
            Collection("Test collection for Nimbus.IntegrationTests.AlphaTests"),
            Collection("Test collection for Nimbus.IntegrationTests.AuthConditionTests"),
            Collection(ProvisionedConcurrencyTests.Name),
            Collection("Test collection for Nimbus.IntegrationTests.VersionTests"),
        };

        var ordered = new SlowestFirstOrderer().OrderTestCollections(collections).Select(c => c.DisplayName).ToList();

        Assert.Equal(
        [
            "Test collection for Nimbus.IntegrationTests.AuthConditionTests",
            LogsCollectionDefinition.Name,
            "Test collection for Nimbus.IntegrationTests.VersionTests",
            "Test collection for Nimbus.IntegrationTests.RuntimeTests",
            ProvisionedConcurrencyTests.Name,
            "Test collection for Nimbus.IntegrationTests.ZetaTests",
            "Test collection for Nimbus.IntegrationTests.AlphaTests",
        ], ordered);
    }

    [Fact]
    public void Every_collection_comes_out_once_and_an_empty_run_stays_empty()
    {
        var collections = Enumerable.Range(0, 40).Select(i => Collection($"Test collection for Nimbus.IntegrationTests.C{i}Tests"))
            .Append(Collection("Test collection for Nimbus.IntegrationTests.AliasTests")).ToList();

        var ordered = new SlowestFirstOrderer().OrderTestCollections(collections).ToList();

        Assert.Equal(collections.Count, ordered.Distinct().Count());
        Assert.All(collections, c => Assert.Contains(c, ordered));
        Assert.Same(collections[^1], ordered[0]);
        Assert.Empty(new SlowestFirstOrderer().OrderTestCollections([]));
    }

    private static readonly ITestAssembly Assembly = new TestAssembly(Reflector.Wrap(typeof(SlowestFirstOrderer).Assembly));

    private static TestCollection Collection(string displayName) => new(Assembly, null, displayName);
}
