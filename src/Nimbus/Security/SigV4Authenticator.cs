using System.Security.Cryptography;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Nimbus.Security;

/// <summary>
/// Authenticates one request by its SigV4 signature: parses it, checks the time window, finds the key's secret (or
/// opens its session token), hashes the payload as the service signs it, and compares signatures in constant time.
/// On success the request carries a <see cref="SigV4Context"/>. Used by the middleware for every API and by the
/// function URL front door for AWS_IAM URLs.
/// </summary>
internal sealed partial class SigV4Authenticator(
    IdentityStore identities,
    SessionCredentials sessions,
    AccessKeyRateLimiter rateLimiter,
    IOptions<SecurityOptions> options,
    TimeProvider time,
    ILogger<SigV4Authenticator> logger)
{
    /// <summary>Bodies of non-S3 requests are hashed while buffered; none of their operations accepts more than this.</summary>
    public const long MaxHashedBodyBytes = 80L * 1024 * 1024;

    /// <summary>Bodies up to this size (with a Content-Length) are read whole into memory; longer ones are buffered to disk past it.</summary>
    public const int MaxInMemoryBodyBytes = 1024 * 1024;

    public async ValueTask<(AuthFailure? Failure, string Service, bool Presigned)> AuthenticateAsync(HttpContext context)
    {
        var request = context.Request;
        if (SigV2Presigned.Applies(request))
        {
            return (AuthenticateSigV2Presigned(context), AwsServices.S3, true);
        }

        var failure = SigV4Signature.TryRead(request, out var signature, out var scope);
        var service = scope?.Service ?? AwsServices.Guess(request);
        var presigned = signature?.Presigned ?? request.Query.ContainsKey(SigV4.AlgorithmQuery);
        if (failure is not null)
        {
            return (failure, service, presigned);
        }

        // A path-style S3 request for a bucket named like a Lambda API version (/2015-03-31/key) is signed for s3; it
        // reaches S3 unless it hits one of Lambda's exact routes, whose authorization is decided by the route anyway.
        if (AwsServices.IsLambdaPath(request.Path.Value ?? "/") && signature!.Scope.Service is not (AwsServices.Lambda or AwsServices.S3))
        {
            return (AuthFailure.Malformed($"Credential should be scoped to correct service: '{AwsServices.Lambda}'."), AwsServices.Lambda, presigned);
        }

        var now = time.GetUtcNow();
        failure = SigV4Verifier.CheckTime(signature!, now);
        if (failure is not null)
        {
            return (failure, service, presigned);
        }

        Principal? principal;
        string? secret;
        if (signature!.SecurityToken is { } token)
        {
            failure = sessions.TryOpen(signature.Scope.AccessKeyId, token, out principal, out secret);
        }
        else if (identities.TryFind(signature.Scope.AccessKeyId, out var found, out var foundSecret))
        {
            (principal, secret) = (found, foundSecret);
        }
        else
        {
            (principal, secret) = (null, null);
            failure = AuthFailure.UnknownAccessKey();
        }

        if (options.Value.Dev && failure?.Kind is AuthFailureKind.UnknownAccessKey or AuthFailureKind.InvalidToken)
        {
            // --dev: any well-formed signature is root's.
            context.Features.Set(new SigV4Context(identities.Root, signature, null, SigV4.UnsignedPayload));
            return (null, service, presigned);
        }

        if (failure is not null)
        {
            return (failure, service, presigned);
        }

        var (payloadFailure, payloadHashes) = await PayloadHashesAsync(context, signature).ConfigureAwait(false);
        if (payloadFailure is not null)
        {
            return (payloadFailure, service, presigned);
        }

        var rawTarget = context.Features.Get<IHttpRequestFeature>()?.RawTarget ?? (request.Path + request.QueryString).ToString();
        var matched = MatchingPayloadHash(request, rawTarget, signature, secret!, payloadHashes, out var signingKey);

        if (matched is null && !options.Value.Dev)
        {
            return (AuthFailure.SignatureMismatch(), service, presigned);
        }

        if (!rateLimiter.TryAcquire(principal!.AccessKeyId))
        {
            return (new AuthFailure(AuthFailureKind.Throttled, "Rate exceeded"), service, presigned);
        }

        matched ??= payloadHashes[0];
        context.Features.Set(new SigV4Context(principal, signature, signingKey, matched));
        if (service == AwsServices.S3 && matched.Length == 64 && HasBody(request))
        {
            request.Body = new ContentSha256Stream(request.Body, matched);
        }

        return (null, service, presigned);
    }

    /// <summary>The payload hash under which the signature matches, or null; the canonical request is hashed, not built as a string.</summary>
    private string? MatchingPayloadHash(HttpRequest request, string rawTarget, SigV4Signature signature, string secret, string[] payloadHashes, out byte[]? signingKey)
    {
        signingKey = null;
        Span<byte> canonicalHash = stackalloc byte[32];
        foreach (var payloadHash in payloadHashes)
        {
            SigV4Verifier.CanonicalRequestHash(request, rawTarget, signature, payloadHash, canonicalHash);
            if (SigV4Verifier.Matches(signature, secret, canonicalHash, out signingKey))
            {
                return payloadHash;
            }

            if (logger.IsEnabled(LogLevel.Debug))
            {
                var canonical = SigV4Verifier.CanonicalRequest(request, rawTarget, signature, payloadHash);
                Log.SignatureMismatch(logger, signature.Scope.AccessKeyId, canonical);
            }
        }

        return null;
    }

    /// <summary>An S3 download presigned with Signature Version 2 (AWS CLI v1's <c>s3 presign</c>, boto3's default).</summary>
    private AuthFailure? AuthenticateSigV2Presigned(HttpContext context)
    {
        var request = context.Request;
        var failure = SigV2Presigned.CheckFormat(request, time.GetUtcNow());
        if (failure is not null)
        {
            return failure;
        }

        var accessKeyId = SigV2Presigned.AccessKeyId(request);
        Principal? principal;
        string? secret;
        if (SigV2Presigned.SecurityToken(request) is { } token)
        {
            failure = sessions.TryOpen(accessKeyId, token, out principal, out secret);
        }
        else if (identities.TryFind(accessKeyId, out var found, out var foundSecret))
        {
            (principal, secret) = (found, foundSecret);
        }
        else
        {
            (principal, secret) = (null, null);
            failure = AuthFailure.UnknownAccessKey();
        }

        if (options.Value.Dev && failure?.Kind is AuthFailureKind.UnknownAccessKey or AuthFailureKind.InvalidToken)
        {
            context.Features.Set(new SigV4Context(identities.Root, null, null, SigV4.UnsignedPayload));
            return null;
        }

        if (failure is not null)
        {
            return failure;
        }

        var rawTarget = context.Features.Get<IHttpRequestFeature>()?.RawTarget ?? request.Path.ToString();
        var question = rawTarget.IndexOf('?', StringComparison.Ordinal);
        var rawPath = question < 0 ? rawTarget : rawTarget[..question];
        if (!SigV2Presigned.Matches(request, rawPath, secret!) && !options.Value.Dev)
        {
            return AuthFailure.SignatureMismatch();
        }

        if (!rateLimiter.TryAcquire(principal!.AccessKeyId))
        {
            return new AuthFailure(AuthFailureKind.Throttled, "Rate exceeded");
        }

        context.Features.Set(new SigV4Context(principal, null, null, SigV4.UnsignedPayload));
        return null;
    }

    /// <summary>
    /// The payload hash(es) the signature may cover. S3: the signed x-amz-content-sha256 (verified against the body as it
    /// streams). Other services: the SHA-256 of the body, hashed while it is buffered for the handler to read again;
    /// presigned URLs may also sign UNSIGNED-PAYLOAD.
    /// </summary>
    private static async ValueTask<(AuthFailure? Failure, string[] Hashes)> PayloadHashesAsync(HttpContext context, SigV4Signature signature)
    {
        var request = context.Request;
        var header = request.Headers[SigV4.ContentSha256Header].ToString();
        if (signature.Scope.Service == AwsServices.S3)
        {
            if (header.Length == 0)
            {
                var fromQuery = request.Query["X-Amz-Content-Sha256"].ToString();
                return signature.Presigned
                    ? (null, [fromQuery.Length > 0 ? fromQuery : SigV4.UnsignedPayload])
                    : (new AuthFailure(AuthFailureKind.InvalidRequest, "Missing required header for this request: x-amz-content-sha256"), []);
            }

            var valid = header == SigV4.UnsignedPayload || SigV4.IsStreaming(header)
                || (header.Length == 64 && header.All(char.IsAsciiHexDigit));
            return valid
                ? (null, [header])
                : (new AuthFailure(AuthFailureKind.InvalidRequest, "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER, STREAMING-AWS4-HMAC-SHA256-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER or a valid sha256 value."), []);
        }

        string bodyHash;
        if (!HasBody(request))
        {
            bodyHash = SigV4.EmptySha256;
        }
        else
        {
            if (request.ContentLength > MaxHashedBodyBytes)
            {
                return (new AuthFailure(AuthFailureKind.TooLarge, $"Request must be smaller than {MaxHashedBodyBytes} bytes."), []);
            }

            if (request.ContentLength is { } length && length <= MaxInMemoryBodyBytes)
            {
                // The common case (every Invoke): read once into the array the handler will use, hash it in one call.
                var bytes = new byte[length];
                await request.Body.ReadExactlyAsync(bytes, context.RequestAborted).ConfigureAwait(false);
                request.Body = new Http.BufferedRequestBody(bytes);
                return (null, signature.Presigned ? [SigV4.UnsignedPayload, SigV4.Sha256Hex(bytes)] : [SigV4.Sha256Hex(bytes)]);
            }

            request.EnableBuffering(bufferThreshold: MaxInMemoryBodyBytes);
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);

            // Pooled: every signed request with a body passes here (each Invoke), most with a few hundred bytes.
            var buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(81920);
            try
            {
                long total = 0;
                int read;
                while ((read = await request.Body.ReadAsync(buffer, context.RequestAborted).ConfigureAwait(false)) > 0)
                {
                    total += read;
                    if (total > MaxHashedBodyBytes)
                    {
                        return (new AuthFailure(AuthFailureKind.TooLarge, $"Request must be smaller than {MaxHashedBodyBytes} bytes."), []);
                    }

                    hash.AppendData(buffer, 0, read);
                }
            }
            finally
            {
                System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
            }

            request.Body.Position = 0;
            bodyHash = Convert.ToHexStringLower(hash.GetHashAndReset());
        }

        if (signature.Presigned)
        {
            return (null, [SigV4.UnsignedPayload, bodyHash]);
        }

        // Some SDKs (JavaScript v3) also sign x-amz-content-sha256 for other services; it is then the body's hash too.
        return (null, [bodyHash]);
    }

    private static bool HasBody(HttpRequest request) =>
        request.ContentLength > 0 || (request.ContentLength is null && request.Headers.TransferEncoding.Count > 0);

    private static partial class Log
    {
        [LoggerMessage(EventId = 1101, EventName = "SignatureMismatch", Level = LogLevel.Debug,
            Message = "Signature of access key {AccessKeyId} does not match; the canonical request computed was:\n{CanonicalRequest}")]
        public static partial void SignatureMismatch(ILogger logger, string accessKeyId, string canonicalRequest);
    }
}
