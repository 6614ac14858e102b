namespace Nimbus.Security;

/// <summary>The outcome of an authorization check: allowed, or the AWS message of the refusal.</summary>
internal readonly record struct AuthorizationResult(bool Allowed, string? Message, bool ExplicitDeny = false)
{
    public static readonly AuthorizationResult Allow = new(true, null);

    public AuthFailure ToFailure() => new(AuthFailureKind.AccessDenied, Message ?? "Access Denied");
}

/// <summary>
/// The seam every service calls before it acts: may <c>principal</c> perform <c>action</c>
/// (AWS's action name, e.g. <c>lambda:InvokeFunction</c>, <c>sqs:SendMessage</c>, <c>s3:GetObject</c>) on
/// <c>resourceArn</c> (e.g. <c>arn:aws:s3:::bucket/key</c>)? Root may do everything; users and roles
/// what their identity policies allow and do not deny. docs/security.md lists the action names per service.
/// </summary>
internal interface IAuthorizer
{
    AuthorizationResult Authorize(Principal principal, string action, string resourceArn);
}

/// <summary>IAM's evaluation of identity policies: an explicit Deny wins, then any Allow, else the implicit deny.</summary>
internal sealed class PolicyAuthorizer(IdentityStore identities) : IAuthorizer
{
    public AuthorizationResult Authorize(Principal principal, string action, string resourceArn)
    {
        if (principal.IsRoot)
        {
            return AuthorizationResult.Allow;
        }

        var kind = principal.Kind == PrincipalKind.Role ? IdentityStore.RoleKind : IdentityStore.UserKind;
        return Evaluate(identities.PoliciesOf(kind, principal.Name), action, resourceArn) switch
        {
            PolicyEffect.Allow => AuthorizationResult.Allow,
            PolicyEffect.Deny => new AuthorizationResult(false,
                $"User: {principal.Arn} is not authorized to perform: {action} on resource: {resourceArn} with an explicit deny in an identity-based policy", ExplicitDeny: true),
            _ => new AuthorizationResult(false,
                $"User: {principal.Arn} is not authorized to perform: {action} on resource: {resourceArn} because no identity-based policy allows the {action} action"),
        };
    }

    /// <summary>Deny when any matching statement denies, Allow when one allows, else null (the implicit deny).</summary>
    public static PolicyEffect? Evaluate(IEnumerable<PolicyDocument> policies, string action, string resourceArn)
    {
        var allowed = false;
        foreach (var statement in policies.SelectMany(p => p.Statements))
        {
            if (statement.Matches(action, resourceArn))
            {
                if (statement.Effect == PolicyEffect.Deny)
                {
                    return PolicyEffect.Deny;
                }

                allowed = true;
            }
        }

        return allowed ? PolicyEffect.Allow : null;
    }
}
