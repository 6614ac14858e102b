using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Nimbus.IntegrationTests;

/// <summary>
/// Signs raw HttpClient requests with SigV4 as an AWS SDK would (header form, <c>host;x-amz-date</c>, plus
/// <c>x-amz-content-sha256</c> for S3), so raw-HTTP tests reach a server that authenticates every request. The
/// service comes from the request: X-Amz-Target prefix (sqs, logs, monitoring), Lambda paths (lambda), /schedules
/// (scheduler), form posts (sqs), anything else s3. Requests that already carry a signature, or were marked with
/// <see cref="Unsigned"/>, go out as they are, as do function URL requests.
/// </summary>
internal sealed class SigV4SigningHandler(string accessKeyId, string secretAccessKey, string region, HttpMessageHandler? inner = null)
    : DelegatingHandler(inner ?? new HttpClientHandler())
{
    /// <summary>Set on a request (Options) to send it without a signature.</summary>
    public static readonly HttpRequestOptionsKey<bool> Unsigned = new("nimbus.unsigned");

    private static readonly string[] LambdaPrefixes = ["/2015-03-31/", "/2016-08-19/", "/2017-", "/2018-", "/2019-", "/2020-", "/2021-", "/2022-", "/2023-", "/2024-", "/2025-", "/nimbus/"];

    public static string ServiceOf(HttpRequestMessage request)
    {
        var target = request.Headers.TryGetValues("X-Amz-Target", out var values) ? values.First() : "";
        if (target.StartsWith("AmazonSQS", StringComparison.Ordinal))
        {
            return "sqs";
        }

        if (target.StartsWith("Logs_", StringComparison.Ordinal))
        {
            return "logs";
        }

        if (target.StartsWith("GraniteServiceVersion", StringComparison.Ordinal))
        {
            return "monitoring";
        }

        var path = request.RequestUri!.AbsolutePath;
        if (LambdaPrefixes.Any(p => path.StartsWith(p, StringComparison.Ordinal)))
        {
            return "lambda";
        }

        if (path.StartsWith("/schedule", StringComparison.Ordinal))
        {
            return "scheduler";
        }

        return request.Method == HttpMethod.Post && request.Content?.Headers.ContentType?.MediaType == "application/x-www-form-urlencoded" ? "sqs" : "s3";
    }

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        if ((request.Options.TryGetValue(Unsigned, out var unsigned) && unsigned)
            || IsFunctionUrl(request)
            || request.Headers.Authorization is not null
            || request.RequestUri!.Query.Contains("X-Amz-Signature", StringComparison.Ordinal))
        {
            return await base.SendAsync(request, cancellationToken);
        }

        Sign(request, request.Content is null ? [] : await request.Content.ReadAsByteArrayAsync(cancellationToken), ServiceOf(request), accessKeyId, secretAccessKey, region, DateTime.UtcNow);
        return await base.SendAsync(request, cancellationToken);
    }

    /// <summary>Function URL requests go out as a browser sends them; a test of an AWS_IAM URL signs explicitly.</summary>
    private static bool IsFunctionUrl(HttpRequestMessage request) =>
        request.RequestUri!.AbsolutePath.StartsWith("/lambda-url/", StringComparison.Ordinal)
        || (request.Headers.Host ?? request.RequestUri.Host).Contains(".lambda-url.", StringComparison.OrdinalIgnoreCase);

    public static void Sign(HttpRequestMessage request, byte[] body, string service, string accessKeyId, string secret, string region, DateTime now, string? sessionToken = null)
    {
        var uri = request.RequestUri!;
        var amzDate = now.ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture);
        var date = amzDate[..8];
        var payloadHash = Convert.ToHexStringLower(SHA256.HashData(body));
        var host = request.Headers.Host ?? uri.Authority;
        var headers = new SortedDictionary<string, string>(StringComparer.Ordinal) { ["host"] = host, ["x-amz-date"] = amzDate };
        request.Headers.Remove("X-Amz-Date");
        request.Headers.TryAddWithoutValidation("X-Amz-Date", amzDate);
        if (service == "s3")
        {
            // A test that sets a hex payload hash of its own (a deliberately wrong one) gets it signed as it is.
            if (request.Headers.TryGetValues("x-amz-content-sha256", out var given) && given.SingleOrDefault() is { Length: 64 } explicitHash
                && explicitHash.All(Uri.IsHexDigit))
            {
                payloadHash = explicitHash;
            }

            headers["x-amz-content-sha256"] = payloadHash;
            request.Headers.Remove("x-amz-content-sha256");
            request.Headers.TryAddWithoutValidation("x-amz-content-sha256", payloadHash);
        }

        if (sessionToken is not null)
        {
            headers["x-amz-security-token"] = sessionToken;
            request.Headers.TryAddWithoutValidation("X-Amz-Security-Token", sessionToken);
        }

        var path = uri.AbsolutePath.Length == 0 ? "/" : uri.AbsolutePath;
        var canonicalUri = service == "s3" ? path : Encode(path, keepSlash: true);
        var signedHeaders = string.Join(';', headers.Keys);
        var canonical = $"{request.Method.Method}\n{canonicalUri}\n{CanonicalQuery(uri.Query)}\n{string.Concat(headers.Select(h => $"{h.Key}:{h.Value}\n"))}\n{signedHeaders}\n{payloadHash}";
        var scope = $"{date}/{region}/{service}/aws4_request";
        var stringToSign = $"AWS4-HMAC-SHA256\n{amzDate}\n{scope}\n{Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(canonical)))}";
        var signature = Convert.ToHexStringLower(Hmac(SigningKey(secret, date, region, service), stringToSign));
        request.Headers.TryAddWithoutValidation("Authorization", $"AWS4-HMAC-SHA256 Credential={accessKeyId}/{scope}, SignedHeaders={signedHeaders}, Signature={signature}");
    }

    public static byte[] SigningKey(string secret, string date, string region, string service) =>
        Hmac(Hmac(Hmac(Hmac(Encoding.UTF8.GetBytes("AWS4" + secret), date), region), service), "aws4_request");

    public static byte[] Hmac(byte[] key, string data) => HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(data));

    public static string CanonicalQuery(string query)
    {
        var raw = query.StartsWith('?') ? query[1..] : query;
        return string.Join('&', raw.Split('&', StringSplitOptions.RemoveEmptyEntries)
            .Select(part =>
            {
                var equals = part.IndexOf('=', StringComparison.Ordinal);
                var key = Uri.UnescapeDataString(equals < 0 ? part : part[..equals]);
                var value = equals < 0 ? "" : Uri.UnescapeDataString(part[(equals + 1)..]);
                return (Key: Encode(key, false), Value: Encode(value, false));
            })
            .OrderBy(p => p.Key, StringComparer.Ordinal).ThenBy(p => p.Value, StringComparer.Ordinal)
            .Select(p => p.Key + "=" + p.Value));
    }

    public static string Encode(string value, bool keepSlash)
    {
        var builder = new StringBuilder();
        foreach (var b in Encoding.UTF8.GetBytes(value))
        {
            var c = (char)b;
            if (char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' or '~' || (keepSlash && c == '/'))
            {
                builder.Append(c);
            }
            else
            {
                builder.Append('%').Append(b.ToString("X2", CultureInfo.InvariantCulture));
            }
        }

        return builder.ToString();
    }
}
