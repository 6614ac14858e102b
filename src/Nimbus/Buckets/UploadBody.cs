using System.Globalization;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Http;

namespace Nimbus.Buckets;

/// <summary>
/// The body of a PutObject or UploadPart, in whichever payload mode the client chose (reference 2.2): plain with a
/// signed SHA-256, unsigned, or aws-chunked with or without chunk signatures and trailers. It hashes the bytes as
/// they stream (MD5 for the ETag, the flexible checksum, the payload SHA-256) and, once the body is read, checks
/// every digest the client declared.
/// </summary>
internal sealed class UploadBody : IDisposable
{
    private readonly IncrementalHash _md5 = IncrementalHash.CreateHash(HashAlgorithmName.MD5);
    private readonly IncrementalHash? _sha256;
    private readonly string? _declaredSha256;
    private readonly string? _contentMd5;
    private readonly string? _headerChecksum;
    private readonly AwsChunkedStream? _chunked;
    private long _observed;

    private UploadBody(Stream body, long? length, AwsChunkedStream? chunked, string? declaredSha256, string? contentMd5, S3Checksum? checksum, string? headerChecksum)
    {
        Body = body;
        DeclaredLength = length;
        _chunked = chunked;
        _declaredSha256 = declaredSha256;
        _contentMd5 = contentMd5;
        Checksum = checksum;
        _headerChecksum = headerChecksum;
        if (declaredSha256 is not null)
        {
            _sha256 = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        }
    }

    /// <summary>The decoded body to read.</summary>
    public Stream Body { get; }

    /// <summary>The object's size as the client declared it (decoded length for aws-chunked), when it did.</summary>
    public long? DeclaredLength { get; }

    /// <summary>The flexible checksum the client asked for, if any.</summary>
    public S3Checksum? Checksum { get; }

    /// <summary>The checksum's value once <see cref="Verify"/> passed.</summary>
    public string? ChecksumValue { get; private set; }

    public string Md5Hex { get; private set; } = "";

    public static (UploadBody? Body, S3Error? Error) Open(HttpRequest request, IChunkSignatureVerifierFactory verifiers, long maxBytes)
    {
        var headers = request.Headers;
        var contentSha256 = headers[S3Wire.ContentSha256].ToString();
        var chunked = contentSha256.StartsWith(S3Wire.StreamingPrefix, StringComparison.Ordinal)
            || headers.ContentEncoding.ToString().Contains(S3Wire.AwsChunkedEncoding, StringComparison.OrdinalIgnoreCase);
        long? length = request.ContentLength;
        if (chunked)
        {
            var decoded = headers[S3Wire.DecodedContentLength].ToString();
            if (decoded.Length > 0)
            {
                if (!long.TryParse(decoded, NumberStyles.None, CultureInfo.InvariantCulture, out var parsed))
                {
                    return (null, S3Error.InvalidArgument($"x-amz-decoded-content-length '{decoded}' is not a number of bytes."));
                }

                length = parsed;
            }
            else
            {
                length = null;
            }
        }
        else if (length is null && !HttpMethods.IsPost(request.Method) && request.Headers.TransferEncoding.Count == 0)
        {
            return (null, S3Error.MissingContentLength());
        }

        if (length > maxBytes)
        {
            return (null, S3Error.EntityTooLarge(maxBytes));
        }

        string? contentMd5 = null;
        if (headers.TryGetValue("Content-MD5", out var md5Header))
        {
            contentMd5 = md5Header.ToString();
            Span<byte> digest = stackalloc byte[16];
            if (!Convert.TryFromBase64String(contentMd5, digest, out var written) || written != 16)
            {
                return (null, S3Error.InvalidDigest());
            }
        }

        // The flexible checksum: its value in a header, or named by x-amz-trailer and sent after the body, or only
        // its algorithm (then S3 computes and stores it without anything to compare).
        S3Checksum? checksum = null;
        string? headerValue = null;
        foreach (var algorithm in S3Checksum.Algorithms)
        {
            var name = S3Wire.ChecksumPrefix + algorithm;
            if (headers.TryGetValue(name, out var value))
            {
                checksum = S3Checksum.Create(algorithm);
                headerValue = value.ToString();
                break;
            }
        }

        var trailer = headers[S3Wire.Trailer].ToString().Trim().ToLowerInvariant();
        if (checksum is null && trailer.StartsWith(S3Wire.ChecksumPrefix, StringComparison.Ordinal))
        {
            checksum = S3Checksum.Create(trailer[S3Wire.ChecksumPrefix.Length..]);
            if (checksum is null)
            {
                return (null, S3Error.InvalidRequest($"The trailer {trailer} names a checksum algorithm S3 does not support."));
            }
        }

        if (checksum is null && headers[S3Wire.SdkChecksumAlgorithm].ToString() is { Length: > 0 } sdkAlgorithm)
        {
            checksum = S3Checksum.Create(sdkAlgorithm);
            if (checksum is null)
            {
                return (null, S3Error.InvalidRequest($"Checksum algorithm '{sdkAlgorithm}' is not supported; use CRC32, CRC32C, CRC64NVME, SHA1 or SHA256."));
            }
        }

        var declaredSha256 = !chunked && contentSha256.Length == 64 && contentSha256.All(char.IsAsciiHexDigit) ? contentSha256.ToLowerInvariant() : null;
        AwsChunkedStream? decoder = chunked ? new AwsChunkedStream(request.Body, verifiers.Create(request)) : null;
        return (new UploadBody(decoder ?? request.Body, length, decoder, declaredSha256, contentMd5, checksum, headerValue), null);
    }

    public void Observe(ReadOnlyMemory<byte> block)
    {
        _observed += block.Length;
        _md5.AppendData(block.Span);
        _sha256?.AppendData(block.Span);
        Checksum?.Append(block.Span);
    }

    /// <summary>Checks the digests once the body has been read; sets <see cref="Md5Hex"/> and <see cref="ChecksumValue"/>.</summary>
    public S3Error? Verify()
    {
        var md5 = _md5.GetHashAndReset();
        Md5Hex = Convert.ToHexStringLower(md5);
        if (DeclaredLength is { } length && length != _observed)
        {
            return S3Error.IncompleteBody();
        }

        if (_contentMd5 is not null && _contentMd5 != Convert.ToBase64String(md5))
        {
            return S3Error.BadDigest("Content-MD5");
        }

        if (_sha256 is not null && Convert.ToHexStringLower(_sha256.GetHashAndReset()) != _declaredSha256)
        {
            return S3Error.ContentSha256Mismatch();
        }

        if (Checksum is not null)
        {
            var computed = Checksum.FinishBase64();
            var declared = _headerChecksum
                ?? _chunked?.Trailers.FirstOrDefault(t => t.Key == Checksum.HeaderName).Value;
            if (declared is not null && declared != computed)
            {
                return S3Error.BadDigest($"x-amz-checksum-{Checksum.Algorithm}");
            }

            ChecksumValue = computed;
        }

        return null;
    }

    public void Dispose()
    {
        _md5.Dispose();
        _sha256?.Dispose();
        Checksum?.Dispose();
        _chunked?.Dispose();
    }
}
