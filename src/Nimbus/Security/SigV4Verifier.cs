using Microsoft.AspNetCore.Http;

namespace Nimbus.Security;

/// <summary>
/// Computes the signature a request should carry and the time checks around it. Pure: the caller supplies the raw
/// target, the payload hash and the secret, and gets back a failure or null.
/// </summary>
internal static class SigV4Verifier
{
    /// <summary>Checks the request time against <paramref name="now"/>: the 15-minute window, or a presigned URL's expiry.</summary>
    public static AuthFailure? CheckTime(SigV4Signature signature, DateTimeOffset now)
    {
        if (signature.Presigned)
        {
            if (signature.Timestamp - now > SigV4.MaxClockSkew)
            {
                return AuthFailure.SkewedFuture(signature.AmzDate, now);
            }

            var expires = signature.Timestamp.AddSeconds(signature.ExpiresSeconds);
            return now > expires ? AuthFailure.PresignExpired(expires, now) : null;
        }

        if (now - signature.Timestamp > SigV4.MaxClockSkew)
        {
            return AuthFailure.Skewed(signature.AmzDate, now);
        }

        return signature.Timestamp - now > SigV4.MaxClockSkew ? AuthFailure.SkewedFuture(signature.AmzDate, now) : null;
    }

    /// <summary>
    /// The canonical request of <paramref name="request"/> under <paramref name="signature"/>. <paramref name="rawTarget"/>
    /// is the request target exactly as received (path and query, still percent-encoded).
    /// </summary>
    public static string CanonicalRequest(HttpRequest request, string rawTarget, SigV4Signature signature, string payloadHash)
    {
        var (rawPath, rawQuery) = SplitTarget(rawTarget);
        var s3 = signature.Scope.Service == AwsServices.S3;
        var canonicalUri = SigV4.CanonicalUri(rawPath, s3);
        var canonicalQuery = SigV4.CanonicalQuery(rawQuery, signature.Presigned ? SigV4.SignatureQuery : null);
        var names = signature.SignedHeaders.Split(';');
        var headers = new List<(string, string)>(names.Length);
        foreach (var name in names)
        {
            var values = name == "host" ? request.Headers.Host : request.Headers[name];
            headers.Add((name, values.Count == 1 ? SigV4.CanonicalHeaderValue(values[0] ?? "") : string.Join(',', values.Select(v => SigV4.CanonicalHeaderValue(v ?? "")))));
        }

        return SigV4.CanonicalRequest(request.Method, canonicalUri, canonicalQuery, headers, signature.SignedHeaders, payloadHash);
    }

    /// <summary>True when <paramref name="signature"/> is what <paramref name="secret"/> signs for the canonical request.</summary>
    public static bool Matches(SigV4Signature signature, string secret, string canonicalRequest, out byte[] signingKey)
    {
        var scope = signature.Scope;
        signingKey = SigV4SigningKeys.Get(secret, scope.Date, scope.Region, scope.Service);
        return SigV4.SignatureMatches(signingKey, signature.AmzDate, scope, canonicalRequest, signature.Signature);
    }

    public static (string Path, string Query) SplitTarget(string rawTarget)
    {
        var target = rawTarget;
        if (!target.StartsWith('/') && Uri.TryCreate(target, UriKind.Absolute, out var absolute))
        {
            target = absolute.PathAndQuery;
        }

        var question = target.IndexOf('?', StringComparison.Ordinal);
        return question < 0 ? (target, "") : (target[..question], target[(question + 1)..]);
    }
}
