using System.Net;
using Nimbus.Security;

namespace Nimbus.Tests.Security;

/// <summary>The Condition evaluator (pure logic): IAM's operators and keys, missing and unknown keys, and what is refused when a policy is put.</summary>
public sealed class PolicyConditionTests
{
    private const string Fn = "arn:aws:lambda:us-east-1:000000000000:function:f";
    private static readonly Principal Alice = new(PrincipalKind.User, "alice", "arn:aws:iam::000000000000:user/alice", "AKIA1");
    private static readonly Principal RoleSession = new(PrincipalKind.Role, "worker", "arn:aws:sts::000000000000:assumed-role/worker/f", "ASIA1");

    private static readonly AuthorizationContext Request = new()
    {
        SourceIp = IPAddress.Parse("10.1.2.3"),
        SecureTransport = false,
        CurrentTime = new DateTimeOffset(2026, 6, 1, 12, 0, 0, TimeSpan.Zero),
        RequestedRegion = "us-east-1",
        SourceArn = "arn:aws:s3:::photos",
        SourceAccount = "000000000000",
    };

    [Theory]
    [InlineData("""{"StringEquals":{"aws:username":"alice"}}""", true)]
    [InlineData("""{"StringEquals":{"aws:username":["bob","alice"]}}""", true)]
    [InlineData("""{"StringEquals":{"aws:username":"Alice"}}""", false)]
    [InlineData("""{"StringEqualsIgnoreCase":{"aws:username":"ALICE"}}""", true)]
    [InlineData("""{"StringNotEquals":{"aws:username":"alice"}}""", false)]
    [InlineData("""{"StringNotEqualsIgnoreCase":{"aws:username":"BOB"}}""", true)]
    [InlineData("""{"StringLike":{"aws:PrincipalArn":"arn:aws:iam::*:user/al*"}}""", true)]
    [InlineData("""{"StringNotLike":{"aws:PrincipalArn":"arn:aws:iam::*:user/al*"}}""", false)]
    [InlineData("""{"ArnLike":{"aws:SourceArn":"arn:aws:s3:::pho*"}}""", true)]
    [InlineData("""{"ArnEquals":{"aws:SourceArn":"arn:aws:s3:::other"}}""", false)]
    [InlineData("""{"ArnNotLike":{"aws:SourceArn":"arn:aws:s3:::other*"}}""", true)]
    [InlineData("""{"ArnLike":{"aws:SourceArn":"arn:*:s3:*"}}""", false)]
    [InlineData("""{"Bool":{"aws:SecureTransport":"false"}}""", true)]
    [InlineData("""{"Bool":{"aws:SecureTransport":true}}""", false)]
    [InlineData("""{"NumericLessThan":{"aws:EpochTime":1900000000}}""", true)]
    [InlineData("""{"NumericGreaterThanEquals":{"aws:EpochTime":"1780315200"}}""", true)]
    [InlineData("""{"NumericNotEquals":{"aws:EpochTime":"1780315200"}}""", false)]
    [InlineData("""{"DateGreaterThan":{"aws:CurrentTime":"2026-01-01T00:00:00Z"}}""", true)]
    [InlineData("""{"DateLessThan":{"aws:CurrentTime":"2026-06-01"}}""", false)]
    [InlineData("""{"DateLessThanEquals":{"aws:CurrentTime":"2026-06-01T12:00:00Z"}}""", true)]
    [InlineData("""{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}""", true)]
    [InlineData("""{"IpAddress":{"aws:SourceIp":["192.168.0.0/16","10.1.2.3"]}}""", true)]
    [InlineData("""{"NotIpAddress":{"aws:SourceIp":"10.0.0.0/8"}}""", false)]
    [InlineData("""{"IpAddress":{"aws:SourceIp":"2001:db8::/32"}}""", false)]
    [InlineData("""{"StringEquals":{"aws:RequestedRegion":"us-east-1","aws:SourceAccount":"000000000000"}}""", true)]
    [InlineData("""{"StringEquals":{"aws:RequestedRegion":"us-east-1"},"StringEquals ":{}}""", false)]
    [InlineData("""{"Null":{"aws:SourceArn":"false"}}""", true)]
    [InlineData("""{"Null":{"iam:PassedToService":"true"}}""", true)]
    [InlineData("""{"StringEquals":{"iam:PassedToService":"lambda.amazonaws.com"}}""", false)]
    [InlineData("""{"StringEqualsIfExists":{"iam:PassedToService":"lambda.amazonaws.com"}}""", true)]
    [InlineData("""{"StringNotEquals":{"iam:PassedToService":"lambda.amazonaws.com"}}""", true)]
    [InlineData("""{"ForAllValues:StringEquals":{"iam:PassedToService":"x"}}""", true)]
    [InlineData("""{"ForAnyValue:StringEquals":{"aws:username":["x","alice"]}}""", true)]
    [InlineData("""{"ForAnyValue:StringEquals":{"iam:PassedToService":"x"}}""", false)]
    public void Operators_compare_the_requests_keys_as_IAM_does(string condition, bool holds)
    {
        var json = $$$"""{"Statement":{"Effect":"Allow","Action":"lambda:*","Resource":"*","Condition":{{{condition}}}}}""";
        var document = PolicyDocument.TryParse(json, out var error);
        if (document is null)
        {
            // The one malformed block (an operator name with a trailing space) is refused, never half-applied.
            Assert.False(holds, error);
            return;
        }

        Assert.Equal(holds, PolicyAuthorizer.Evaluate([document], "lambda:InvokeFunction", Fn, Alice, Request, out var used) == PolicyEffect.Allow);
        Assert.True(used);
    }

