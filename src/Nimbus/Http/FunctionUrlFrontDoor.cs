using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;
using Nimbus.Functions;
using Nimbus.Invocation;

namespace Nimbus.Http;

/// <summary>
/// Serves function URLs: requests whose Host is <c>&lt;url-id&gt;.lambda-url.&lt;region&gt;.localhost</c> or whose path
/// starts with <c>/lambda-url/&lt;url-id&gt;/</c>. Answers CORS preflights from the URL's Cors config, hands every
/// other request to the Invoker as a payload 2.0 event, and turns the result into the HTTP response by Lambda's rules.
/// </summary>
internal sealed class FunctionUrlFrontDoor(FunctionUrlService urls, Invoker invoker, TimeProvider time, Security.FunctionUrlIamGuard iam)
{
    public const string PathPrefix = "/lambda-url/";
    public const string HostInfix = ".lambda-url.";
    public const string HostSuffix = ".localhost";
    public const string RequestIdHeader = "x-amzn-RequestId";

    private static readonly byte[] InternalServerError = """{"Message":"Internal Server Error"}"""u8.ToArray();
    private static readonly byte[] Forbidden = """{"Message":"Forbidden"}"""u8.ToArray();
    private static readonly byte[] TooLarge = """{"Message":"Request Entity Too Large"}"""u8.ToArray();
    private static readonly byte[] Throttled = """{"Message":"Rate Exceeded."}"""u8.ToArray();
    private static readonly byte[] Unavailable = """{"Message":"Service Unavailable"}"""u8.ToArray();

    // Headers Kestrel computes itself; a function's values for them would corrupt the response framing.
    private static readonly HashSet<string> FramingHeaders = new(StringComparer.OrdinalIgnoreCase) { "content-length", "transfer-encoding", "connection" };

    /// <summary>Headers Kestrel computes itself, which a function may not set.</summary>
    internal static bool IsFramingHeader(string name) => FramingHeaders.Contains(name);

    // Asked twice per request on the main port (authentication, then routing): built once.
    private readonly string _hostSuffix = HostInfix + urls.Region + HostSuffix;

    /// <summary>The url-id and the path the function sees, when the request is for a function URL.</summary>
    public bool TryMatch(HttpContext context, out string urlId, out string rawPath)
    {
        var host = context.Request.Host.Host;
        if (host.Length == FunctionUrlService.UrlIdLength + _hostSuffix.Length && host.EndsWith(_hostSuffix, StringComparison.OrdinalIgnoreCase))
        {
            urlId = host[..FunctionUrlService.UrlIdLength].ToLowerInvariant();
            rawPath = FunctionUrlEvent.RawTarget(context);
            return true;
        }

        var path = context.Request.Path.Value ?? "";
        if (path.StartsWith(PathPrefix, StringComparison.Ordinal))
        {
            var raw = FunctionUrlEvent.RawTarget(context);
            var start = raw.IndexOf(PathPrefix, StringComparison.Ordinal) + PathPrefix.Length;
            var end = raw.IndexOf('/', start);
            urlId = end < 0 ? raw[start..] : raw[start..end];
            rawPath = end < 0 ? "/" : raw[end..];
            return true;
        }

        urlId = rawPath = "";
        return false;
    }

