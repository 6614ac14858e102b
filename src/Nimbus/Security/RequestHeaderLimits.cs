using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Logging;

namespace Nimbus.Security;

/// <summary>
/// Headers over the limits every request on the main port must keep (<see cref="MaxTotalBytes"/> in all, at most
/// <see cref="MaxCount"/>) are refused in the error shape of the service the request is for (S3: 400
/// <c>RequestHeaderSectionTooLarge</c>, as S3 answers; the others: 431 with that code in their JSON or query error),
/// before authentication. Kestrel's own limits are raised above these (<see cref="ConfigureKestrel"/>), so such a
/// request reaches this middleware instead of getting Kestrel's bare 431; past Kestrel's ceilings (which bound the
/// memory one request can hold) Kestrel still answers alone.
/// </summary>
internal sealed partial class RequestHeaderLimits(RequestDelegate next, Http.FunctionUrlFrontDoor functionUrls, ILogger<RequestHeaderLimits> logger)
{
    /// <summary>All header names and values of a request, with ": " and CRLF per line, as Kestrel counted them before.</summary>
    public const int MaxTotalBytes = 32 * 1024;

    /// <summary>Kestrel's default, kept as the limit.</summary>
    public const int MaxCount = 100;

    /// <summary>What Kestrel itself accepts: headers between the limits and these get the service's error.</summary>
    public const int KestrelMaxTotalBytes = 256 * 1024;

    public const int KestrelMaxCount = 1_000;

    /// <summary>
    /// The longest request line Kestrel reads (method, target, version): 64 KiB instead of its 8 KiB, so a long path or
    /// query (an S3 key of 1,025 bytes or more, percent-encoded; a function name of thousands of characters) reaches the
    /// service, which answers it in its own shape (<c>KeyTooLongError</c>, a Lambda validation error). Past it, Kestrel's
    /// bare 414. Like the header ceilings, it bounds the memory one request holds.
    /// </summary>
    public const int KestrelMaxRequestLineBytes = 64 * 1024;

    public static void ConfigureKestrel(KestrelServerOptions kestrel)
    {
        kestrel.Limits.MaxRequestHeadersTotalSize = KestrelMaxTotalBytes;
        kestrel.Limits.MaxRequestHeaderCount = KestrelMaxCount;
        kestrel.Limits.MaxRequestLineSize = KestrelMaxRequestLineBytes;
    }

    public Task InvokeAsync(HttpContext context)
    {
        var headers = context.Request.Headers;
        if (headers.Count > MaxCount)
        {
            return RefuseAsync(context, $"The request has {headers.Count} headers, more than the {MaxCount} allowed. Send fewer headers.");
        }

        long total = 0;
        foreach (var (name, values) in headers)
        {
            foreach (var value in values)
            {
                total += name.Length + (value?.Length ?? 0) + 4;
            }
        }

        return total > MaxTotalBytes
            ? RefuseAsync(context, $"Your request header section exceeds the maximum allowed size: {total} bytes, more than {MaxTotalBytes}. Send smaller headers.")
            : next(context);
    }

    private async Task RefuseAsync(HttpContext context, string message)
    {
        var functionUrl = functionUrls.TryMatch(context, out _, out _);
        var service = functionUrl ? "lambda-url" : ServiceOf(context.Request);
        Log.HeadersTooLarge(logger, context.Request.Method, context.Request.Path.Value ?? "/", service, message);
        context.Response.Headers.Connection = "close";
        var failure = new AuthFailure(AuthFailureKind.HeadersTooLarge, message);
        if (!functionUrl)
        {
            await AwsAuthErrors.WriteAsync(context, service, failure).ConfigureAwait(false);
            return;
        }

        // A function URL's own errors: {"Message": ...}, as Lambda's URL front end writes them.
        var (code, status) = AwsAuthErrors.JsonCode(failure.Kind);
        context.Response.StatusCode = status;
        context.Response.Headers[AwsAuthErrors.ErrorTypeHeader] = code;
        context.Response.ContentType = "application/json";
        var body = System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, string> { ["Message"] = message }, SecurityJsonContext.Default.DictionaryStringString);
        await context.Response.Body.WriteAsync(body, context.RequestAborted).ConfigureAwait(false);
    }

    /// <summary>The service of the SigV4 credential scope (header or presigned query) when there is one, else the request's shape.</summary>
    private static string ServiceOf(HttpRequest request)
    {
        var credential = request.Headers.Authorization.ToString() is { Length: > 0 } authorization
            && authorization.IndexOf("Credential=", StringComparison.Ordinal) is var at and >= 0
                ? authorization[(at + "Credential=".Length)..]
                : request.Query["X-Amz-Credential"].ToString();
        var parts = credential.Split([',', ' '], 2)[0].Split('/');
        return parts.Length == 5 && parts[4] == "aws4_request" && parts[3].Length > 0 ? parts[3] : AwsServices.Guess(request);
    }

    // Event ids of issue 10's hostile-input remainders: 1230-1249. Next free id: 1232 (1231 SecurityBanner).
    private static partial class Log
    {
        [LoggerMessage(EventId = 1230, EventName = "RequestHeadersTooLarge", Level = LogLevel.Information,
            Message = "Refused {Method} {Path} (service {Service}): {Reason}")]
        public static partial void HeadersTooLarge(ILogger logger, string method, string path, string service, string reason);
    }
}
