using Nimbus.Sandboxes;

namespace Nimbus.Security;

/// <summary>
/// Each instance gets temporary credentials of its function's execution role (the role name is the last segment of
/// <c>Role</c>), valid for <see cref="InstanceLifetime"/>: the role's identity policies bound what they may do.
/// </summary>
internal sealed class RoleSandboxCredentials(SessionCredentials sessions) : ISandboxCredentials
{
    /// <summary>An instance keeps its environment for life, so its credentials last as long as AWS's longest role session.</summary>
    public static readonly TimeSpan InstanceLifetime = TimeSpan.FromHours(12);

    public SandboxCredential For(string functionName, string roleArn)
    {
        var slash = roleArn.LastIndexOf('/');
        var role = slash >= 0 ? roleArn[(slash + 1)..] : roleArn;
        var issued = sessions.Issue(role, functionName, InstanceLifetime);
        return new SandboxCredential(issued.AccessKeyId, issued.SecretAccessKey, issued.SessionToken);
    }
}