    public async Task HandleAsync(HttpContext context)
    {
        TryMatch(context, out var urlId, out var rawPath);
        var requestId = AwsRequestId.NewId();
        context.Response.Headers[RequestIdHeader] = requestId;
        var record = urlId.Length == FunctionUrlService.UrlIdLength && urlId.All(char.IsAsciiLetterOrDigit)
            ? await urls.FindAsync(urlId, context.RequestAborted).ConfigureAwait(false)
            : null;
        if (record is null)
        {
            await WriteMessageAsync(context, 403, Forbidden).ConfigureAwait(false);
            return;
        }

        var request = context.Request;
        var origin = request.Headers.Origin.ToString();
        if (record.Cors is { } cors && HttpMethods.IsOptions(request.Method) && origin.Length > 0 && request.Headers.AccessControlRequestMethod.Count > 0)
        {
            WritePreflight(context.Response, cors, origin);
            return;
        }

        // AWS_IAM (after CORS preflights, which browsers never sign): a valid SigV4 signature (service lambda) and lambda:InvokeFunctionUrl, else 403 Forbidden.
        if (record.AuthType == FunctionUrlValues.AuthIam && !await iam.AllowsAsync(context, record.FunctionName, record.Qualifier).ConfigureAwait(false))
        {
            await WriteMessageAsync(context, 403, Forbidden).ConfigureAwait(false);
            return;
        }

        var body = await RequestBody.ReadAsync(context, LambdaLimits.MaxSyncPayloadBytes).ConfigureAwait(false);
        if (body is null)
        {
            await WriteMessageAsync(context, 413, TooLarge).ConfigureAwait(false);
            return;
        }

        var source = new FunctionUrlEvent.Source(urlId, urls.DomainName(urlId),
            record.AuthType == FunctionUrlValues.AuthNone ? FunctionUrlEvent.AnonymousAccount : urls.AccountId, rawPath, requestId, time.GetUtcNow());
        var payload = FunctionUrlEvent.Build(context, source, body);
        if (payload.Length > LambdaLimits.MaxSyncPayloadBytes)
        {
            await WriteMessageAsync(context, 413, TooLarge).ConfigureAwait(false);
            return;
        }

        // RESPONSE_STREAM: the function's stream reaches the client as it is written (CORS headers go with the status).
        var stream = record.InvokeMode == FunctionUrlValues.ResponseStream
            ? new FunctionUrlStreamSink(context, response =>
            {
                if (record.Cors is { } streamCors && origin.Length > 0)
                {
                    AddCorsHeaders(response, streamCors, origin);
                }
            })
            : null;

        // As Invoke: once started, the invocation runs to its end even if the client hangs up; until then (waiting for
        // admission or for its instance's init) a client that hangs up gives its place up.
        var invocation = new InvocationRequest(requestId, FunctionUrlService.Target(record), payload, null, false)
        {
            ResponseStream = stream,
            CallerAborted = context.RequestAborted,
        };
        var result = await invoker.InvokeAsync(invocation, CancellationToken.None).ConfigureAwait(false);
        if (stream is not null && !await stream.CloseAsync().ConfigureAwait(false))
        {
            if (result.Status != InvocationStatus.Success)
            {
                // The status is already out: cut the response so the client sees it incomplete.
                context.Abort();
            }

            return;
        }

        if (stream is { Started: true } && (result.Status == InvocationStatus.Success || stream.Malformed))
        {
            // Streamed, but nothing could be sent: a malformed prelude.
            await WriteMessageAsync(context, 502, InternalServerError).ConfigureAwait(false);
            return;
        }
        if (result.Status == InvocationStatus.Rejected)
        {
            var error = result.Error!;
            if (error.Type == LambdaError.ResourceNotFound)
            {
                urls.Forget(record);
            }

            await (error.StatusCode switch
            {
                429 => WriteMessageAsync(context, 429, Throttled),
                503 => WriteMessageAsync(context, 503, Unavailable),
                404 => WriteMessageAsync(context, 403, Forbidden),
                _ => WriteMessageAsync(context, 502, InternalServerError),
            }).ConfigureAwait(false);
            return;
        }

        if (result.Status == InvocationStatus.FunctionError || !TryMapResponse(context.Response, result.Payload, out var responseBody))
        {
            context.Response.Headers.Clear();
            context.Response.Headers[RequestIdHeader] = requestId;
            await WriteMessageAsync(context, 502, InternalServerError).ConfigureAwait(false);
            return;
        }

        if (record.Cors is { } responseCors && origin.Length > 0)
        {
            AddCorsHeaders(context.Response, responseCors, origin);
        }

        context.Response.ContentLength = responseBody.Length;
        await context.Response.Body.WriteAsync(responseBody, CancellationToken.None).ConfigureAwait(false);
    }

    /// <summary>
    /// Lambda's rules: an object with <c>statusCode</c> is a response (headers, cookies, body, isBase64Encoded); any
    /// other JSON is a 200 application/json body as returned. Anything else is malformed (false).
    /// </summary>
    internal static bool TryMapResponse(HttpResponse response, byte[] payload, out byte[] body)
    {
        body = [];
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(payload);
        }
        catch (JsonException)
        {
            return false;
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("statusCode", out var status))
            {
                response.StatusCode = 200;
                response.ContentType = LambdaHttp.JsonContentType;
                body = payload;
                return true;
            }

            if (status.ValueKind != JsonValueKind.Number || !status.TryGetInt32(out var statusCode) || statusCode is < 100 or > 599)
            {
                return false;
            }

