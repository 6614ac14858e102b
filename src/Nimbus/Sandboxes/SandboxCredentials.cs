namespace Nimbus.Sandboxes;

/// <summary>
/// The placeholder credentials every instance gets in AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN,
/// so AWS SDKs sign their requests; request signatures are not verified yet.
/// </summary>
internal static class SandboxCredentials
{
    public const string AccessKeyId = "ASIANIMBUSFUNCTION00";
    public const string SecretAccessKey = "nimbus-function-placeholder-secret-key00";
    public const string SessionToken = "nimbus-function-placeholder-session-token";
}
