using Nimbus.Functions;

namespace Nimbus.Tests.Functions;

public sealed class QualifiersTests
{
    [Theory]
    [InlineData(null, true, false, false)]
    [InlineData("$LATEST", true, false, false)]
    [InlineData("1", false, true, false)]
    [InlineData("0042", false, true, false)]
    [InlineData("live", false, false, true)]
    [InlineData("v1", false, false, true)]
    [InlineData("١", false, false, true)]
    public void A_qualifier_is_LATEST_a_version_number_or_an_alias(string? qualifier, bool latest, bool version, bool alias)
    {
        Assert.Equal(latest, Qualifiers.IsLatest(qualifier));
        Assert.Equal(version, qualifier is not null && Qualifiers.IsVersion(qualifier));
        Assert.Equal(alias, Qualifiers.IsAlias(qualifier));
    }

    [Theory]
    [InlineData("hello:7", "hello", "7")]
    [InlineData("hello:live", "hello", "live")]
    [InlineData("arn:aws:lambda:us-east-1:000000000000:function:hello:live", "hello", "live")]
    [InlineData("arn:aws:lambda:us-east-1:000000000000:function:hello:12", "hello", "12")]
    public void Versions_and_aliases_can_be_named_in_the_function_name(string raw, string name, string qualifier)
    {
        var result = FunctionReference.Parse(raw, null, "us-east-1", "000000000000");

        Assert.Equal(new FunctionReference(name, qualifier), result.Value);
    }
}
