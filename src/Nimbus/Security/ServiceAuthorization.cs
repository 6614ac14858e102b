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
        var result = Evaluate(context, action, resourceArn);
        if (!result.Allowed)
        {
            Refused(context, action, resourceArn);
        }

        return result;
    }

    /// <summary>
    /// The identity decision alone, not logged: for a service that combines it with a resource policy (a queue's, a
    /// bucket's) and logs the final refusal with <see cref="Refused"/>, so an identity refusal a resource policy then
    /// overrides is not reported as a refusal. <paramref name="conditions"/> carries the request's condition keys
    /// when the service supplies its own (S3's <c>s3:prefix</c>...).
    /// </summary>
    public AuthorizationResult Evaluate(HttpContext context, string action, string resourceArn, AuthorizationContext? conditions = null)
    {
        // No SigV4Context: a path authentication exempts (/health), never an AWS API.
        return SigV4Context.Of(context)?.Principal is not { IsRoot: false } principal
            ? AuthorizationResult.Allow
            : authorizer.Authorize(principal, action, resourceArn, conditions ?? AuthorizationContext.Of(context));
    }

    /// <summary>Logs the final refusal of <paramref name="action"/> on <paramref name="resourceArn"/> to the request's signer (event 1120).</summary>
    public void Refused(HttpContext context, string action, string resourceArn)
    {
        if (SigV4Context.Of(context)?.Principal is { } principal)
        {
            Log.Denied(logger, principal.Arn, action, resourceArn);
        }
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
