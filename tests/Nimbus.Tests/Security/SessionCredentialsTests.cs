using Nimbus.Security;

namespace Nimbus.Tests.Security;

public sealed class SessionCredentialsTests
{
    [Fact]
    public void A_session_issued_for_a_Cognito_identity_opens_as_the_role_with_that_identity_and_others_open_without_one()
    {
        var sessions = new SessionCredentials(new SecretBox(new byte[32]), TimeProvider.System, "000000000000");
        var identity = new CognitoIdentity("us-east-1:4f3c1c8e-8a1b-4c1a-9a0e-2f1d6b7c9e01", "us-east-1:0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d");

        var issued = sessions.Issue("app", "CognitoIdentityCredentials", null, identity);
        Assert.Null(sessions.TryOpen(issued.AccessKeyId, issued.SessionToken, out var principal, out var secret));
        Assert.Equal(issued.SecretAccessKey, secret);
        Assert.Equal("arn:aws:sts::000000000000:assumed-role/app/CognitoIdentityCredentials", principal!.Arn);
        Assert.Equal(identity, principal.Cognito);
        Assert.Equal("""{"cognitoIdentityId":"us-east-1:4f3c1c8e-8a1b-4c1a-9a0e-2f1d6b7c9e01","cognitoIdentityPoolId":"us-east-1:0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d"}""", principal.Cognito!.ToRuntimeHeader());

        var plain = sessions.Issue("app", "fn");
        Assert.Null(sessions.TryOpen(plain.AccessKeyId, plain.SessionToken, out var role, out _));
        Assert.Null(role!.Cognito);
    }

    [Fact]
    public void After_a_rotation_sessions_of_the_old_key_open_until_the_retired_key_retires_and_never_past_it()
    {
        var oldKey = new SecretBox(Enumerable.Repeat((byte)1, 32).ToArray());
        var newKey = new SecretBox(Enumerable.Repeat((byte)2, 32).ToArray());
        var now = DateTimeOffset.UtcNow;
        var before = new SessionCredentials(oldKey, TimeProvider.System, "000000000000");
        var issued = before.Issue("app", "fn", TimeSpan.FromHours(1));
        var longLived = before.Issue("app", "fn", TimeSpan.FromHours(13));

        var without = new SessionCredentials(newKey, TimeProvider.System, "000000000000");
        Assert.NotNull(without.TryOpen(issued.AccessKeyId, issued.SessionToken, out _, out _));

        var retired = new SessionCredentials(newKey, TimeProvider.System, "000000000000", new RetiredSessionKey(oldKey, now + SessionCredentials.MaxLifetime));
        Assert.Null(retired.TryOpen(issued.AccessKeyId, issued.SessionToken, out var principal, out var secret));
        Assert.Equal(issued.SecretAccessKey, secret);
        Assert.Equal("arn:aws:sts::000000000000:assumed-role/app/fn", principal!.Arn);

        // A token expiring after the retired key retires (a forged one) does not open with it.
        Assert.NotNull(retired.TryOpen(longLived.AccessKeyId, longLived.SessionToken, out _, out _));

        // Once retired, the old key opens nothing; new sessions open with the new key.
        var past = new SessionCredentials(newKey, TimeProvider.System, "000000000000", new RetiredSessionKey(oldKey, now - TimeSpan.FromSeconds(1)));
        Assert.NotNull(past.TryOpen(issued.AccessKeyId, issued.SessionToken, out _, out _));
        var fresh = retired.Issue("app", "fn");
        Assert.Null(retired.TryOpen(fresh.AccessKeyId, fresh.SessionToken, out _, out _));
    }

    [Theory]
    [InlineData("us-east-1:4f3c1c8e-8a1b-4c1a-9a0e-2f1d6b7c9e01", true)]
    [InlineData("4f3c1c8e-8a1b-4c1a-9a0e-2f1d6b7c9e01", false)]
    [InlineData("us-east-1:NOT-HEX", false)]
    [InlineData("", false)]
    public void Cognito_ids_are_region_colon_guid_as_Cognito_shapes_them(string id, bool valid) => Assert.Equal(valid, CognitoIdentity.IsValidId(id));
}
