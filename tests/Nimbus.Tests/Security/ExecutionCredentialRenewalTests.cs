using System.Security.Cryptography;
using Microsoft.Extensions.Options;
using Nimbus.Security;

namespace Nimbus.Tests.Security;

public sealed class ExecutionCredentialRenewalTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 6, 12, 0, 0, TimeSpan.Zero);

    [Theory]
    [InlineData(12 * 3600, 12 * 3600 - 300)]
    [InlineData(20, 15)]
    [InlineData(600, 450)]
    public void Instance_credentials_are_due_a_quarter_of_their_lifetime_at_most_5_minutes_before_they_expire(int lifetimeSeconds, int renewAfterSeconds)
    {
        var sessions = new SessionCredentials(new SecretBox(RandomNumberGenerator.GetBytes(32)), new FixedTime(), "000000000000");
        var credentials = new RoleSandboxCredentials(sessions, Options.Create(new SecurityOptions { InstanceCredentialLifetime = TimeSpan.FromSeconds(lifetimeSeconds) }));

        var credential = credentials.For("f", "arn:aws:iam::000000000000:role/lambda-role");

        Assert.Equal(Now.AddSeconds(renewAfterSeconds), credential.RenewAt);
        Assert.Null(sessions.TryOpen(credential.AccessKeyId, credential.SessionToken, out var principal, out _));
        Assert.Equal("lambda-role", principal!.Name);
    }

    private sealed class FixedTime : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => Now;
    }
}
