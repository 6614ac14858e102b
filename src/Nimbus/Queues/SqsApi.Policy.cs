using Microsoft.AspNetCore.Http;
using Nimbus.Security;

namespace Nimbus.Queues;

/// <summary>
/// Queue resource policies (the <c>Policy</c> attribute), evaluated as SQS does for principals of this account: a
/// call is allowed when the caller's identity policy or the queue's policy allows it and neither denies it. A queue
/// statement's <c>Principal</c> matches the caller when it is <c>*</c>, the caller's ARN (a role session also by its
/// role's ARN), or, for a Deny, the caller's account; an Allow naming the account delegates to identity policies (it
/// grants nothing by itself), as IAM treats the account principal. Conditions are evaluated with the request's
/// context (<see cref="AuthorizationContext"/>), by <see cref="QueuePolicy"/>. Root is not bound by queue policies.
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

        var effect = QueuePolicy.Evaluate(policy, principal, action, resourceArn, AuthorizationContext.Of(context, queues.AccountId), queues.AccountId);
        return effect switch
        {
            PolicyEffect.Deny => PolicyAuthorizer.Result(PolicyEffect.Deny, principal, action, resourceArn, "a resource-based policy"),
            PolicyEffect.Allow => AuthorizationResult.Allow,
            _ => identity,
        };
    }
}