    [Fact]
    public void A_key_Nimbus_does_not_supply_never_widens_access()
    {
        // An Allow conditioned on an unknown key allows nothing, even with a negated operator or IfExists ...
        foreach (var op in new[] { "StringEquals", "StringNotEquals", "StringEqualsIfExists", "Null" })
        {
            var allow = Parse("""{"Statement":{"Effect":"Allow","Action":"lambda:*","Resource":"*","Condition":{"OP":{"aws:SourceVpc":"true"}}}}""".Replace("OP", op, StringComparison.Ordinal));
            Assert.Null(PolicyAuthorizer.Evaluate([allow], "lambda:InvokeFunction", Fn, Alice, Request, out _));
        }

        // ... and a Deny conditioned on one applies.
        var everything = Parse("""{"Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}""");
        var deny = Parse("""{"Statement":{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"StringEquals":{"aws:PrincipalTag/team":"x"}}}}""");
        Assert.Equal(PolicyEffect.Deny, PolicyAuthorizer.Evaluate([everything, deny], "lambda:InvokeFunction", Fn, Alice, Request, out _));
    }

    [Fact]
    public void Deny_over_plain_HTTP_and_outside_a_network_wins_over_allow()
    {
        var policy = Parse("""
            {"Statement":[
              {"Effect":"Allow","Action":"sqs:*","Resource":"*"},
              {"Effect":"Deny","Action":"sqs:*","Resource":"*","Condition":{"NotIpAddress":{"aws:SourceIp":"127.0.0.0/8"}}}]}
            """);
        var local = new AuthorizationContext { SourceIp = IPAddress.Loopback };
        Assert.Equal(PolicyEffect.Allow, PolicyAuthorizer.Evaluate([policy], "sqs:SendMessage", "arn:aws:sqs:us-east-1:000000000000:q", Alice, local, out _));
        Assert.Equal(PolicyEffect.Deny, PolicyAuthorizer.Evaluate([policy], "sqs:SendMessage", "arn:aws:sqs:us-east-1:000000000000:q", Alice, Request, out _));
    }

    [Fact]
    public void Role_sessions_answer_PrincipalArn_with_the_roles_ARN_and_username_is_absent()
    {
        var policy = Parse("""{"Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"ArnEquals":{"aws:PrincipalArn":"arn:aws:iam::000000000000:role/worker"},"Null":{"aws:username":"true"}}}}""");
        Assert.Equal(PolicyEffect.Allow, PolicyAuthorizer.Evaluate([policy], "s3:GetObject", "arn:aws:s3:::b/k", RoleSession, Request, out _));
        Assert.Null(PolicyAuthorizer.Evaluate([policy], "s3:GetObject", "arn:aws:s3:::b/k", Alice, Request, out _));
    }

    [Fact]
    public void Decisions_without_conditions_say_they_do_not_depend_on_the_request()
    {
        var plain = Parse("""{"Statement":{"Effect":"Allow","Action":"lambda:*","Resource":"*"}}""");
        PolicyAuthorizer.Evaluate([plain], "lambda:InvokeFunction", Fn, Alice, Request, out var used);
        Assert.False(used);
        Assert.False(plain.HasConditions);
    }

    [Theory]
    [InlineData("""{"StringMaybe":{"aws:username":"a"}}""", "not supported")]
    [InlineData("""{"NullIfExists":{"aws:username":"true"}}""", "not supported")]
    [InlineData("""{"Bool":{"aws:SecureTransport":"yes"}}""", "not a valid value")]
    [InlineData("""{"NumericLessThan":{"aws:EpochTime":"soon"}}""", "not a valid value")]
    [InlineData("""{"DateLessThan":{"aws:CurrentTime":"tomorrow"}}""", "not a valid value")]
    [InlineData("""{"IpAddress":{"aws:SourceIp":"10.0.0.0/33"}}""", "not a valid value")]
    [InlineData("""{"StringEquals":{"aws:username":[]}}""", "non-empty")]
    [InlineData("""{"StringEquals":{"aws:username":{"a":1}}}""", "non-empty")]
    [InlineData("""{"StringEquals":"alice"}""", "must map")]
    [InlineData("""[]""", "JSON object")]
    public void Unsupported_or_malformed_conditions_are_refused_when_the_policy_is_put(string condition, string reason)
    {
        Assert.Null(PolicyDocument.TryParse($$$"""{"Statement":{"Effect":"Allow","Action":"lambda:*","Resource":"*","Condition":{{{condition}}}}}""", out var error));
        Assert.Contains(reason, error, StringComparison.Ordinal);
    }

    [Fact]
    public void Principal_is_refused_in_identity_policies_and_required_in_resource_policies()
    {
        const string WithPrincipal = """{"Statement":{"Effect":"Allow","Principal":{"AWS":["arn:aws:iam::000000000000:user/alice","000000000000"]},"Action":"sqs:SendMessage","Resource":"*"}}""";
        Assert.Null(PolicyDocument.TryParse(WithPrincipal, out _));
        var resource = PolicyDocument.TryParse(WithPrincipal, resourcePolicy: true, out var error);
        Assert.NotNull(resource);
        Assert.Equal(["arn:aws:iam::000000000000:user/alice", "000000000000"], resource!.Statements[0].AwsPrincipals);
        Assert.Null(PolicyDocument.TryParse("""{"Statement":{"Effect":"Allow","Action":"sqs:SendMessage","Resource":"*"}}""", resourcePolicy: true, out error));
        Assert.Contains("Principal", error, StringComparison.Ordinal);
    }

    private static PolicyDocument Parse(string json) => PolicyDocument.TryParse(json, out var error) ?? throw new InvalidOperationException(error);
}
