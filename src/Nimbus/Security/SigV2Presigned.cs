using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;

namespace Nimbus.Security;

/// <summary>
/// S3's Signature Version 2 query-string authentication (<c>AWSAccessKeyId</c>, <c>Expires</c>, <c>Signature</c>):
/// what <c>aws s3 presign</c> of AWS CLI v1 and boto3's default <c>generate_presigned_url</c> produce. Only GET and
/// HEAD of objects, as presigned downloads; the signature is Base64(HMAC-SHA1(secret, string to sign)).
/// </summary>
internal static class SigV2Presigned
{
    public const string AccessKeyQuery = "AWSAccessKeyId";
    public const string ExpiresQuery = "Expires";
    public const string SignatureQuery = "Signature";
    private const string SecurityTokenQuery = "x-amz-security-token";

    // Sub-resources and response overrides that S3's V2 canonical resource includes (sorted by name when written).
    private static readonly string[] SubResources =
    [
        "acl", "cors", "delete", "lifecycle", "location", "logging", "notification", "partNumber", "policy",
        "requestPayment", "response-cache-control", "response-content-disposition", "response-content-encoding",
        "response-content-language", "response-content-type", "response-expires", "restore", "tagging", "torrent",
        "uploadId", "uploads", "versionId", "versioning", "versions", "website",
    ];

    /// <summary>An S3-looking request (not a Lambda path, no X-Amz-Target) carrying V2 query authentication.</summary>
    public static bool Applies(HttpRequest request) =>
        request.Headers.Authorization.Count == 0
        && !request.Headers.ContainsKey("X-Amz-Target")
        && !AwsServices.IsLambdaPath(request.Path.Value ?? "/")
        && request.Query.ContainsKey(AccessKeyQuery) && request.Query.ContainsKey(SignatureQuery) && request.Query.ContainsKey(ExpiresQuery);

    public static string AccessKeyId(HttpRequest request) => request.Query[AccessKeyQuery].ToString();

    public static string? SecurityToken(HttpRequest request) =>
        request.Query.TryGetValue(SecurityTokenQuery, out var token) ? token.ToString() : null;

    /// <summary>Null when the URL has not expired and its format is right; else the failure to answer.</summary>
    public static AuthFailure? CheckFormat(HttpRequest request, DateTimeOffset now)
    {
        if (!HttpMethods.IsGet(request.Method) && !HttpMethods.IsHead(request.Method))
        {
            return AuthFailure.Malformed("Signature Version 2 presigned URLs are accepted for GET and HEAD only; presign other requests with Signature Version 4.");
        }

        if (!long.TryParse(request.Query[ExpiresQuery].ToString(), NumberStyles.None, CultureInfo.InvariantCulture, out var expires))
        {
            return AuthFailure.Malformed("The Expires parameter of a presigned URL must be a number of seconds since 1970-01-01.");
        }

        var expiry = DateTimeOffset.FromUnixTimeSeconds(Math.Min(expires, DateTimeOffset.MaxValue.ToUnixTimeSeconds()));
        return now > expiry ? AuthFailure.PresignExpired(expiry, now) : null;
    }

    /// <summary>True when the URL's signature is the secret's, over the path as sent or decoded (clients differ).</summary>
    public static bool Matches(HttpRequest request, string rawPath, string secret)
    {
        var provided = request.Query[SignatureQuery].ToString();
        foreach (var path in new[] { rawPath, Uri.UnescapeDataString(rawPath) })
        {
            // SigV2 is defined over HMAC-SHA1; the wire contract leaves no choice.
#pragma warning disable CA5350
            var expected = Convert.ToBase64String(HMACSHA1.HashData(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes(StringToSign(request, path))));
#pragma warning restore CA5350
            if (CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(expected), Encoding.ASCII.GetBytes(provided)))
            {
                return true;
            }
        }

        return false;
    }

    public static string StringToSign(HttpRequest request, string path)
    {
        var text = new StringBuilder();
        text.Append(request.Method).Append('\n')
            .Append(request.Headers["Content-MD5"].ToString()).Append('\n')
            .Append(request.Headers.ContentType.ToString()).Append('\n')
            .Append(request.Query[ExpiresQuery].ToString()).Append('\n');
        foreach (var header in request.Headers.Where(h => h.Key.StartsWith("x-amz-", StringComparison.OrdinalIgnoreCase))
            .OrderBy(h => h.Key.ToLowerInvariant(), StringComparer.Ordinal))
        {
            text.Append(header.Key.ToLowerInvariant()).Append(':').Append(header.Value.ToString().Trim()).Append('\n');
        }

        text.Append(path);
        var separator = '?';
        foreach (var name in SubResources)
        {
            if (request.Query.TryGetValue(name, out var value))
            {
                text.Append(separator).Append(name);
                if (value.ToString().Length > 0)
                {
                    text.Append('=').Append(value.ToString());
                }

                separator = '&';
            }
        }

        return text.ToString();
    }
}
