using Microsoft.AspNetCore.Http;

namespace Nimbus.Security;

/// <summary>
/// What authentication established about a request, as an HttpContext feature: who signed it and, for services that
/// verify more of the body (S3's aws-chunked uploads), the signing key and seed signature.
/// </summary>
internal sealed class SigV4Context(Principal principal, SigV4Signature? signature, byte[]? signingKey, string payloadHash)
{
    public Principal Principal { get; } = principal;

    /// <summary>Null in --dev mode for a request whose signature was not checked.</summary>
    public SigV4Signature? Signature { get; } = signature;

    /// <summary>The x-amz-content-sha256 the request was signed with (S3), or the body's hash.</summary>
    public string PayloadHash { get; } = payloadHash;

    public static SigV4Context? Of(HttpContext context) => context.Features.Get<SigV4Context>();

    /// <summary>The verifier for the chunk signatures of an aws-chunked body (STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]), seeded with the header signature.</summary>
    public AwsChunkSignatureVerifier? CreateChunkVerifier() =>
        Signature is null || signingKey is null
            ? null
            : new AwsChunkSignatureVerifier(signingKey, Signature.AmzDate, Signature.Scope.Value, Signature.Signature);
}
