using System.Text;
using Nimbus.Buckets;

namespace Nimbus.Tests.Buckets;

public sealed class AwsChunkedStreamTests
{
    [Fact]
    public async Task Signed_chunks_and_trailer_decode_to_the_payload_and_the_verifier_sees_every_chunk()
    {
        var framed = "5;chunk-signature=aaaa\r\nhello\r\n6;chunk-signature=bbbb\r\n world\r\n0;chunk-signature=cccc\r\n"
            + "x-amz-checksum-crc32:abc=\r\nx-amz-trailer-signature:dddd\r\n\r\n";
        var verifier = new RecordingVerifier();
        var decoded = await DecodeAsync(framed, verifier, readSize: 3);

        Assert.Equal("hello world", decoded.Text);
        Assert.Equal(["aaaa:hello", "bbbb: world", "cccc:"], verifier.Chunks);
        Assert.Equal("dddd", verifier.TrailerSignature);
        Assert.Equal([new KeyValuePair<string, string>("x-amz-checksum-crc32", "abc=")], decoded.Trailers);
    }

    [Fact]
    public async Task Unsigned_chunks_without_a_final_empty_line_decode()
    {
        var decoded = await DecodeAsync("3\r\nabc\r\n0\r\n", new RecordingVerifier(), readSize: 100);
        Assert.Equal("abc", decoded.Text);
        Assert.Empty(decoded.Trailers);
    }

    [Theory]
    [InlineData("zz\r\nabc\r\n0\r\n\r\n")]
    [InlineData("3\r\nabcdef\r\n0\r\n\r\n")]
    [InlineData("5\r\nabc")]
    public async Task Malformed_framing_is_InvalidDataException(string framed) =>
        await Assert.ThrowsAsync<InvalidDataException>(() => DecodeAsync(framed, new RecordingVerifier(), readSize: 100));

    [Fact]
    public async Task A_chunk_the_verifier_rejects_fails_the_read() =>
        await Assert.ThrowsAsync<ChunkSignatureException>(() => DecodeAsync("3\r\nabc\r\n0\r\n\r\n", new RecordingVerifier { Reject = true }, readSize: 100));

    private static async Task<(string Text, IReadOnlyList<KeyValuePair<string, string>> Trailers)> DecodeAsync(string framed, IChunkSignatureVerifier verifier, int readSize)
    {
        await using var stream = new AwsChunkedStream(new MemoryStream(Encoding.ASCII.GetBytes(framed)), verifier);
        var output = new MemoryStream();
        var buffer = new byte[readSize];
        int read;
        while ((read = await stream.ReadAsync(buffer)) > 0)
        {
            output.Write(buffer, 0, read);
        }

        return (Encoding.ASCII.GetString(output.ToArray()), stream.Trailers);
    }

    private sealed class RecordingVerifier : IChunkSignatureVerifier
    {
        private readonly StringBuilder _current = new();
        private string? _signature;

        public List<string> Chunks { get; } = [];

        public string? TrailerSignature { get; private set; }

        public bool Reject { get; init; }

        public void BeginChunk(string? signature, int length)
        {
            _signature = signature;
            _current.Clear();
        }

        public void Append(ReadOnlySpan<byte> data) => _current.Append(Encoding.ASCII.GetString(data));

        public bool EndChunk()
        {
            Chunks.Add($"{_signature}:{_current}");
            return !Reject;
        }

        public bool VerifyTrailer(IReadOnlyList<KeyValuePair<string, string>> trailers, string? signature)
        {
            TrailerSignature = signature;
            return !Reject;
        }
    }
}
