using Nimbus.Security;

namespace Nimbus.Tests.Security;

/// <summary>IAM policy variables in resources and condition values, and S3's condition keys supplied by the request (pure logic).</summary>
public sealed class PolicyVariablesTests
{
    private static readonly Principal Alice = new(PrincipalKind.User, "alice", "arn:aws:iam::000000000000:user/alice", "AKIA1");
    private static readonly Principal RoleSession = new(PrincipalKind.Role, "worker", "arn:aws:sts::000000000000:assumed-role/worker/f", "ASIA1");

    [Theory]
    [InlineData("home/${aws:username}/*", "home/alice/*")]
    [InlineData("a${*}b${?}c${$}", "a*b?c$")]
    [InlineData("plain", "plain")]
    [InlineData("x/${aws:SourceVpc, 'none'}", "x/none")]
    public void Variables_take_the_requests_values(string text, string expected) =>
        Assert.Equal(expected, PolicyVariables.Substitute(text, Alice, null));

    [Fact]
    public void A_variable_without_a_value_matches_nothing()
    {
        Assert.Null(PolicyVariables.Substitute("home/${aws:username}/*", RoleSession, null));
        var policy = PolicyDocument.TryParse("""
            {"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/home/${aws:username}/*"}]}
            """, out var error)!;
        Assert.Null(error);
        Assert.Equal(PolicyEffect.Allow, PolicyAuthorizer.Evaluate([policy], "s3:GetObject", "arn:aws:s3:::b/home/alice/x", Alice, null, out var dependsOnRequest));
        Assert.True(dependsOnRequest);
        Assert.Null(PolicyAuthorizer.Evaluate([policy], "s3:GetObject", "arn:aws:s3:::b/home/bob/x", Alice, null, out _));
        Assert.Null(PolicyAuthorizer.Evaluate([policy], "s3:GetObject", "arn:aws:s3:::b/home/worker/x", RoleSession, null, out _));
    }

    [Theory]
    [InlineData("home/alice/", true)]
    [InlineData("home/alice/docs/", true)]
    [InlineData("home/bob/", false)]
    [InlineData(null, false)]
    public void S3_prefix_conditions_use_the_supplied_key_and_policy_variables(string? prefix, bool holds)
    {
        var conditions = PolicyCondition.ParseBlock(System.Text.Json.JsonDocument.Parse("""{"StringLike":{"s3:prefix":"home/${aws:username}/*"}}""").RootElement, out var error)!;
        Assert.Null(error);
        var context = new AuthorizationContext
        {
            ServiceKeys = prefix is null ? new Dictionary<string, string>() : new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase) { ["s3:prefix"] = prefix },
        };
        Assert.Equal(holds, conditions.Single().Holds(Alice, context, unknownKeyResult: false));
    }

    [Theory]
    [InlineData("""{"Statement":""")]
    [InlineData("""{"Version":"2008-10-17","Statement":""")]
    public void Without_Version_2012_10_17_variables_are_literal_text(string head)
    {
        var policy = PolicyDocument.TryParse(head + """
            [{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/home/${aws:username}/*"},
             {"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::b","Condition":{"StringLike":{"s3:prefix":"home/${aws:username}/*"}}}]}
            """, out var error)!;
        Assert.Null(error);

        Assert.Null(PolicyAuthorizer.Evaluate([policy], "s3:GetObject", "arn:aws:s3:::b/home/alice/x", Alice, null, out var dependsOnRequest));
        Assert.False(dependsOnRequest);
        Assert.Equal(PolicyEffect.Allow, PolicyAuthorizer.Evaluate([policy], "s3:GetObject", "arn:aws:s3:::b/home/${aws:username}/x", Alice, null, out _));

        var condition = policy.Statements[1];
        Assert.False(condition.ConditionsHold(Alice, Prefix("home/alice/")));
        Assert.True(condition.ConditionsHold(Alice, Prefix("home/${aws:username}/docs")));
    }

    [Fact]
    public void With_Version_2012_10_17_condition_values_take_the_requests_values()
    {
        var policy = PolicyDocument.TryParse("""
            {"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::b","Condition":{"StringLike":{"s3:prefix":"home/${aws:username}/*"}}}]}
            """, out _)!;

        Assert.True(policy.Statements[0].ConditionsHold(Alice, Prefix("home/alice/")));
        Assert.False(policy.Statements[0].ConditionsHold(Alice, Prefix("home/${aws:username}/docs")));
    }

    private static AuthorizationContext Prefix(string prefix) =>
        new() { ServiceKeys = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase) { ["s3:prefix"] = prefix } };
}
