using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace Nimbus.Queues;

#pragma warning disable CA5351 // SQS's wire contract is MD5 (an integrity check the SDKs verify), not a security control.

/// <summary>
/// The digests SQS answers with and the SDKs verify: <c>MD5OfMessageBody</c> (MD5 of the UTF-8 body) and
/// <c>MD5OfMessageAttributes</c> (MD5 of AWS's binary encoding of the attributes, names sorted ordinally).
/// </summary>
internal static class MessageMd5
{
    private const byte StringTransport = 1;
    private const byte BinaryTransport = 2;

    public static string OfBody(string body) => Hex(MD5.HashData(Encoding.UTF8.GetBytes(body)));

    /// <summary>Null when there are no attributes: SQS then omits the field.</summary>
    public static string? OfAttributes(IReadOnlyDictionary<string, MessageAttributeValue>? attributes)
    {
        if (attributes is null || attributes.Count == 0)
        {
            return null;
        }

        using var buffer = new MemoryStream();
        foreach (var name in attributes.Keys.Order(StringComparer.Ordinal))
        {
            var value = attributes[name];
            WriteLengthPrefixed(buffer, Encoding.UTF8.GetBytes(name));
            WriteLengthPrefixed(buffer, Encoding.UTF8.GetBytes(value.DataType));
            if (value.IsBinary)
            {
                buffer.WriteByte(BinaryTransport);
                WriteLengthPrefixed(buffer, value.BinaryValue ?? []);
            }
            else
            {
                buffer.WriteByte(StringTransport);
                WriteLengthPrefixed(buffer, Encoding.UTF8.GetBytes(value.StringValue ?? ""));
            }
        }

        return Hex(MD5.HashData(buffer.ToArray()));
    }

    private static void WriteLengthPrefixed(MemoryStream buffer, byte[] bytes)
    {
        Span<byte> length = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(length, bytes.Length);
        buffer.Write(length);
        buffer.Write(bytes);
    }

    private static string Hex(byte[] hash) => Convert.ToHexStringLower(hash);
}