            response.StatusCode = statusCode;
            if (root.TryGetProperty("headers", out var headers) && headers.ValueKind == JsonValueKind.Object)
            {
                foreach (var header in headers.EnumerateObject())
                {
                    if (FramingHeaders.Contains(header.Name) || header.Value.ValueKind == JsonValueKind.Null)
                    {
                        continue;
                    }

                    response.Headers[header.Name] = header.Value.ValueKind == JsonValueKind.String ? header.Value.GetString() : header.Value.GetRawText();
                }
            }

            if (root.TryGetProperty("cookies", out var cookies) && cookies.ValueKind == JsonValueKind.Array)
            {
                var values = new List<string>();
                foreach (var cookie in cookies.EnumerateArray())
                {
                    if (cookie.ValueKind == JsonValueKind.String)
                    {
                        values.Add(cookie.GetString()!);
                    }
                }

                response.Headers.SetCookie = StringValues.Concat(response.Headers.SetCookie, new StringValues([.. values]));
            }

            if (string.IsNullOrEmpty(response.ContentType))
            {
                response.ContentType = LambdaHttp.JsonContentType;
            }

            if (!root.TryGetProperty("body", out var bodyElement) || bodyElement.ValueKind == JsonValueKind.Null)
            {
                return true;
            }

            var text = bodyElement.ValueKind == JsonValueKind.String ? bodyElement.GetString()! : bodyElement.GetRawText();
            var isBase64 = root.TryGetProperty("isBase64Encoded", out var flag) && flag.ValueKind == JsonValueKind.True;
            if (!isBase64)
            {
                body = Encoding.UTF8.GetBytes(text);
                return true;
            }

            try
            {
                body = Convert.FromBase64String(text);
                return true;
            }
            catch (FormatException)
            {
                return false;
            }
        }
    }

    private static void WritePreflight(HttpResponse response, FunctionUrlCors cors, string origin)
    {
        response.StatusCode = 200;
        if (!OriginAllowed(cors, origin))
        {
            return;
        }

        var headers = response.Headers;
        headers.AccessControlAllowOrigin = AllowOriginValue(cors, origin);
        if (cors.AllowMethods is { Count: > 0 } methods)
        {
            headers.AccessControlAllowMethods = string.Join(',', methods);
        }

        if (cors.AllowHeaders is { Count: > 0 } allowHeaders)
        {
            headers.AccessControlAllowHeaders = string.Join(',', allowHeaders);
        }

        if (cors.ExposeHeaders is { Count: > 0 } expose)
        {
            headers.AccessControlExposeHeaders = string.Join(',', expose);
        }

        if (cors.MaxAge is { } maxAge)
        {
            headers.AccessControlMaxAge = maxAge.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        if (cors.AllowCredentials == true)
        {
            headers.AccessControlAllowCredentials = "true";
        }

        headers.Vary = "Origin";
    }

    /// <summary>On responses the URL's config wins over any CORS headers the function set, as on Lambda.</summary>
    private static void AddCorsHeaders(HttpResponse response, FunctionUrlCors cors, string origin)
    {
        if (!OriginAllowed(cors, origin))
        {
            return;
        }

        var headers = response.Headers;
        headers.AccessControlAllowOrigin = AllowOriginValue(cors, origin);
        if (cors.ExposeHeaders is { Count: > 0 } expose)
        {
            headers.AccessControlExposeHeaders = string.Join(',', expose);
        }

        if (cors.AllowCredentials == true)
        {
            headers.AccessControlAllowCredentials = "true";
        }

        headers.Vary = "Origin";
    }

    private static bool OriginAllowed(FunctionUrlCors cors, string origin) =>
        cors.AllowOrigins is { } origins && origins.Any(o => o == "*" || string.Equals(o, origin, StringComparison.OrdinalIgnoreCase));

    private static string AllowOriginValue(FunctionUrlCors cors, string origin) =>
        cors.AllowOrigins!.Contains("*") ? "*" : origin;

    private static async Task WriteMessageAsync(HttpContext context, int statusCode, byte[] body)
    {
        context.Response.StatusCode = statusCode;
        context.Response.ContentType = LambdaHttp.JsonContentType;
        context.Response.ContentLength = body.Length;
        await context.Response.Body.WriteAsync(body, CancellationToken.None).ConfigureAwait(false);
    }
}
