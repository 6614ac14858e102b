using System.Security.Cryptography;

namespace Nimbus.IntegrationTests;

/// <summary>MD5 as S3 uses it: ETags and Content-MD5 are MD5 by protocol, not for security.</summary>
internal static class S3Md5
{
#pragma warning disable CA5351 // S3's ETag and Content-MD5 are defined as MD5.
    public static byte[] Hash(byte[] data) => MD5.HashData(data);
#pragma warning restore CA5351

    public static string Hex(byte[] data) => Convert.ToHexStringLower(Hash(data));
}
