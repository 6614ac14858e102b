using System.Security.Cryptography;
using System.Text;

namespace Nimbus.Security;

/// <summary>
/// Verifies the chunk signatures of an aws-chunked body: each chunk is signed over the previous signature (the first
/// over the request's header signature, the seed) and the SHA-256 of its data; the trailer, when signed, over the last
/// chunk signature and the SHA-256 of the trailer lines. The S3 service feeds it chunk by chunk and answers
/// <c>SignatureDoesNotMatch</c> on the first false. Not thread-safe: one per request.
/// </summary>
internal sealed class AwsChunkSignatureVerifier(byte[] signingKey, string amzDate, string scope, string seedSignature)
{
    private string _previous = seedSignature;

    public string PreviousSignature => _previous;

    /// <summary>Checks one chunk (the final chunk has empty data); on success it becomes the next chunk's predecessor.</summary>
    public bool VerifyChunk(ReadOnlySpan<byte> data, string chunkSignature)
    {
        var expected = SigV4.Sign(signingKey, ChunkStringToSign(amzDate, scope, _previous, data));
        if (!SigV4.SignaturesEqual(expected, chunkSignature))
        {
            return false;
        }

        _previous = expected;
        return true;
    }

    /// <summary>As <see cref="VerifyChunk"/>, for a chunk whose SHA-256 was computed while it streamed past.</summary>
    public bool VerifyChunkHash(string dataSha256Hex, string chunkSignature)
    {
        var stringToSign = $"{SigV4.ChunkAlgorithm}\n{amzDate}\n{scope}\n{_previous}\n{SigV4.EmptySha256}\n{dataSha256Hex}";
        var expected = SigV4.Sign(signingKey, stringToSign);
        if (!SigV4.SignaturesEqual(expected, chunkSignature))
        {
            return false;
        }

        _previous = expected;
        return true;
    }

    /// <summary>Checks the signed trailer; <paramref name="trailerLines"/> are the trailer headers as sent, each <c>name:value\n</c>.</summary>
    public bool VerifyTrailer(string trailerLines, string trailerSignature)
    {
        var stringToSign = $"{SigV4.TrailerAlgorithm}\n{amzDate}\n{scope}\n{_previous}\n{SigV4.Sha256Hex(trailerLines)}";
        return SigV4.SignaturesEqual(SigV4.Sign(signingKey, stringToSign), trailerSignature);
    }

    public static string ChunkStringToSign(string amzDate, string scope, string previousSignature, ReadOnlySpan<byte> data) =>
        $"{SigV4.ChunkAlgorithm}\n{amzDate}\n{scope}\n{previousSignature}\n{SigV4.EmptySha256}\n{Convert.ToHexStringLower(SHA256.HashData(data))}";

    /// <summary>Signs a chunk as a client would (for tests and for clients in this process).</summary>
    public static string SignChunk(byte[] signingKey, string amzDate, string scope, string previousSignature, ReadOnlySpan<byte> data) =>
        Convert.ToHexStringLower(HMACSHA256.HashData(signingKey, Encoding.UTF8.GetBytes(ChunkStringToSign(amzDate, scope, previousSignature, data))));
}
