using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Nimbus.Security;

/// <summary>
/// Verifies the SigV4 signature of every request to every AWS API on the main port (header and presigned forms, the
/// 15-minute window, session tokens, payload hashes), whatever the service: the credential scope names it, and a
/// refusal is written in that service's error shape. Exempt: /health and /metrics (the Runtime API ports are routed
/// before this middleware) and function
/// URLs, which authenticate themselves). On success the request carries a <see cref="SigV4Context"/>.
/// </summary>
internal sealed partial class SigV4AuthenticationMiddleware(
    RequestDelegate next,
    SigV4Authenticator authenticator,
    Http.FunctionUrlFrontDoor functionUrls,
    ILogger<SigV4AuthenticationMiddleware> logger)
{
    private static readonly string[] ExemptPaths = ["/health", "/metrics"];

    public async Task InvokeAsync(HttpContext context)
    {
        var path = context.Request.Path.Value ?? "/";
        // Function URLs authenticate themselves: NONE needs nothing, AWS_IAM calls FunctionUrlIamGuard.
        if (ExemptPaths.Contains(path, StringComparer.Ordinal) || functionUrls.TryMatch(context, out _, out _))
        {
            await next(context).ConfigureAwait(false);
            return;
        }

        var (failure, service, presigned) = await authenticator.AuthenticateAsync(context).ConfigureAwait(false);
        if (failure is not null)
        {
            Log.RequestRejected(logger, context.Request.Method, path, service, failure.Kind, failure.Message);
            await AwsAuthErrors.WriteAsync(context, service, failure, presigned).ConfigureAwait(false);
            return;
        }

        try
        {
            await next(context).ConfigureAwait(false);
        }
        catch (ContentSha256MismatchException e) when (!context.Response.HasStarted)
        {
            Log.RequestRejected(logger, context.Request.Method, path, service, AuthFailureKind.PayloadHashMismatch, e.Message);
            context.Response.Clear();
            await AwsAuthErrors.WriteAsync(context, service, AuthFailure.PayloadHashMismatch()).ConfigureAwait(false);
        }
    }
}
