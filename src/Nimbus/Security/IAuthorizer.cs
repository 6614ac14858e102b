namespace Nimbus.Security;

/// <summary>The outcome of an authorization check: allowed, or the AWS message of the refusal.</summary>
internal readonly record struct AuthorizationResult(bool Allowed, string? Message, bool ExplicitDeny = false)
{
    /// <summary>
    /// True when a statement with a <c>Condition</c> took part in the decision: it depends on the request's context
    /// (source IP, time, HTTPS...), so it must not be cached by (principal, action, resource) alone.
    /// </summary>
    public bool DependsOnContext { get; init; }

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

    /// <summary>
    /// The same check with the request's condition context (<see cref="AuthorizationContext"/>). An implementation
    /// that does not evaluate conditions (a decorator) must forward this overload; the default evaluates without
    /// context (context keys are then absent).
    /// </summary>
    AuthorizationResult Authorize(Principal principal, string action, string resourceArn, AuthorizationContext? context) =>
        Authorize(principal, action, resourceArn);
}

/// <summary>IAM's evaluation of identity policies: an explicit Deny wins, then any Allow, else the implicit deny.</summary>
internal sealed class PolicyAuthorizer(IdentityStore identities) : IAuthorizer
{
    private readonly AuthorizationCache _allowed = new(identities);

    public AuthorizationResult Authorize(Principal principal, string action, string resourceArn) =>
        Authorize(principal, action, resourceArn, null);

    public AuthorizationResult Authorize(Principal principal, string action, string resourceArn, AuthorizationContext? context)
    {
        if (principal.IsRoot)
        {
            return AuthorizationResult.Allow;
        }

        // Read before the policies: an allow computed from them is kept only while nothing has changed since.
        var generation = _allowed.Generation;
        if (_allowed.IsAllowed(principal, action, resourceArn, generation))
        {
            return AuthorizationResult.Allow;
        }

        var kind = principal.Kind == PrincipalKind.Role ? IdentityStore.RoleKind : IdentityStore.UserKind;
        var effect = Evaluate(identities.PoliciesOf(kind, principal.Name), action, resourceArn, principal, context, out var usedConditions);
        if (effect == PolicyEffect.Allow && !usedConditions)
        {
            _allowed.Add(principal, action, resourceArn, generation);
        }

        return Result(effect, principal, action, resourceArn, "an identity-based policy") with { DependsOnContext = usedConditions };
    }

    /// <summary>AWS's answer for an evaluation's outcome (<paramref name="policyKind"/>: "an identity-based policy", "a resource-based policy").</summary>
    public static AuthorizationResult Result(PolicyEffect? effect, Principal principal, string action, string resourceArn, string policyKind) => effect switch
    {
        PolicyEffect.Allow => AuthorizationResult.Allow,
        PolicyEffect.Deny => new AuthorizationResult(false,
            $"User: {principal.Arn} is not authorized to perform: {action} on resource: {resourceArn} with an explicit deny in {policyKind}", ExplicitDeny: true),
        _ => new AuthorizationResult(false,
            $"User: {principal.Arn} is not authorized to perform: {action} on resource: {resourceArn} because no identity-based policy allows the {action} action"),
    };

    /// <summary>Deny when any matching statement denies, Allow when one allows, else null (the implicit deny). Conditions are evaluated without context.</summary>
    public static PolicyEffect? Evaluate(IEnumerable<PolicyDocument> policies, string action, string resourceArn) =>
        Evaluate(policies, action, resourceArn, new Principal(PrincipalKind.User, "", "", ""), null, out _);

    /// <summary>
    /// Deny when any statement matching action and resource, whose conditions hold, denies; Allow when one allows;
    /// else null (the implicit deny). <paramref name="usedConditions"/> tells whether a conditional statement matched.
    /// </summary>
    public static PolicyEffect? Evaluate(IEnumerable<PolicyDocument> policies, string action, string resourceArn, Principal principal, AuthorizationContext? context, out bool usedConditions)
    {
        usedConditions = false;
        var allowed = false;
        foreach (var policy in policies)
        {
            foreach (var statement in policy.Statements)
            {
                if (!statement.Matches(action, resourceArn, principal, context))
                {
                    continue;
                }

                usedConditions |= statement.HasResourceVariables;
                if (statement.Conditions.Count > 0)
                {
                    usedConditions = true;
                    if (!statement.ConditionsHold(principal, context))
                    {
                        continue;
                    }
                }

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
