using System.Globalization;
using Microsoft.AspNetCore.Http;
using Nimbus.Security;

namespace Nimbus.Buckets;

/// <summary>
/// The S3 condition keys a request supplies to identity and bucket policies, as S3 documents them per action: for
/// s3:ListBucket the listing's <c>s3:prefix</c>, <c>s3:delimiter</c>, <c>s3:max-keys</c> (each when the request
/// names it, even empty); for s3:PutObject the <c>x-amz-*</c> request headers S3 turns into keys (<c>s3:x-amz-acl</c>,
/// <c>s3:x-amz-copy-source</c>, <c>s3:x-amz-metadata-directive</c>, <c>s3:x-amz-server-side-encryption</c>,
/// <c>s3:x-amz-storage-class</c>, the <c>s3:x-amz-grant-*</c> ones...); for every action <c>s3:authType</c>
/// (<c>REST-HEADER</c> or <c>REST-QUERY-STRING</c>), <c>s3:signatureversion</c> (<c>AWS4-HMAC-SHA256</c>, or
/// <c>AWS</c> for a SigV2 presigned URL), <c>s3:signatureAge</c> (milliseconds since the request was signed),
/// <c>s3:x-amz-content-sha256</c> and <c>s3:ResourceAccount</c>. A key the request does not supply is absent, and
/// absent keys follow IAM (<see cref="PolicyCondition"/>).
/// </summary>
internal static class S3ConditionKeys
{
    public const string Prefix = "s3:prefix";
    public const string Delimiter = "s3:delimiter";
    public const string MaxKeys = "s3:max-keys";

    /// <summary>Request headers that become a key of the same name on writes (S3: s3:PutObject, its multipart forms and copies).</summary>
    private static readonly string[] WriteHeaders =
    [
        "x-amz-acl", "x-amz-copy-source", "x-amz-metadata-directive", "x-amz-server-side-encryption",
        "x-amz-server-side-encryption-aws-kms-key-id", "x-amz-storage-class", "x-amz-website-redirect-location",
        "x-amz-grant-read", "x-amz-grant-write", "x-amz-grant-read-acp", "x-amz-grant-write-acp", "x-amz-grant-full-control",
        "x-amz-object-lock-mode", "x-amz-object-lock-retain-until-date", "x-amz-object-lock-legal-hold",
    ];

    /// <summary>Every key Nimbus supplies for S3 (<see cref="AuthorizationContext.IsKnownKey"/>); any other s3: key fails closed.</summary>
    public static IEnumerable<string> Keys =>
        new[] { Prefix, Delimiter, MaxKeys, "s3:authType", "s3:signatureversion", "s3:signatureAge", "s3:x-amz-content-sha256", "s3:ResourceAccount" }
            .Concat(WriteHeaders.Select(h => "s3:" + h));

    /// <summary>The authorization context of an S3 request checked against <paramref name="action"/>.</summary>
    public static AuthorizationContext Of(HttpContext context, string action, string accountId)
    {
        var request = context.Request;
        var keys = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase) { ["s3:ResourceAccount"] = accountId };
        if (SigV4Context.Of(context) is { } signed)
        {
            var presigned = request.Query.ContainsKey("X-Amz-Signature") || request.Query.ContainsKey("Signature");
            keys["s3:authType"] = presigned ? "REST-QUERY-STRING" : "REST-HEADER";
            keys["s3:signatureversion"] = request.Query.ContainsKey("Signature") && !request.Query.ContainsKey("X-Amz-Signature") ? "AWS" : "AWS4-HMAC-SHA256";
            if (signed.Signature is { } signature
                && DateTimeOffset.TryParseExact(signature.AmzDate, "yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var signedAt))
            {
                keys["s3:signatureAge"] = Math.Max(0, (long)(DateTimeOffset.UtcNow - signedAt).TotalMilliseconds).ToString(CultureInfo.InvariantCulture);
            }
        }

        if (request.Headers[S3Wire.ContentSha256].ToString() is { Length: > 0 } sha)
        {
            keys["s3:x-amz-content-sha256"] = sha;
        }

        if (string.Equals(action, S3Actions.ListBucket, StringComparison.Ordinal) && HttpMethods.IsGet(request.Method))
        {
            AddQuery(keys, request, S3Wire.QueryPrefix, Prefix);
            AddQuery(keys, request, S3Wire.QueryDelimiter, Delimiter);
            AddQuery(keys, request, S3Wire.QueryMaxKeys, MaxKeys);
        }
        else if (string.Equals(action, S3Actions.PutObject, StringComparison.Ordinal))
        {
            foreach (var header in WriteHeaders)
            {
                if (request.Headers[header].ToString() is { Length: > 0 } value)
                {
                    keys["s3:" + header] = value;
                }
            }
        }

        var baseline = AuthorizationContext.Of(context, accountId);
        return new AuthorizationContext
        {
            SourceIp = baseline.SourceIp,
            SecureTransport = baseline.SecureTransport,
            CurrentTime = baseline.CurrentTime,
            RequestedRegion = baseline.RequestedRegion,
            AccountId = accountId,
            ServiceKeys = keys,
        };
    }

    private static void AddQuery(Dictionary<string, string> keys, HttpRequest request, string parameter, string key)
    {
        if (request.Query.TryGetValue(parameter, out var value))
        {
            keys[key] = value.ToString();
        }
    }
}
