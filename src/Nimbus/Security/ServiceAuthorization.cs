using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Nimbus.Security;

/// <summary>
/// The check SQS, S3, Logs, CloudWatch and Scheduler make before they act (Lambda's routes go through
/// <see cref="LambdaAuthorizationMiddleware"/>): may the request's signer, or a role named by ARN (a schedule's
/// RoleArn, a function's execution role), perform an action on a resource. Root passes without a lookup.
/// </summary>
internal sealed partial class ServiceAuthorization(IAuthorizer authorizer, ILogger<ServiceAuthorization> logger)
{
    /// <summary>The signer of <paramref name="context"/> against <paramref name="action"/> on <paramref name="resourceArn"/>.</summary>
    public AuthorizationResult Check(HttpContext context, string action, string resourceArn)
    {
        // No SigV4Context: a path authentication exempts (/health), never an AWS API.
        if (SigV4Context.Of(context)?.Principal is not { IsRoot: false } principal)
        {
            return AuthorizationResult.Allow;
        }

        var result = authorizer.Authorize(principal, action, resourceArn, AuthorizationContext.Of(context));
        if (!result.Allowed)
        {
            Log.Denied(logger, principal.Arn, action, resourceArn);
        }

        return result;
    }

    /// <summary>
    /// The signer of <paramref name="context"/> handing <paramref name="roleArn"/> to <paramref name="service"/>
    /// (<c>iam:PassRole</c> on the role, with <c>iam:PassedToService</c>, see <see cref="PassRoleActions"/>).
    /// </summary>
    public AuthorizationResult CheckPassRole(HttpContext context, string roleArn, string service)
    {
        if (SigV4Context.Of(context)?.Principal is not { IsRoot: false } principal)
        {
            return AuthorizationResult.Allow;
        }

        var result = authorizer.Authorize(principal, PassRoleActions.PassRole, roleArn, PassRoleActions.ContextFor(AuthorizationContext.Of(context), service));
        if (!result.Allowed)
        {
            Log.PassRoleDenied(logger, principal.Arn, roleArn, service);
        }

        return result;
    }

    /// <summary>A role of this account by its ARN (<c>arn:aws:iam::&lt;acct&gt;:role/[path/]name</c>): what its identity policies allow.</summary>
    public AuthorizationResult CheckRole(string roleArn, string action, string resourceArn)
    {
        var slash = roleArn.LastIndexOf('/');
        var name = slash >= 0 ? roleArn[(slash + 1)..] : roleArn;
        return authorizer.Authorize(new Principal(PrincipalKind.Role, name, roleArn, ""), action, resourceArn, new AuthorizationContext { CurrentTime = DateTimeOffset.UtcNow });
    }
}
