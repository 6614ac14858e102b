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

    // Not async on the way through: an authenticated request whose body is not checked against its signed hash as it
    // streams (every one but S3's) goes straight on, without a state machine of this middleware per request.
    public Task InvokeAsync(HttpContext context)
    {
        var path = context.Request.Path.Value ?? "/";
        // Function URLs authenticate themselves: NONE needs nothing, AWS_IAM calls FunctionUrlIamGuard.
        if (IsExempt(path) || functionUrls.TryMatch(context, out _, out _))
        {
            return next(context);
        }

        var authentication = authenticator.AuthenticateAsync(context);
        if (authentication.IsCompletedSuccessfully)
        {
            var (failure, service, presigned) = authentication.Result;
            return failure is null && context.Request.Body is not ContentSha256Stream
                ? next(context)
                : ContinueAsync(context, path, failure, service, presigned);
        }

        return AuthenticateAndContinueAsync(context, path, authentication);
    }

    private static bool IsExempt(string path)
    {
        foreach (var exempt in ExemptPaths)
        {
            if (path == exempt)
            {
                return true;
            }
        }

        return false;
    }

    private async Task AuthenticateAndContinueAsync(HttpContext context, string path, ValueTask<(AuthFailure? Failure, string Service, bool Presigned)> authentication)
    {
        var (failure, service, presigned) = await authentication.ConfigureAwait(false);
        await ContinueAsync(context, path, failure, service, presigned).ConfigureAwait(false);
    }

    private async Task ContinueAsync(HttpContext context, string path, AuthFailure? failure, string service, bool presigned)
    {
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
