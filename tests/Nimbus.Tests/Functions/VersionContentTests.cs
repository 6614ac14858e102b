using Nimbus.Functions;

namespace Nimbus.Tests.Functions;

public sealed class VersionContentTests
{
    private static readonly FunctionRecord Latest = new()
    {
        Name = "hello",
        Runtime = "nodejs20.x",
        Handler = "index.handler",
        Role = "arn:aws:iam::000000000000:role/x",
        Description = "latest",
        Environment = new Dictionary<string, string> { ["A"] = "1", ["B"] = "2" },
        CodeSha256Hex = new string('a', 64),
        CodeSize = 10,
        LastModified = new DateTimeOffset(2026, 12, 1, 9, 0, 0, TimeSpan.Zero),
        RevisionId = "r1",
        Tags = new Dictionary<string, string> { ["team"] = "a" },
    };

    private static FunctionRecord PublishedFrom(FunctionRecord latest, string? description = null) => latest with
    {
        Version = "1",
        Description = description ?? latest.Description,
        LastModified = latest.LastModified.AddMinutes(1),
        RevisionId = "v1",
        PublishedFromRevisionId = latest.RevisionId,
        PublishedFromDescription = latest.Description,
    };

    [Fact]
    public void A_new_revision_with_the_same_code_and_configuration_is_unchanged()
    {
        var version = PublishedFrom(Latest, description: "override");
        var moved = Latest with
        {
            RevisionId = "r2",
            LastModified = Latest.LastModified.AddHours(1),
            Environment = new Dictionary<string, string> { ["B"] = "2", ["A"] = "1" },
            Tags = new Dictionary<string, string> { ["team"] = "b" },
        };

        Assert.True(VersionContent.IsUnchangedSince(version, moved));
    }

    [Theory]
    [InlineData("code")]
    [InlineData("description")]
    [InlineData("environment")]
    [InlineData("timeout")]
    [InlineData("layers")]
    public void Any_change_to_code_or_configuration_is_a_change(string what)
    {
        var version = PublishedFrom(Latest);
        var moved = Latest with { RevisionId = "r2" };
        var changed = what switch
        {
            "code" => moved with { CodeSha256Hex = new string('b', 64) },
            "description" => moved with { Description = "other" },
            "environment" => moved with { Environment = new Dictionary<string, string> { ["A"] = "1" } },
            "timeout" => moved with { Timeout = 30 },
            _ => moved with { Layers = [new FunctionLayer { Arn = "arn:aws:lambda:us-east-1:000000000000:layer:l:1", CodeSize = 1, CodeSha256Hex = new string('c', 64) }] },
        };

        Assert.False(VersionContent.IsUnchangedSince(version, changed));
    }

    [Fact]
    public void A_version_published_before_PublishedFromDescription_existed_compares_its_own_description()
    {
        var old = PublishedFrom(Latest) with { PublishedFromDescription = null };

        Assert.True(VersionContent.IsUnchangedSince(old, Latest with { RevisionId = "r2" }));
        Assert.False(VersionContent.IsUnchangedSince(old with { Description = "override" }, Latest with { RevisionId = "r2" }));
    }
}
