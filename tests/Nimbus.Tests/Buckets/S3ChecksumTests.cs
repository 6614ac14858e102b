using System.Buffers.Binary;
using System.Text;
using Nimbus.Buckets;

namespace Nimbus.Tests.Buckets;

public sealed class S3ChecksumTests
{
    // The catalogue check values of each CRC over "123456789", and S3's rendering: base64 of the big-endian value.
    [Theory]
    [InlineData("crc32", 0xCBF43926ul, 4)]
    [InlineData("crc32c", 0xE3069283ul, 4)]
    [InlineData("crc64nvme", 0xAE8B14860A799888ul, 8)]
    public void Crcs_match_their_check_values_whatever_the_block_boundaries(string algorithm, ulong check, int bytes)
    {
        var expected = new byte[8];
        BinaryPrimitives.WriteUInt64BigEndian(expected, check);
        var data = Encoding.ASCII.GetBytes("123456789");
        for (var split = 0; split <= data.Length; split++)
        {
            using var checksum = S3Checksum.Create(algorithm)!;
            checksum.Append(data.AsSpan(0, split));
            checksum.Append(data.AsSpan(split));
            Assert.Equal(Convert.ToBase64String(expected[(8 - bytes)..]), checksum.FinishBase64());
        }
    }

    [Fact]
    public void Crc32_of_hello_is_what_the_SDKs_send()
    {
        using var checksum = S3Checksum.Create("CRC32")!;
        checksum.Append("hello"u8);
        Assert.Equal("NhCmhg==", checksum.FinishBase64());
        Assert.Equal("x-amz-checksum-crc32", checksum.HeaderName);
    }

    [Fact]
    public void Unknown_algorithms_have_no_checksum() => Assert.Null(S3Checksum.Create("md4"));
}
