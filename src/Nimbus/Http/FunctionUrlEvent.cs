using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Nimbus.Http;

/// <summary>
/// Builds the event a function URL request hands the function: AWS's HTTP payload format 2.0, member by member
/// (no pathParameters or stageVariables, as Lambda sends for URLs).
/// </summary>
internal static class FunctionUrlEvent
{
    public const string Version = "2.0";
    public const string DefaultRoute = "$default";
    public const string CookieHeader = "cookie";

    /// <summary>What AWS puts in requestContext.accountId when a URL's AuthType is NONE.</summary>
    public const string AnonymousAccount = "anonymous";

    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>The parts of a request the event carries besides the HttpContext itself.</summary>
    internal readonly record struct Source(string UrlId, string DomainName, string AccountId, string RawPath, string RequestId, DateTimeOffset Time);

    public static byte[] Build(HttpContext context, Source source, byte[] body)
    {
        var request = context.Request;
        var buffer = new ArrayBufferWriter<byte>(1024 + body.Length * 4 / 3);
        using (var json = new Utf8JsonWriter(buffer, WriterOptions))
        {
            json.WriteStartObject();
            json.WriteString("version", Version);
            json.WriteString("routeKey", DefaultRoute);
            json.WriteString("rawPath", source.RawPath);
            var rawQuery = request.QueryString.HasValue ? request.QueryString.Value![1..] : "";
            json.WriteString("rawQueryString", rawQuery);
            WriteCookies(json, request.Headers);
            WriteHeaders(json, context, source.DomainName);
            WriteQuery(json, request.Query);
            json.WriteStartObject("requestContext");
            json.WriteString("accountId", source.AccountId);
            json.WriteString("apiId", source.UrlId);
            json.WriteString("domainName", source.DomainName);
            json.WriteString("domainPrefix", source.UrlId);
            json.WriteStartObject("http");
            json.WriteString("method", request.Method);
            json.WriteString("path", source.RawPath);
            json.WriteString("protocol", request.Protocol);
            json.WriteString("sourceIp", SourceIp(context));
            json.WriteString("userAgent", request.Headers.UserAgent.ToString());
            json.WriteEndObject();
            json.WriteString("requestId", source.RequestId);
            json.WriteString("routeKey", DefaultRoute);
            json.WriteString("stage", DefaultRoute);
            json.WriteString("time", source.Time.UtcDateTime.ToString("dd/MMM/yyyy:HH:mm:ss '+0000'", CultureInfo.InvariantCulture));
            json.WriteNumber("timeEpoch", source.Time.ToUnixTimeMilliseconds());
            json.WriteEndObject();
            var isBase64 = false;
            if (body.Length > 0)
            {
                if (IsText(request.ContentType) && TryDecodeUtf8(body) is { } text)
                {
                    json.WriteString("body", text);
                }
                else
                {
                    json.WriteBase64String("body", body);
                    isBase64 = true;
                }
            }

            json.WriteBoolean("isBase64Encoded", isBase64);
            json.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>The path as the client sent it (still percent-encoded), without the query.</summary>
    public static string RawTarget(HttpContext context)
    {
        var target = context.Features.Get<IHttpRequestFeature>()?.RawTarget is { Length: > 0 } raw ? raw : context.Request.Path.Value ?? "/";
        var query = target.IndexOf('?', StringComparison.Ordinal);
        return query < 0 ? target : target[..query];
    }

    public static string SourceIp(HttpContext context) => context.Connection.RemoteIpAddress?.MapToIPv4().ToString() ?? "127.0.0.1";

    /// <summary>Bodies of these types reach the function as text; everything else is base64, as Lambda does.</summary>
    public static bool IsText(string? contentType)
    {
        if (string.IsNullOrEmpty(contentType))
        {
            return false;
        }

        var media = contentType.Split(';', 2)[0].Trim().ToLowerInvariant();
        return media.StartsWith("text/", StringComparison.Ordinal)
            || media is "application/json" or "application/javascript" or "application/xml" or "application/x-www-form-urlencoded" or "application/graphql"
            || media.EndsWith("+json", StringComparison.Ordinal)
            || media.EndsWith("+xml", StringComparison.Ordinal);
    }

    private static string? TryDecodeUtf8(byte[] body)
    {
        try
        {
            return StrictUtf8.GetString(body);
        }
        catch (DecoderFallbackException)
        {
            return null;
        }
    }

    private static void WriteCookies(Utf8JsonWriter json, IHeaderDictionary headers)
    {
        if (!headers.TryGetValue(CookieHeader, out var values) || values.Count == 0)
        {
            return;
        }

        json.WriteStartArray("cookies");
        foreach (var value in values)
        {
            foreach (var cookie in (value ?? "").Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                json.WriteStringValue(cookie);
            }
        }

        json.WriteEndArray();
    }

    private static void WriteHeaders(Utf8JsonWriter json, HttpContext context, string domainName)
    {
        var headers = context.Request.Headers;
        json.WriteStartObject("headers");
        foreach (var (name, values) in headers)
        {
            if (string.Equals(name, CookieHeader, StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }

            json.WriteString(name.ToLowerInvariant(), string.Join(',', values.ToArray()));
        }

        // Lambda's front end adds these; a client's own values pass through unchanged.
        if (!headers.ContainsKey("x-forwarded-for"))
        {
            json.WriteString("x-forwarded-for", SourceIp(context));
        }

        if (!headers.ContainsKey("x-forwarded-proto"))
        {
            json.WriteString("x-forwarded-proto", context.Request.Scheme);
        }

        if (!headers.ContainsKey("x-forwarded-port"))
        {
            json.WriteString("x-forwarded-port", context.Connection.LocalPort.ToString(CultureInfo.InvariantCulture));
        }

        if (!headers.ContainsKey("host"))
        {
            json.WriteString("host", domainName);
        }

        json.WriteEndObject();
    }

    private static void WriteQuery(Utf8JsonWriter json, IQueryCollection query)
    {
        if (query.Count == 0)
        {
            return;
        }

        json.WriteStartObject("queryStringParameters");
        foreach (var (name, values) in query)
        {
            json.WriteString(name, string.Join(',', values.ToArray()));
        }

        json.WriteEndObject();
    }
}
