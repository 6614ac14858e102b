using System.Globalization;
using System.Text;

namespace Nimbus.Buckets;

/// <summary>
/// Decodes an aws-chunked body (reference 2.2) as it is read: <c>&lt;hex&gt;[;chunk-signature=..]\r\n&lt;data&gt;\r\n</c>
/// chunks, a zero-length last chunk, then trailer lines (<c>x-amz-checksum-crc32:...</c>) up to an empty line.
/// A framing error surfaces as <see cref="InvalidDataException"/>, which the caller answers with 400.
/// </summary>
internal sealed class AwsChunkedStream(Stream inner, IChunkSignatureVerifier verifier) : Stream
{
    private const int MaxLineBytes = 4_096;
    private const int MaxChunkBytes = 64 * 1024 * 1024;

    private readonly byte[] _buffer = new byte[64 * 1024];
    private readonly List<KeyValuePair<string, string>> _trailers = [];
    private int _start;
    private int _end;
    private long _chunkRemaining;
    private bool _inChunk;
    private bool _finished;

    /// <summary>The trailer lines, once the whole body has been read.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Trailers => _trailers;

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> destination, CancellationToken cancellationToken = default)
    {
        while (true)
        {
            if (_finished || destination.Length == 0)
            {
                return 0;
            }

            if (_inChunk && _chunkRemaining > 0)
            {
                if (_start == _end && !await FillAsync(cancellationToken).ConfigureAwait(false))
                {
                    throw new InvalidDataException("The aws-chunked body ended inside a chunk.");
                }

                var count = (int)Math.Min(Math.Min(_chunkRemaining, _end - _start), destination.Length);
                var data = _buffer.AsMemory(_start, count);
                data.CopyTo(destination);
                verifier.Append(data.Span);
                _start += count;
                _chunkRemaining -= count;
                return count;
            }

            if (_inChunk)
            {
                // The CRLF after a chunk's data.
                if ((await ReadLineAsync(cancellationToken).ConfigureAwait(false)).Length != 0)
                {
                    throw new InvalidDataException("An aws-chunked chunk is longer than its declared size.");
                }

                if (!verifier.EndChunk())
                {
                    throw new ChunkSignatureException();
                }

                _inChunk = false;
            }

            var header = await ReadLineAsync(cancellationToken).ConfigureAwait(false);
            var semicolon = header.IndexOf(';', StringComparison.Ordinal);
            var size = semicolon < 0 ? header : header[..semicolon];
            string? signature = null;
            if (semicolon >= 0)
            {
                var extension = header[(semicolon + 1)..];
                const string SignatureKey = "chunk-signature=";
                if (extension.StartsWith(SignatureKey, StringComparison.Ordinal))
                {
                    signature = extension[SignatureKey.Length..];
                }
            }

            if (!int.TryParse(size, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var length) || length < 0 || length > MaxChunkBytes)
            {
                throw new InvalidDataException($"'{Truncate(header)}' is not an aws-chunked chunk header.");
            }

            verifier.BeginChunk(signature, length);
            if (length > 0)
            {
                _inChunk = true;
                _chunkRemaining = length;
                continue;
            }

            if (!verifier.EndChunk())
            {
                throw new ChunkSignatureException();
            }

            await ReadTrailerAsync(cancellationToken).ConfigureAwait(false);
            _finished = true;
        }
    }

    // A request body is read asynchronously only, as Kestrel's own stream requires (AllowSynchronousIO is off): a thread
    // blocked on the body would, on an inline-scheduled connection, be the very thread that receives it (a deadlock).
    public override int Read(byte[] buffer, int offset, int count) =>
        throw new NotSupportedException("An aws-chunked request body is read with ReadAsync only: a synchronous read could wait on the thread that receives it.");

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    private async Task ReadTrailerAsync(CancellationToken cancellationToken)
    {
        string? trailerSignature = null;
        while (true)
        {
            // Some clients end the body right after the last chunk's line, without the empty line.
            if (_start == _end && !await FillAsync(cancellationToken).ConfigureAwait(false))
            {
                break;
            }

            var line = await ReadLineAsync(cancellationToken).ConfigureAwait(false);
            if (line.Length == 0)
            {
                break;
            }

            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0)
            {
                throw new InvalidDataException($"'{Truncate(line)}' is not an aws-chunked trailer line.");
            }

            var name = line[..colon].Trim().ToLowerInvariant();
            var value = line[(colon + 1)..].Trim();
            if (name == S3Wire.TrailerSignature)
            {
                trailerSignature = value;
            }
            else
            {
                _trailers.Add(new(name, value));
            }
        }

        if (!verifier.VerifyTrailer(_trailers, trailerSignature))
        {
            throw new ChunkSignatureException();
        }
    }

    private async Task<string> ReadLineAsync(CancellationToken cancellationToken)
    {
        var line = new StringBuilder();
        while (true)
        {
            if (_start == _end && !await FillAsync(cancellationToken).ConfigureAwait(false))
            {
                throw new InvalidDataException("The aws-chunked body ended in the middle of a line.");
            }

            var span = _buffer.AsSpan(_start, _end - _start);
            var newline = span.IndexOf((byte)'\n');
            var take = newline < 0 ? span.Length : newline;
            line.Append(Encoding.ASCII.GetString(span[..take]));
            if (line.Length > MaxLineBytes)
            {
                throw new InvalidDataException("An aws-chunked line is too long.");
            }

            if (newline < 0)
            {
                _start = _end;
                continue;
            }

            _start += newline + 1;
            if (line.Length > 0 && line[^1] == '\r')
            {
                line.Length--;
            }

            return line.ToString();
        }
    }

    private async Task<bool> FillAsync(CancellationToken cancellationToken)
    {
        _start = 0;
        _end = await inner.ReadAsync(_buffer, cancellationToken).ConfigureAwait(false);
        return _end > 0;
    }

    private static string Truncate(string text) => text.Length <= 80 ? text : text[..80] + "...";
}

/// <summary>A chunk or trailer signature did not verify.</summary>
internal sealed class ChunkSignatureException : Exception
{
    public ChunkSignatureException()
        : base("The request signature we calculated does not match the signature you provided.")
    {
    }
}
