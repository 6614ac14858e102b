using Nimbus.Security;

namespace Nimbus.Tests.Security;

/// <summary>The policy language <c>Version</c>: refused when a policy is put, tolerated when a stored one is read.</summary>
public sealed class PolicyDocumentVersionTests
{
    private const string Statement = """{"Effect":"Allow","Action":"sqs:ListQueues","Resource":"*"}""";

    [Theory]
    [InlineData(null)]
    [InlineData("\"2012-10-17\"")]
    [InlineData("\"2008-10-17\"")]
    public void A_policy_without_Version_or_with_one_of_IAMs_two_is_accepted_when_put(string? version)
    {
        var document = PolicyDocument.TryParseNew(Policy(version), resourcePolicy: false, out var error);
        Assert.Null(error);
        Assert.Equal(version == "\"2012-10-17\"", Assert.Single(document!.Statements).ExpandsVariables);
    }

    [Theory]
    [InlineData("\"2012-10-18\"")]
    [InlineData("\"\"")]
    [InlineData("\"2012-10-17 \"")]
    [InlineData("20121017")]
    [InlineData("null")]
    public void Another_Version_is_refused_when_put_and_still_read_from_storage_as_the_older_language(string version)
    {
        Assert.Null(PolicyDocument.TryParseNew(Policy(version), resourcePolicy: false, out var error));
        Assert.StartsWith("The policy must contain a valid version string: Version " + version, error, StringComparison.Ordinal);

        // A policy stored before the check keeps loading, without policy variables, as it always did.
        var stored = PolicyDocument.TryParse(Policy(version), out var loadError);
        Assert.Null(loadError);
        Assert.False(Assert.Single(stored!.Statements).ExpandsVariables);
    }

    [Fact]
    public void Resource_policies_are_checked_the_same_way_and_other_errors_come_first()
    {
        Assert.Null(PolicyDocument.TryParseNew("""{"Version":"1","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"*"}]}""", resourcePolicy: true, out var error));
        Assert.StartsWith("The policy must contain a valid version string", error, StringComparison.Ordinal);
        Assert.Null(PolicyDocument.TryParseNew("""{"Version":"1"}""", resourcePolicy: true, out error));
        Assert.Equal("The policy document has no Statement.", error);
    }

    private static string Policy(string? version) =>
        version is null ? $$"""{"Statement":{{Statement}}}""" : $$"""{"Version":{{version}},"Statement":{{Statement}}}""";
}
