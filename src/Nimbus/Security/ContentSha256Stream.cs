using System.Security.Cryptography;

namespace Nimbus.Security;

/// <summary>
/// Thrown by <see cref="ContentSha256Stream"/> at the end of a body that does not hash to the signed
/// x-amz-content-sha256. The authentication middleware turns it into S3's 400 <c>XAmzContentSHA256Mismatch</c> when the
/// response has not started; a service that stores bodies must not commit one whose read threw.
/// </summary>
internal sealed class ContentSha256MismatchException(string expected, string actual)
    : IOException($"The body hashes to {actual}, not to the signed x-amz-content-sha256 {expected}.")
{
    public string Expected { get; } = expected;

    public string Actual { get; } = actual;
}

/// <summary>
/// Hashes a request body while the service reads it once (S3 bodies are not buffered) and, on reaching its end, compares
/// the hash with the signed one: trust while streaming, verify before the end is reported.
/// </summary>
internal sealed class ContentSha256Stream(Stream inner, string expectedHex) : Stream
{
    private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private bool _verified;

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => inner.Length;

    public override long Position
    {
        get => inner.Position;
        set => throw new NotSupportedException();
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        var read = inner.Read(buffer);
        return Account(buffer[..read], read, buffer.Length);
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var read = await inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
        return Account(buffer.Span[..read], read, buffer.Length);
    }

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _hash.Dispose();
        }

        base.Dispose(disposing);
    }

    private int Account(ReadOnlySpan<byte> data, int read, int requested)
    {
        if (read > 0)
        {
            _hash.AppendData(data);
            return read;
        }

        // A 0-byte read into a non-empty buffer is the end of the body.
        if (!_verified && requested > 0)
        {
            _verified = true;
            var actual = Convert.ToHexStringLower(_hash.GetHashAndReset());
            if (!string.Equals(actual, expectedHex, StringComparison.OrdinalIgnoreCase))
            {
                throw new ContentSha256MismatchException(expectedHex, actual);
            }
        }

        return read;
    }
}
