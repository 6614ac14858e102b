using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Nimbus.Buckets;

/// <summary>
/// Which bucket and key a request names (reference 2.3): virtual-hosted style (<c>b.s3.localhost</c>,
/// <c>b.s3.&lt;region&gt;.localhost</c>, <c>b.localhost</c>, any port) or path style (<c>/b/key</c>). The key is
/// taken from the raw request target and percent-decoded once, so <c>%2F</c>, <c>..</c> and <c>+</c> stay as the
/// client meant them.
/// </summary>
internal readonly record struct BucketAddress(string? Bucket, string? Key)
{
    private const string LocalhostSuffix = ".localhost";

    public static BucketAddress Resolve(HttpContext context)
    {
        var raw = context.Features.Get<IHttpRequestFeature>()?.RawTarget ?? context.Request.Path.Value ?? "/";
        var query = raw.IndexOf('?', StringComparison.Ordinal);
        var path = query < 0 ? raw : raw[..query];
        if (path.StartsWith("http://", StringComparison.OrdinalIgnoreCase) || path.StartsWith("https://", StringComparison.OrdinalIgnoreCase))
        {
            // Absolute-form request target (a proxy-style request line).
            var uri = new Uri(path);
            path = uri.AbsolutePath;
        }

        path = path.Length > 0 && path[0] == '/' ? path[1..] : path;
        var hostBucket = HostBucket(context.Request.Host.Host);
        if (hostBucket is not null)
        {
            return new BucketAddress(hostBucket, path.Length == 0 ? null : Uri.UnescapeDataString(path));
        }

        if (path.Length == 0)
        {
            return new BucketAddress(null, null);
        }

        var slash = path.IndexOf('/', StringComparison.Ordinal);
        if (slash < 0)
        {
            return new BucketAddress(Uri.UnescapeDataString(path), null);
        }

        var key = path[(slash + 1)..];
        return new BucketAddress(Uri.UnescapeDataString(path[..slash]), key.Length == 0 ? null : Uri.UnescapeDataString(key));
    }

    /// <summary>The bucket named by a virtual host, or null for path style.</summary>
    public static string? HostBucket(string host)
    {
        if (!host.EndsWith(LocalhostSuffix, StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        var labels = host[..^LocalhostSuffix.Length].ToLowerInvariant();
        var s3 = labels.LastIndexOf(".s3", StringComparison.Ordinal);
        if (s3 > 0 && (s3 + 3 == labels.Length || labels[s3 + 3] == '.'))
        {
            // b.s3.localhost or b.s3.<region>.localhost (the region being one label).
            var rest = labels[(s3 + 3)..];
            if (rest.Length == 0 || rest.LastIndexOf('.') == 0)
            {
                return labels[..s3];
            }
        }

        if (labels == "s3" || labels.StartsWith("s3.", StringComparison.Ordinal))
        {
            return null;
        }

        // b.localhost; other services' hosts (function URLs) are matched before S3 ever sees them.
        return labels.Length > 0 ? labels : null;
    }
}
