using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;

namespace Nimbus.Security;

/// <summary>
/// Turns GetFunction's <c>Code.Location</c> into a URL plain HTTP clients can download, as AWS's is: a SigV4
/// presigned GET (service <c>lambda</c>, <c>host</c> signed, <see cref="Expiry"/>) made with the caller's own
/// credentials, so the download is authenticated and authorized as the caller, and a changed or stale URL is refused
/// by <see cref="SigV4AuthenticationMiddleware"/> like any presigned request.
/// </summary>
internal sealed class CodeLocationSigner(
    IdentityStore identities,
    SessionCredentials sessions,
    RootCredentials root,
    IOptions<NimbusOptions> options,
    TimeProvider time)
{
    /// <summary>How long a code location stays valid (AWS's presigned code URLs last 10 minutes).</summary>
    public static readonly TimeSpan Expiry = TimeSpan.FromMinutes(10);

    /// <summary>The absolute presigned URL of <paramref name="path"/> on the host the request came to.</summary>
    public string Presign(HttpContext context, string path)
    {
        var signature = SigV4Context.Of(context)?.Signature;
        string accessKeyId, secret;
        string? token = null;
        if (signature?.SecurityToken is { } sessionToken
            && sessions.TryOpen(signature.Scope.AccessKeyId, sessionToken, out _, out var sessionSecret) is null)
        {
            (accessKeyId, secret, token) = (signature.Scope.AccessKeyId, sessionSecret!, sessionToken);
        }
        else if (signature is not null && signature.SecurityToken is null && identities.TryFind(signature.Scope.AccessKeyId, out _, out var found))
        {
            (accessKeyId, secret) = (signature.Scope.AccessKeyId, found);
        }
        else
        {
            // --dev mode accepted a signature it did not check: the URL is root's, as that request was.
            (accessKeyId, secret) = (root.AccessKeyId, root.SecretAccessKey);
        }

        var host = context.Request.Host.Value ?? "localhost";
        var region = signature?.Scope.Region ?? options.Value.Region;
        var amzDate = SigV4.FormatAmzDate(time.GetUtcNow());
        var date = amzDate[..8];
        var scope = SigV4.Scope(date, region, AwsServices.Lambda);
        var query = new List<(string Name, string Value)>
        {
            (SigV4.AlgorithmQuery, SigV4.Algorithm),
            (SigV4.CredentialQuery, $"{accessKeyId}/{scope}"),
            (SigV4.DateQuery, amzDate),
            (SigV4.ExpiresQuery, ((int)Expiry.TotalSeconds).ToString(System.Globalization.CultureInfo.InvariantCulture)),
            (SigV4.SignedHeadersQuery, "host"),
        };
        if (token is not null)
        {
            query.Add((SigV4.SecurityTokenQuery, token));
        }

        var rawQuery = string.Join('&', query.Select(p => SigV4.UriEncode(p.Name, keepSlash: false) + "=" + SigV4.UriEncode(p.Value, keepSlash: false)));
        var canonical = SigV4.CanonicalRequest("GET", SigV4.CanonicalUri(path, s3: false), SigV4.CanonicalQuery(rawQuery),
            [("host", SigV4.CanonicalHeaderValue(host))], "host", SigV4.UnsignedPayload);
        var signingKey = SigV4.SigningKey(secret, date, region, AwsServices.Lambda);
        var signed = SigV4.Sign(signingKey, SigV4.StringToSign(amzDate, scope, canonical));
        return $"{context.Request.Scheme}://{host}{path}?{rawQuery}&{SigV4.SignatureQuery}={signed}";
    }
}
