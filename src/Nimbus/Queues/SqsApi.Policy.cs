using Microsoft.AspNetCore.Http;
using Nimbus.Security;

namespace Nimbus.Queues;

/// <summary>
/// Queue resource policies (the <c>Policy</c> attribute), evaluated as SQS does for principals of this account: a
/// call is allowed when the caller's identity policy or the queue's policy allows it and neither denies it. A queue
/// statement's <c>Principal</c> matches the caller when it is <c>*</c>, the caller's ARN (a role session also by its
/// role's ARN), or, for a Deny, the caller's account; an Allow naming the account delegates to identity policies (it
/// grants nothing by itself), as IAM treats the account principal. Conditions are evaluated with the request's
/// context (<see cref="AuthorizationContext"/>). Root is not bound by queue policies.
/// </summary>
internal sealed partial class SqsApi
{
    private AuthorizationResult WithQueuePolicy(HttpContext context, AuthorizationResult identity, string action, string resourceArn)
    {
        if (identity.ExplicitDeny || SigV4Context.Of(context)?.Principal is not { IsRoot: false } principal
            || !queues.TryResolveArn(resourceArn, out var queueName) || queues.PolicyOf(queueName) is not { } policy)
        {
            return identity;
        }

        var effect = EvaluateQueuePolicy(policy, principal, action, resourceArn, AuthorizationContext.Of(context, queues.AccountId), queues.AccountId);
        return effect switch
        {
            PolicyEffect.Deny => PolicyAuthorizer.Result(PolicyEffect.Deny, principal, action, resourceArn, "a resource-based policy"),
            PolicyEffect.Allow => AuthorizationResult.Allow,
            _ => identity,
        };
    }

    /// <summary>Deny when a statement matching the caller, action, queue and conditions denies; Allow when one allows; else null.</summary>
    internal static PolicyEffect? EvaluateQueuePolicy(PolicyDocument policy, Principal principal, string action, string resourceArn, AuthorizationContext context, string accountId)
    {
        var roleArn = AuthorizationContext.PrincipalArnOf(principal);
        var allowed = false;
        foreach (var statement in policy.Statements)
        {
            var deny = statement.Effect == PolicyEffect.Deny;
            var principalMatches = statement.AwsPrincipals.Any(p =>
                p is "*" || p == principal.Arn || p == roleArn
                || (deny && (p == accountId || p == $"arn:aws:iam::{accountId}:root")));
            if (!principalMatches || !statement.Matches(action, resourceArn) || !statement.ConditionsHold(principal, context))
            {
                continue;
            }

            if (deny)
            {
                return PolicyEffect.Deny;
            }

            allowed = true;
        }

        return allowed ? PolicyEffect.Allow : null;
    }
}
