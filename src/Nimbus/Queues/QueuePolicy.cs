using Nimbus.Security;

namespace Nimbus.Queues;

/// <summary>
/// The evaluation of a queue's resource policy (its <c>Policy</c> attribute), a pure function of the policy and the
/// request, so a caller may cache its decisions. Two kinds of sender: an AWS principal of this account (an API
/// caller, a function's execution role sending to its dead-letter queue or destination) and a service principal
/// (<c>s3.amazonaws.com</c> delivering a bucket notification, with <c>aws:SourceArn</c> = the bucket's ARN).
/// </summary>
internal static class QueuePolicy
{
    public const string SendMessage = "sqs:SendMessage";

    /// <summary>
    /// For an AWS principal: Deny when a statement matching the principal, action, queue and conditions denies; Allow
    /// when one allows; else null. A statement's principal matches <c>*</c>, the principal's ARN, a role session by its
    /// role's ARN, and for a Deny the account (an Allow naming the account delegates to identity policies).
    /// </summary>
    public static PolicyEffect? Evaluate(PolicyDocument policy, Principal principal, string action, string queueArn, AuthorizationContext context, string accountId)
    {
        var roleArn = AuthorizationContext.PrincipalArnOf(principal);
        var accountRoot = $"arn:aws:iam::{accountId}:root";
        return Evaluate(policy, statement =>
        {
            var deny = statement.Effect == PolicyEffect.Deny;
            return statement.AwsPrincipals.Any(p => p is "*" || p == principal.Arn || p == roleArn || (deny && (p == accountId || p == accountRoot)));
        }, principal, action, queueArn, context);
    }

    /// <summary>
    /// For a service principal (<c>s3.amazonaws.com</c>): Deny when a statement naming it (or <c>*</c>) whose action,
    /// queue and conditions match denies; Allow when one allows; else null. A service has no identity policy, so only
    /// an Allow here lets it send, as on AWS.
    /// </summary>
    public static PolicyEffect? EvaluateForService(PolicyDocument policy, string service, string action, string queueArn, AuthorizationContext context)
    {
        var principal = new Principal(PrincipalKind.Role, service, service, "");
        return Evaluate(policy, statement =>
            statement.AwsPrincipals.Contains("*") || statement.ServicePrincipals.Any(s => string.Equals(s, service, StringComparison.OrdinalIgnoreCase)),
            principal, action, queueArn, context);
    }

    private static PolicyEffect? Evaluate(PolicyDocument policy, Func<PolicyStatement, bool> principalMatches, Principal principal, string action, string queueArn, AuthorizationContext context)
    {
        var allowed = false;
        foreach (var statement in policy.Statements)
        {
            if (!principalMatches(statement) || !statement.Matches(action, queueArn, principal, context) || !statement.ConditionsHold(principal, context))
            {
                continue;
            }

            if (statement.Effect == PolicyEffect.Deny)
            {
                return PolicyEffect.Deny;
            }

            allowed = true;
        }

        return allowed ? PolicyEffect.Allow : null;
    }
}
