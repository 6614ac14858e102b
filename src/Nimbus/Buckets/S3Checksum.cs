using System.Buffers.Binary;
using System.Runtime.Intrinsics.X86;
using System.Security.Cryptography;

namespace Nimbus.Buckets;

/// <summary>
/// The flexible checksums of <c>x-amz-checksum-*</c> headers and trailers: CRC32, CRC32C, CRC64NVME, SHA1, SHA256,
/// computed incrementally over the body as it streams, rendered base64 over the big-endian value as S3 does.
/// </summary>
internal abstract class S3Checksum : IDisposable
{
    /// <summary>The algorithm names, lower case, as they appear after <c>x-amz-checksum-</c>.</summary>
    public static readonly string[] Algorithms = ["crc32", "crc32c", "crc64nvme", "sha1", "sha256"];

    public abstract string Algorithm { get; }

    public string HeaderName => S3Wire.ChecksumPrefix + Algorithm;

    /// <summary>The algorithm's name as S3 spells it in XML and <c>x-amz-sdk-checksum-algorithm</c>.</summary>
    public string UpperName => Algorithm.ToUpperInvariant();

    public static S3Checksum? Create(string algorithm) => algorithm.ToLowerInvariant() switch
    {
        "crc32" => new Crc("crc32", Crc32Table, 32),
        "crc32c" => new Crc32C(),
        "crc64nvme" => new Crc64Nvme(),
        "sha1" => new Hash("sha1", IncrementalHash.CreateHash(HashAlgorithmName.SHA1)),
        "sha256" => new Hash("sha256", IncrementalHash.CreateHash(HashAlgorithmName.SHA256)),
        _ => null,
    };

    public abstract void Append(ReadOnlySpan<byte> data);

    public abstract string FinishBase64();

    public virtual void Dispose()
    {
    }

    private static readonly uint[] Crc32Table = BuildTable32(0xEDB88320u);
    private static readonly uint[] Crc32CTable = BuildTable32(0x82F63B78u);
    private static readonly ulong[] Crc64NvmeTable = BuildTable64(0x9A6C9329AC4BC9B5ul);

    private static uint[] BuildTable32(uint polynomial)
    {
        var table = new uint[256];
        for (uint i = 0; i < 256; i++)
        {
            var value = i;
            for (var bit = 0; bit < 8; bit++)
            {
                value = (value & 1) != 0 ? (value >> 1) ^ polynomial : value >> 1;
            }

            table[i] = value;
        }

        return table;
    }

    private static ulong[] BuildTable64(ulong polynomial)
    {
        var table = new ulong[256];
        for (ulong i = 0; i < 256; i++)
        {
            var value = i;
            for (var bit = 0; bit < 8; bit++)
            {
                value = (value & 1) != 0 ? (value >> 1) ^ polynomial : value >> 1;
            }

            table[i] = value;
        }

        return table;
    }

    private sealed class Crc(string algorithm, uint[] table, int bits) : S3Checksum
    {
        private uint _state = uint.MaxValue;

        public override string Algorithm => algorithm;

        public override void Append(ReadOnlySpan<byte> data)
        {
            var state = _state;
            foreach (var b in data)
            {
                state = table[(byte)(state ^ b)] ^ (state >> 8);
            }

            _state = state;
        }

        public override string FinishBase64()
        {
            Span<byte> bytes = stackalloc byte[bits / 8];
            BinaryPrimitives.WriteUInt32BigEndian(bytes, ~_state);
            return Convert.ToBase64String(bytes);
        }
    }

    private sealed class Crc32C : S3Checksum
    {
        private uint _state = uint.MaxValue;

        public override string Algorithm => "crc32c";

        public override void Append(ReadOnlySpan<byte> data)
        {
            var state = _state;
            if (Sse42.X64.IsSupported)
            {
                ulong wide = state;
                while (data.Length >= 8)
                {
                    wide = Sse42.X64.Crc32(wide, BinaryPrimitives.ReadUInt64LittleEndian(data));
                    data = data[8..];
                }

                state = (uint)wide;
            }

            foreach (var b in data)
            {
                state = Crc32CTable[(byte)(state ^ b)] ^ (state >> 8);
            }

            _state = state;
        }

        public override string FinishBase64()
        {
            Span<byte> bytes = stackalloc byte[4];
            BinaryPrimitives.WriteUInt32BigEndian(bytes, ~_state);
            return Convert.ToBase64String(bytes);
        }
    }

    private sealed class Crc64Nvme : S3Checksum
    {
        private ulong _state = ulong.MaxValue;

        public override string Algorithm => "crc64nvme";

        public override void Append(ReadOnlySpan<byte> data)
        {
            var state = _state;
            foreach (var b in data)
            {
                state = Crc64NvmeTable[(byte)(state ^ b)] ^ (state >> 8);
            }

            _state = state;
        }

        public override string FinishBase64()
        {
            Span<byte> bytes = stackalloc byte[8];
            BinaryPrimitives.WriteUInt64BigEndian(bytes, ~_state);
            return Convert.ToBase64String(bytes);
        }
    }

    private sealed class Hash(string algorithm, IncrementalHash hash) : S3Checksum
    {
        public override string Algorithm => algorithm;

        public override void Append(ReadOnlySpan<byte> data) => hash.AppendData(data);

        public override string FinishBase64() => Convert.ToBase64String(hash.GetHashAndReset());

        public override void Dispose()
        {
            hash.Dispose();
            base.Dispose();
        }
    }
}
