using Nimbus.Security;

namespace Nimbus.Tests.Security;

public sealed class PolicyAuthorizerTests
{
    private const string Fn = "arn:aws:lambda:us-east-1:000000000000:function:f";

    [Theory]
    [InlineData("lambda:*", "lambda:InvokeFunction", true)]
    [InlineData("lambda:Invoke*", "lambda:invokefunction", true)]
    [InlineData("lambda:Get?unction", "lambda:GetFunction", true)]
    [InlineData("lambda:Get*", "lambda:InvokeFunction", false)]
    [InlineData("*", "s3:GetObject", true)]
    public void Actions_match_with_wildcards_ignoring_case(string pattern, string action, bool expected)
    {
        Assert.Equal(expected, Wildcard.Matches(pattern, action, ignoreCase: true));
    }

    [Fact]
    public void Resources_match_case_sensitively()
    {
        Assert.True(Wildcard.Matches("arn:aws:lambda:*:*:function:f*", Fn, ignoreCase: false));
        Assert.False(Wildcard.Matches("arn:aws:lambda:*:*:function:F*", Fn, ignoreCase: false));
    }

    [Fact]
    public void Explicit_deny_wins_over_allow_and_nothing_allowed_is_denied()
    {
        var allow = Parse("""{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"lambda:*","Resource":"*"}}""");
        var deny = Parse("""{"Statement":[{"Effect":"Deny","Action":["lambda:DeleteFunction"],"Resource":"arn:aws:lambda:*:*:function:f"}]}""");

        Assert.True(Evaluate([allow, deny], "lambda:InvokeFunction", Fn));
        Assert.False(Evaluate([allow, deny], "lambda:DeleteFunction", Fn));
        Assert.True(Evaluate([allow, deny], "lambda:DeleteFunction", Fn + "x"));
        Assert.False(Evaluate([], "lambda:InvokeFunction", Fn));
    }

    [Theory]
    [InlineData("""{"Statement":{"Effect":"Allow","Action":"lambda:*","Resource":"*","Principal":"*"}}""", "Principal")]
    [InlineData("""{"Statement":{"Effect":"Maybe","Action":"lambda:*","Resource":"*"}}""", "Effect")]
    [InlineData("""{"Statement":{"Effect":"Allow","Resource":"*"}}""", "Action")]
    [InlineData("""{"Statement":{"Effect":"Allow","Action":"InvokeFunction","Resource":"*"}}""", "service:Operation")]
    [InlineData("""not json""", "JSON")]
    public void Unsupported_or_invalid_policies_are_refused_with_a_reason(string json, string reason)
    {
        Assert.Null(PolicyDocument.TryParse(json, out var error));
        Assert.Contains(reason, error, StringComparison.Ordinal);
    }

    private static PolicyDocument Parse(string json) => PolicyDocument.TryParse(json, out var error) ?? throw new InvalidOperationException(error);

    private static bool Evaluate(IEnumerable<PolicyDocument> policies, string action, string resource) =>
        PolicyAuthorizer.Evaluate(policies, action, resource) == PolicyEffect.Allow;
}
