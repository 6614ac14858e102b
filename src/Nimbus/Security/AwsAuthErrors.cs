using System.Security;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Nimbus.Http;

namespace Nimbus.Security;

/// <summary>
/// The AWS errors of authentication and authorization, per protocol: the names and status codes each service family
/// answers with, and the body shapes their SDKs parse. The one place these wire names live.
/// </summary>
internal static class AwsAuthErrors
{
    public const string ErrorTypeHeader = "x-amzn-ErrorType";
    public const string QueryErrorHeader = "x-amzn-query-error";

    /// <summary>(code, status) for JSON services (Lambda, Logs, SQS JSON...).</summary>
    public static (string Code, int Status) JsonCode(AuthFailureKind kind) => kind switch
    {
        AuthFailureKind.Missing => ("MissingAuthenticationTokenException", 403),
        AuthFailureKind.Malformed => ("IncompleteSignatureException", 403),
        AuthFailureKind.UnknownAccessKey => ("UnrecognizedClientException", 403),
        AuthFailureKind.SignatureMismatch => ("InvalidSignatureException", 403),
        AuthFailureKind.Skewed => ("InvalidSignatureException", 403),
        AuthFailureKind.PresignExpired => ("InvalidSignatureException", 403),
        AuthFailureKind.ExpiredToken => ("ExpiredTokenException", 403),
        AuthFailureKind.InvalidToken => ("UnrecognizedClientException", 403),
        AuthFailureKind.AccessDenied => ("AccessDeniedException", 403),
        AuthFailureKind.PayloadHashMismatch => ("InvalidSignatureException", 400),
        AuthFailureKind.InvalidRequest => ("IncompleteSignatureException", 400),
        AuthFailureKind.TooLarge => ("RequestEntityTooLargeException", 413),
        AuthFailureKind.Throttled => ("ThrottlingException", 400),
        AuthFailureKind.HeadersTooLarge => ("RequestHeaderSectionTooLarge", 431),
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, null),
    };

    /// <summary>(code, status) for query-protocol services (SQS and CloudWatch query): AWS's common query errors.</summary>
    public static (string Code, int Status) QueryCode(AuthFailureKind kind) => kind switch
    {
        AuthFailureKind.Missing => ("MissingAuthenticationToken", 403),
        AuthFailureKind.Malformed => ("IncompleteSignature", 400),
        AuthFailureKind.UnknownAccessKey => ("InvalidClientTokenId", 403),
        AuthFailureKind.SignatureMismatch => ("SignatureDoesNotMatch", 403),
        AuthFailureKind.Skewed => ("RequestExpired", 400),
        AuthFailureKind.PresignExpired => ("RequestExpired", 400),
        AuthFailureKind.ExpiredToken => ("ExpiredToken", 403),
        AuthFailureKind.InvalidToken => ("InvalidClientTokenId", 403),
        AuthFailureKind.AccessDenied => ("AccessDenied", 403),
        AuthFailureKind.PayloadHashMismatch => ("SignatureDoesNotMatch", 400),
        AuthFailureKind.InvalidRequest => ("IncompleteSignature", 400),
        AuthFailureKind.TooLarge => ("RequestEntityTooLarge", 413),
        AuthFailureKind.Throttled => ("Throttling", 400),
        AuthFailureKind.HeadersTooLarge => ("RequestHeaderSectionTooLarge", 431),
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, null),
    };

    /// <summary>(code, status) for S3.</summary>
    public static (string Code, int Status) S3Code(AuthFailureKind kind, bool presigned) => kind switch
    {
        AuthFailureKind.Missing => ("AccessDenied", 403),
        AuthFailureKind.Malformed => (presigned ? "AuthorizationQueryParametersError" : "AuthorizationHeaderMalformed", 400),
        AuthFailureKind.UnknownAccessKey => ("InvalidAccessKeyId", 403),
        AuthFailureKind.SignatureMismatch => ("SignatureDoesNotMatch", 403),
        AuthFailureKind.Skewed => ("RequestTimeTooSkewed", 403),
        AuthFailureKind.PresignExpired => ("AccessDenied", 403),
        AuthFailureKind.ExpiredToken => ("ExpiredToken", 400),
        AuthFailureKind.InvalidToken => ("InvalidToken", 400),
        AuthFailureKind.AccessDenied => ("AccessDenied", 403),
        AuthFailureKind.PayloadHashMismatch => ("XAmzContentSHA256Mismatch", 400),
        AuthFailureKind.InvalidRequest => ("InvalidRequest", 400),
        AuthFailureKind.TooLarge => ("EntityTooLarge", 400),
        AuthFailureKind.Throttled => ("SlowDown", 503),
        AuthFailureKind.HeadersTooLarge => ("RequestHeaderSectionTooLarge", 400),
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, null),
    };

    /// <summary>(code, status) for Lambda's REST-JSON API: a throttle is its TooManyRequestsException.</summary>
    public static (string Code, int Status) LambdaCode(AuthFailureKind kind) =>
        kind == AuthFailureKind.Throttled ? ("TooManyRequestsException", 429) : JsonCode(kind);

    /// <summary>The query code of SQS: its throttle is RequestThrottled (in the query-compatible header of its JSON protocol too).</summary>
    public static string SqsQueryCode(AuthFailureKind kind) =>
        kind == AuthFailureKind.Throttled ? "RequestThrottled" : QueryCode(kind).Code;

    /// <summary>Lambda's Reason of a TooManyRequestsException caused by the caller's request rate.</summary>
    public const string CallerRateLimitExceeded = "CallerRateLimitExceeded";

    /// <summary>S3 words some refusals its own way; the others keep the failure's message.</summary>
    private static string S3Message(AuthFailure failure) => failure.Kind switch
    {
        AuthFailureKind.Missing => "Access Denied",
        AuthFailureKind.UnknownAccessKey => "The AWS Access Key Id you provided does not exist in our records.",
        AuthFailureKind.SignatureMismatch => "The request signature we calculated does not match the signature you provided. Check your key and signing method.",
        AuthFailureKind.Skewed => "The difference between the request time and the current time is too large. " + failure.Message,
        AuthFailureKind.InvalidToken => "The provided token is malformed or otherwise invalid.",
        AuthFailureKind.ExpiredToken => "The provided token has expired.",
        AuthFailureKind.Throttled => "Please reduce your request rate.",
        _ => failure.Message,
    };

    /// <summary>Writes <paramref name="failure"/> as the error of <paramref name="service"/>, in that service's protocol.</summary>
    public static async Task WriteAsync(HttpContext context, string service, AuthFailure failure, bool presigned = false)
    {
        var requestId = AwsRequestId.Get(context);
        var response = context.Response;
        var protocol = AwsServices.ProtocolOf(service, context.Request);
        if (failure.Kind == AuthFailureKind.Throttled)
        {
            response.Headers.RetryAfter = "1";
        }

        switch (protocol)
        {
            case AwsProtocol.RestXml:
                {
                    var (code, status) = S3Code(failure.Kind, presigned);
                    response.StatusCode = status;
                    response.ContentType = "application/xml";
                    var xml = $"""<?xml version="1.0" encoding="UTF-8"?>{"\n"}<Error><Code>{code}</Code><Message>{SecurityElement.Escape(S3Message(failure))}</Message><RequestId>{requestId}</RequestId><HostId>{requestId}</HostId></Error>""";
                    await response.WriteAsync(xml, Encoding.UTF8, context.RequestAborted).ConfigureAwait(false);
                    break;
                }

            case AwsProtocol.Query:
                {
                    var (code, status) = QueryCode(failure.Kind);
                    code = service == AwsServices.Sqs ? SqsQueryCode(failure.Kind) : code;
                    response.StatusCode = status;
                    response.ContentType = "text/xml";
                    var ns = service == AwsServices.Sqs ? "http://queue.amazonaws.com/doc/2012-11-05/" : "http://monitoring.amazonaws.com/doc/2010-08-01/";
                    var xml = $"""<?xml version="1.0"?><ErrorResponse xmlns="{ns}"><Error><Type>Sender</Type><Code>{code}</Code><Message>{SecurityElement.Escape(failure.Message)}</Message><Detail/></Error><RequestId>{requestId}</RequestId></ErrorResponse>""";
                    await response.WriteAsync(xml, Encoding.UTF8, context.RequestAborted).ConfigureAwait(false);
                    break;
                }

            case AwsProtocol.Json:
                {
                    var (code, status) = JsonCode(failure.Kind);
                    response.StatusCode = status;
                    response.Headers[ErrorTypeHeader] = code;
                    response.ContentType = service == AwsServices.Logs || service == AwsServices.Events ? "application/x-amz-json-1.1" : "application/x-amz-json-1.0";
                    if (service == AwsServices.Sqs)
                    {
                        // SQS's JSON protocol is query-compatible: botocore takes the code from this header.
                        response.Headers[QueryErrorHeader] = SqsQueryCode(failure.Kind) + ";Sender";
                    }

                    await WriteJsonAsync(response, "com.amazon.coral.service#" + code, failure.Message, typeKey: "__type", context.RequestAborted).ConfigureAwait(false);
                    break;
                }

            default:
                {
                    var lambda = service == AwsServices.Lambda;
                    var (code, status) = lambda ? LambdaCode(failure.Kind) : JsonCode(failure.Kind);
                    response.StatusCode = status;
                    response.Headers[ErrorTypeHeader] = code;
                    response.ContentType = "application/json";
                    var reason = lambda && failure.Kind == AuthFailureKind.Throttled ? CallerRateLimitExceeded : null;
                    await WriteJsonAsync(response, "User", failure.Message, typeKey: "Type", context.RequestAborted, reason).ConfigureAwait(false);
                    break;
                }
        }
    }

    private static async Task WriteJsonAsync(HttpResponse response, string type, string message, string typeKey, CancellationToken cancellationToken, string? reason = null)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            writer.WriteStartObject();
            writer.WriteString(typeKey, type);
            writer.WriteString("message", message);
            if (reason is not null)
            {
                writer.WriteString("Reason", reason);
            }

            writer.WriteEndObject();
        }

        await response.Body.WriteAsync(buffer.ToArray(), cancellationToken).ConfigureAwait(false);
    }
}
