using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;
using Nimbus.Buckets;

namespace Nimbus.Security;

/// <summary>
/// Checks the chunk and trailer signatures of an S3 aws-chunked upload against the request's verified header
/// signature (<see cref="SigV4Context"/>). Unsigned streaming modes, and --dev mode where nothing was verified,
/// get the accepting verifier.
/// </summary>
internal sealed class SigV4ChunkVerifierFactory : IChunkSignatureVerifierFactory
{
    private static readonly AcceptingChunkSignatureVerifier Accepting = new();

    private const string SignedStreaming = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD";

    public IChunkSignatureVerifier Create(HttpRequest request) =>
        SigV4Context.Of(request.HttpContext) is { } context
        && context.PayloadHash.StartsWith(SignedStreaming, StringComparison.Ordinal)
        && context.CreateChunkVerifier() is { } verifier
            ? new Verifier(verifier)
            : Accepting;

    private sealed class Verifier(AwsChunkSignatureVerifier verifier) : IChunkSignatureVerifier
    {
        private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        private string? _signature;

        public void BeginChunk(string? signature, int length) => _signature = signature;

        public void Append(ReadOnlySpan<byte> data) => _hash.AppendData(data);

        public bool EndChunk()
        {
            var digest = Convert.ToHexStringLower(_hash.GetHashAndReset());

            // A signed upload signs every chunk: a chunk without a signature is as wrong as a bad one.
            return _signature is not null && verifier.VerifyChunkHash(digest, _signature);
        }

        public bool VerifyTrailer(IReadOnlyList<KeyValuePair<string, string>> trailers, string? signature)
        {
            if (signature is null)
            {
                // STREAMING-AWS4-HMAC-SHA256-PAYLOAD ends without a trailer; the -TRAILER mode must sign its trailer.
                return trailers.Count == 0;
            }

            var lines = new StringBuilder();
            foreach (var (name, value) in trailers)
            {
                lines.Append(name).Append(':').Append(value).Append('\n');
            }

            return verifier.VerifyTrailer(lines.ToString(), signature);
        }
    }
}
