using System.Collections.Concurrent;
using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Nimbus.Security;

namespace Nimbus.Buckets;

/// <summary>
/// Bucket policies (PutBucketPolicy, GetBucketPolicy, DeleteBucketPolicy on <c>?policy</c>) and their evaluation with
/// the caller's identity policy, as S3 does within one account: a call is allowed when the identity policy or the
/// bucket policy allows it and neither denies it; an explicit Deny in either wins. A statement's <c>Principal</c>
/// matches as a queue policy's does (<see cref="Queues.QueuePolicy"/>: <c>*</c>, the caller's ARN, a role session by
/// its role's ARN, the account for a Deny). Root is not bound by bucket policies, as it is not by queue policies.
/// </summary>
internal sealed partial class BucketsApi
{
    /// <summary>S3's limit on a bucket policy's size.</summary>
    public const int MaxPolicyBytes = 20 * 1024;

    /// <summary>Parsed policies by bucket (null: the bucket has none), dropped whenever a policy or the bucket changes.</summary>
    private readonly ConcurrentDictionary<string, PolicyDocument?> _policies = new(StringComparer.Ordinal);

    /// <summary>Raised before a policy's cache entry is dropped, so a load that raced with the change is not cached.</summary>
    private long _policyChanges;

    /// <summary>The identity decision, combined with the bucket policy of the bucket <paramref name="resourceArn"/> names.</summary>
    /// <remarks>Only the final refusal is logged (event 1120): an identity refusal the bucket policy overrides is not one.</remarks>
    private async ValueTask<AuthorizationResult> DecideAsync(HttpContext context, string action, string resourceArn)
    {
        if (SigV4Context.Of(context)?.Principal is not { IsRoot: false } principal)
        {
            return AuthorizationResult.Allow;
        }

        var account = options.Value.AccountId;
        var conditions = S3ConditionKeys.Of(context, action, account);
        var decision = authorization.Evaluate(context, action, resourceArn, conditions);
        if (!decision.ExplicitDeny && BucketOf(resourceArn) is { } bucket && await PolicyOfAsync(bucket, context.RequestAborted).ConfigureAwait(false) is { } policy)
        {
            decision = Queues.QueuePolicy.Evaluate(policy, principal, action, resourceArn, conditions, account) switch
            {
                PolicyEffect.Deny => PolicyAuthorizer.Result(PolicyEffect.Deny, principal, action, resourceArn, "a resource-based policy"),
                PolicyEffect.Allow => AuthorizationResult.Allow,
                _ => decision,
            };
        }

        if (!decision.Allowed)
        {
            authorization.Refused(context, action, resourceArn);
        }

        return decision;
    }

    private static string? BucketOf(string resourceArn)
    {
        const string Prefix = "arn:aws:s3:::";
        if (!resourceArn.StartsWith(Prefix, StringComparison.Ordinal) || resourceArn == S3Actions.AllBuckets)
        {
            return null;
        }

        var rest = resourceArn[Prefix.Length..];
        var slash = rest.IndexOf('/', StringComparison.Ordinal);
        return slash < 0 ? rest : rest[..slash];
    }

    private async ValueTask<PolicyDocument?> PolicyOfAsync(string bucket, CancellationToken cancellationToken)
    {
        if (_policies.TryGetValue(bucket, out var cached))
        {
            return cached;
        }

        var changes = Interlocked.Read(ref _policyChanges);
        var text = (await store.GetBucketAsync(bucket, cancellationToken).ConfigureAwait(false))?.Policy;
        var policy = text is null ? null : PolicyDocument.TryParse(text, resourcePolicy: true, out _);
        if (Interlocked.Read(ref _policyChanges) == changes)
        {
            _policies[bucket] = policy;
        }

        return policy;
    }

    /// <summary>Forgets a bucket's cached policy after its change is durable.</summary>
    private void PolicyChanged(string bucket)
    {
        Interlocked.Increment(ref _policyChanges);
        _policies.TryRemove(bucket, out _);
    }

