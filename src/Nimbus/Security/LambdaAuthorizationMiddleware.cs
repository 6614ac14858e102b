using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Nimbus.Security;

/// <summary>
/// After routing: checks that the caller of a Lambda API route may perform its action (<see cref="LambdaActions"/>)
/// on its function, layer or account, through <see cref="IAuthorizer"/>. Root passes; a route with no known action
/// is refused for everyone else. Other services' endpoints are left to their own handlers, which call IAuthorizer.
/// </summary>
internal sealed partial class LambdaAuthorizationMiddleware(
    RequestDelegate next,
    IAuthorizer authorizer,
    FunctionPolicyService functionPolicies,
    IOptions<NimbusOptions> nimbus,
    ILogger<LambdaAuthorizationMiddleware> logger)
{
    public Task InvokeAsync(HttpContext context)
    {
        var auth = SigV4Context.Of(context);
        var route = (context.GetEndpoint() as RouteEndpoint)?.RoutePattern.RawText;

        // Not async on this path: the root key's requests (most of them) pay no state machine here.
        return auth is null || auth.Principal.IsRoot || route is null ? next(context) : AuthorizeAsync(context, auth, route);
    }

    private async Task AuthorizeAsync(HttpContext context, SigV4Context auth, string route)
    {
        // Decided by the route, never by the scope the caller signed with.
        var known = LambdaActions.TryGet(context.Request.Method, route, out var action, out var kind);
        if (!known && !AwsServices.IsLambdaPath(route))
        {
            await next(context).ConfigureAwait(false);
            return;
        }

        if (!known)
        {
            var unknown = new AuthFailure(AuthFailureKind.AccessDenied, $"User: {auth.Principal.Arn} is not authorized to perform {context.Request.Method} {route}: only the root key may call it.");
            await AwsAuthErrors.WriteAsync(context, AwsServices.Lambda, unknown).ConfigureAwait(false);
            return;
        }

        var options = nimbus.Value;
        var resource = await LambdaActions.ResourceArnAsync(context, kind, options.Region, options.AccountId).ConfigureAwait(false)
            ?? $"arn:aws:lambda:{options.Region}:{options.AccountId}:function:{context.GetRouteValue("functionName")}";
        var conditionContext = AuthorizationContext.Of(context, options.AccountId);
        var result = authorizer.Authorize(auth.Principal, action, resource, conditionContext);
        if (!result.Allowed && !result.ExplicitDeny && kind == LambdaResourceKind.Function && await AllowedByFunctionPolicyAsync(context, auth.Principal, action, resource, conditionContext).ConfigureAwait(false))
        {
            result = AuthorizationResult.Allow;
        }

        if (result.Allowed && action is PassRoleActions.CreateFunction or PassRoleActions.UpdateFunctionConfiguration
            && await PassRoleActions.RoleInBodyAsync(context).ConfigureAwait(false) is { } role)
        {
            // Naming a role hands it to Lambda: the caller must be allowed iam:PassRole on it (as IAM requires).
            resource = role;
            action = PassRoleActions.PassRole;
            result = authorizer.Authorize(auth.Principal, action, role, PassRoleActions.ContextFor(conditionContext, PassRoleActions.LambdaService));
        }

        if (!result.Allowed)
        {
            Log.AccessDenied(logger, auth.Principal.Arn, action, resource);
            await AwsAuthErrors.WriteAsync(context, AwsServices.Lambda, result.ToFailure()).ConfigureAwait(false);
            return;
        }

        await next(context).ConfigureAwait(false);
    }

    /// <summary>Same-account callers are also allowed by the function's resource policy (AddPermission).</summary>
    private async Task<bool> AllowedByFunctionPolicyAsync(HttpContext context, Principal principal, string action, string resource, AuthorizationContext conditionContext)
    {
        var parts = resource.Split(':');
        if (parts.Length < 7)
        {
            return false;
        }

        var qualifier = parts.Length > 7 ? parts[7] : "";
        return await functionPolicies.AllowsAsync(parts[6], qualifier, action, principal.Arn, sourceArn: null, functionUrlAuthType: null, context.RequestAborted, principal, conditionContext).ConfigureAwait(false);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1102, EventName = "AccessDenied", Level = LogLevel.Information,
            Message = "{Principal} may not {Action} on {Resource}")]
        public static partial void AccessDenied(ILogger logger, string principal, string action, string resource);
    }
}
