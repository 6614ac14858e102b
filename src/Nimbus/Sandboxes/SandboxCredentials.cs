namespace Nimbus.Sandboxes;

/// <summary>
/// The AWS credentials an instance finds in AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN, and when
/// they must be renewed: an instance is not given an invocation that could still run at <paramref name="RenewAt"/>
/// (a fresh instance with fresh credentials takes over), so no invocation ever signs with expired ones.
/// </summary>
internal sealed record SandboxCredential(string AccessKeyId, string SecretAccessKey, string SessionToken, DateTimeOffset RenewAt);

/// <summary>
/// Gives each new instance credentials for its function's execution role, so AWS SDKs in the function sign their
/// calls to this node. Security/ issues real temporary ones; without it instances get placeholders.
/// </summary>
internal interface ISandboxCredentials
{
    SandboxCredential For(string functionName, string roleArn);
}

/// <summary>Placeholder credentials for hosts that register no issuer (unit hosts, tools).</summary>
internal sealed class PlaceholderSandboxCredentials : ISandboxCredentials
{
    private static readonly SandboxCredential Placeholder = new(
        "ASIANIMBUSFUNCTION00", "nimbus-function-placeholder-secret-key00", "nimbus-function-placeholder-session-token", DateTimeOffset.MaxValue);

    public SandboxCredential For(string functionName, string roleArn) => Placeholder;
}