    private async Task<S3Error?> PutPolicyAsync(HttpContext context, string bucket)
    {
        if (await store.GetBucketAsync(bucket, context.RequestAborted).ConfigureAwait(false) is null)
        {
            return S3Error.NoSuchBucket(bucket);
        }

        var (body, openError) = UploadBody.Open(context.Request, verifiers, MaxPolicyBytes + 1);
        if (openError is not null)
        {
            return openError;
        }

        string text;
        using (body)
        {
            using var buffer = new MemoryStream();
            await body!.Body.CopyToAsync(buffer, context.RequestAborted).ConfigureAwait(false);
            if (buffer.Length > MaxPolicyBytes)
            {
                return S3Error.PolicyTooLarge();
            }

            try
            {
                text = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
            }
            catch (DecoderFallbackException)
            {
                return S3Error.MalformedPolicy("Policies must be valid JSON in UTF-8.");
            }
        }

        if (PolicyProblem(text, bucket) is { } problem)
        {
            Log.BucketPolicyRefused(logger, bucket, problem);
            return S3Error.MalformedPolicy(problem);
        }

        if (!await store.SetPolicyAsync(bucket, text, CancellationToken.None).ConfigureAwait(false))
        {
            return S3Error.NoSuchBucket(bucket);
        }

        PolicyChanged(bucket);
        Log.BucketPolicySet(logger, bucket);
        context.Response.StatusCode = StatusCodes.Status204NoContent;
        return null;
    }

    private async Task<S3Error?> GetPolicyAsync(HttpContext context, string bucket)
    {
        var record = await store.GetBucketAsync(bucket, context.RequestAborted).ConfigureAwait(false);
        if (record is null)
        {
            return S3Error.NoSuchBucket(bucket);
        }

        if (record.Policy is not { } policy)
        {
            return S3Error.NoSuchBucketPolicy(bucket);
        }

        context.Response.StatusCode = StatusCodes.Status200OK;
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(policy, context.RequestAborted).ConfigureAwait(false);
        return null;
    }

    private async Task<S3Error?> DeletePolicyAsync(HttpContext context, string bucket)
    {
        if (!await store.SetPolicyAsync(bucket, null, CancellationToken.None).ConfigureAwait(false))
        {
            return S3Error.NoSuchBucket(bucket);
        }

        PolicyChanged(bucket);
        Log.BucketPolicyDeleted(logger, bucket);
        context.Response.StatusCode = StatusCodes.Status204NoContent;
        return null;
    }

    /// <summary>
    /// S3's checks of a bucket policy: a resource policy that parses (every statement with a <c>Principal</c>), whose
    /// actions are S3's and whose resources are this bucket or its objects. Null when it is acceptable.
    /// </summary>
    internal static string? PolicyProblem(string text, string bucket)
    {
        var policy = PolicyDocument.TryParseNew(text, resourcePolicy: true, out var error);
        if (policy is null)
        {
            return error ?? "Invalid policy syntax.";
        }

        var bucketArn = S3Actions.BucketArn(bucket);
        foreach (var statement in policy.Statements)
        {
            if (statement.Actions.FirstOrDefault(a => a != "*" && !a.StartsWith("s3:", StringComparison.OrdinalIgnoreCase)) is { } action)
            {
                return $"Policy has invalid action: {action} is not an S3 action (s3:...).";
            }

            if (statement.Resources.FirstOrDefault(r => !Wildcard.Matches(r, bucketArn, ignoreCase: false) && !Wildcard.Matches(r, bucketArn + "/", ignoreCase: false)
                && !r.StartsWith(bucketArn + "/", StringComparison.Ordinal)) is { } resource)
            {
                return $"Policy has invalid resource: {resource} is not {bucketArn} or an object of it ({bucketArn}/...).";
            }
        }

        return null;
    }
}
