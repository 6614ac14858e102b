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
        var (canonicalUri, canonicalQuery, headers) = CanonicalParts(request, rawTarget, signature);
        return SigV4.CanonicalRequest(request.Method, canonicalUri, canonicalQuery, headers, signature.SignedHeaders, payloadHash);
    }

    /// <summary>The SHA-256 of <see cref="CanonicalRequest"/>, computed without making it a string.</summary>
    public static void CanonicalRequestHash(HttpRequest request, string rawTarget, SigV4Signature signature, string payloadHash, Span<byte> hash)
    {
        var (canonicalUri, canonicalQuery, headers) = CanonicalParts(request, rawTarget, signature);
        SigV4.CanonicalRequestHash(request.Method, canonicalUri, canonicalQuery, headers, signature.SignedHeaders, payloadHash, hash);
    }

    private static (string Uri, string Query, List<(string, string)> Headers) CanonicalParts(HttpRequest request, string rawTarget, SigV4Signature signature)
    {
        var (rawPath, rawQuery) = SplitTarget(rawTarget);
        var s3 = signature.Scope.Service == AwsServices.S3;
        var canonicalUri = SigV4.CanonicalUri(rawPath, s3);
        var canonicalQuery = SigV4.CanonicalQuery(rawQuery, signature.Presigned ? SigV4.SignatureQuery : null);
        var signedHeaders = signature.SignedHeaders.AsSpan();
        // Reused per thread: the list is consumed by the caller before this thread builds another.
        var headers = _headers ??= new List<(string, string)>(8);
        headers.Clear();
        foreach (var range in signedHeaders.Split(';'))
        {
            var name = HeaderName(signedHeaders[range]);
            var values = name == "host" ? request.Headers.Host : request.Headers[name];
            headers.Add((name, values.Count == 1 ? SigV4.CanonicalHeaderValue(values[0] ?? "") : string.Join(',', values.Select(v => SigV4.CanonicalHeaderValue(v ?? "")))));
        }

        return (canonicalUri, canonicalQuery, headers);
    }

    [ThreadStatic]
    private static List<(string, string)>? _headers;

    /// <summary>The header names SDKs and CLIs sign, so that reading SignedHeaders allocates no string for them.</summary>
    private static readonly string[] CommonHeaderNames =
    [
        "host", "x-amz-date", "content-type", "x-amz-content-sha256", "x-amz-security-token", "content-length",
        "x-amz-user-agent", "x-amz-target", "x-amz-invocation-type", "x-amz-log-type", "x-amz-client-context",
        "amz-sdk-invocation-id", "amz-sdk-request", "content-md5", "content-encoding",
    ];

    private static string HeaderName(ReadOnlySpan<char> name)
    {
        foreach (var common in CommonHeaderNames)
        {
            if (name.SequenceEqual(common))
            {
                return common;
            }
        }

        return name.ToString();
    }

    /// <summary>True when <paramref name="signature"/> is what <paramref name="secret"/> signs for the canonical request.</summary>
    public static bool Matches(SigV4Signature signature, string secret, string canonicalRequest, out byte[] signingKey)
    {
        var scope = signature.Scope;
        signingKey = SigV4SigningKeys.Get(secret, scope.Date, scope.Region, scope.Service);
        return SigV4.SignatureMatches(signingKey, signature.AmzDate, scope, canonicalRequest, signature.Signature);
    }

    /// <summary>As <see cref="Matches(SigV4Signature, string, string, out byte[])"/>, from the canonical request's SHA-256.</summary>
    public static bool Matches(SigV4Signature signature, string secret, ReadOnlySpan<byte> canonicalRequestHash, out byte[] signingKey)
    {
        var scope = signature.Scope;
        signingKey = SigV4SigningKeys.Get(secret, scope.Date, scope.Region, scope.Service);
        return SigV4.SignatureMatches(signingKey, signature.AmzDate, scope, canonicalRequestHash, signature.Signature);
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
