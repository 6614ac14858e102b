namespace Nimbus.Buckets;

/// <summary>
/// The seam where SigV4 chunk signatures of an aws-chunked body are checked (reference 2.2). The decoder shows
/// each chunk's declared signature and bytes, and the trailer; a verifier that says no makes the upload fail with
/// SignatureDoesNotMatch. Nimbus ships <see cref="AcceptingChunkSignatureVerifier"/> until request signing is
/// verified; one verifier serves one request.
/// </summary>
internal interface IChunkSignatureVerifier
{
    /// <summary>A chunk begins; <paramref name="signature"/> is null in the unsigned modes.</summary>
    void BeginChunk(string? signature, int length);

    void Append(ReadOnlySpan<byte> data);

    /// <summary>False when the chunk's signature does not match its bytes.</summary>
    bool EndChunk();

    /// <summary>False when the trailer's signature does not match its lines.</summary>
    bool VerifyTrailer(IReadOnlyList<KeyValuePair<string, string>> trailers, string? signature);
}

/// <summary>Creates the verifier of one request, from its Authorization and x-amz-* headers.</summary>
internal interface IChunkSignatureVerifierFactory
{
    IChunkSignatureVerifier Create(Microsoft.AspNetCore.Http.HttpRequest request);
}

/// <summary>Accepts every chunk: signatures are not verified yet (the security work replaces this).</summary>
internal sealed class AcceptingChunkSignatureVerifier : IChunkSignatureVerifier, IChunkSignatureVerifierFactory
{
    public IChunkSignatureVerifier Create(Microsoft.AspNetCore.Http.HttpRequest request) => this;

    public void BeginChunk(string? signature, int length)
    {
    }

    public void Append(ReadOnlySpan<byte> data)
    {
    }

    public bool EndChunk() => true;

    public bool VerifyTrailer(IReadOnlyList<KeyValuePair<string, string>> trailers, string? signature) => true;
}
