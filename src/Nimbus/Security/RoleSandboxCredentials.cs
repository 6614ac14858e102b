using Microsoft.Extensions.Options;
using Nimbus.Sandboxes;

namespace Nimbus.Security;

/// <summary>
/// Each instance gets temporary credentials of its function's execution role (the role name is the last segment of
/// <c>Role</c>), valid for <see cref="SecurityOptions.InstanceCredentialLifetime"/> (12 h, AWS's longest role
/// session): the role's identity policies bound what they may do. An instance keeps its environment for life, so
/// the pool retires it before they expire (<see cref="SandboxCredential.RenewAt"/>: a quarter of the lifetime, at
/// most 5 minutes, plus the function's timeout before the expiry), as Lambda recycles its execution environments.
/// </summary>
internal sealed class RoleSandboxCredentials(SessionCredentials sessions, IOptions<SecurityOptions> options) : ISandboxCredentials
{
    private static readonly TimeSpan MaxRenewalMargin = TimeSpan.FromMinutes(5);

    public SandboxCredential For(string functionName, string roleArn)
    {
        var slash = roleArn.LastIndexOf('/');
        var role = slash >= 0 ? roleArn[(slash + 1)..] : roleArn;
        var lifetime = options.Value.InstanceCredentialLifetime;
        var issued = sessions.Issue(role, functionName, lifetime);
        var margin = lifetime / 4 < MaxRenewalMargin ? lifetime / 4 : MaxRenewalMargin;
        return new SandboxCredential(issued.AccessKeyId, issued.SecretAccessKey, issued.SessionToken, issued.Expiration - margin);
    }
}
