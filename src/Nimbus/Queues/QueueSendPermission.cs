using Nimbus.Security;

namespace Nimbus.Queues;

/// <summary>
/// Whether a role may send to a queue on the platform's behalf, as AWS checks it for a function's dead-letter queue
/// and queue destinations (the function's execution role) and a schedule's dead-letter queue (the schedule's role):
/// the role's identity policy must allow <c>sqs:SendMessage</c> on the queue, and the queue's policy must not deny it
/// to the role. Both are pure decisions of the stored policies; nothing here is cached.
/// </summary>
internal static class QueueSendPermission
{
    /// <summary>Null when <paramref name="roleArn"/> may send to <paramref name="queueArn"/>, else what to grant or remove, as a sentence.</summary>
    public static string? Refusal(ServiceAuthorization? authorization, PolicyDocument? queuePolicy, string roleArn, string queueArn, NimbusOptions options, DateTimeOffset now)
    {
        if (authorization is not null && !authorization.CheckRole(roleArn, QueuePolicy.SendMessage, queueArn).Allowed)
        {
            return $"the role {roleArn} is not allowed {QueuePolicy.SendMessage} on {queueArn}: add an Allow for it to the role's policy (./nimbus policy put --role <role> <file>)";
        }

        if (queuePolicy is not null && QueuePolicyDenies(queuePolicy, roleArn, queueArn, options, now))
        {
            return $"the policy of the queue {queueArn} denies {QueuePolicy.SendMessage} to the role {roleArn}: remove that Deny from the queue's policy";
        }

        return null;
    }

    /// <summary>A statement of the queue's policy that denies the role (its ARN, <c>*</c>, or the account) <c>sqs:SendMessage</c>.</summary>
    public static bool QueuePolicyDenies(PolicyDocument queuePolicy, string roleArn, string queueArn, NimbusOptions options, DateTimeOffset now)
    {
        var slash = roleArn.LastIndexOf('/');
        var role = new Principal(PrincipalKind.Role, slash >= 0 ? roleArn[(slash + 1)..] : roleArn, roleArn, "");
        var context = new AuthorizationContext { CurrentTime = now, RequestedRegion = options.Region, AccountId = options.AccountId };
        return QueuePolicy.Evaluate(queuePolicy, role, QueuePolicy.SendMessage, queueArn, context, options.AccountId) == PolicyEffect.Deny;
    }
}
