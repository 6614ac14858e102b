using System.Buffers.Binary;
using System.Text;

namespace Nimbus.Http;

/// <summary>
/// AWS's binary event-stream framing (<c>application/vnd.amazon.eventstream</c>), as InvokeWithResponseStream answers:
/// per message a 12-byte prelude (total length, headers length, CRC32 of those 8 bytes), string headers
/// (name length, name, type 7, value length, value), the payload, and a CRC32 of everything before it.
/// </summary>
internal static class EventStreamMessage
{
    public const string ContentType = "application/vnd.amazon.eventstream";
    public const string MessageTypeHeader = ":message-type";
    public const string EventTypeHeader = ":event-type";
    public const string ContentTypeHeader = ":content-type";
    public const string EventMessageType = "event";

    private const byte StringHeaderType = 7;
    private const int PreludeBytes = 12;
    private const int CrcBytes = 4;

    private static readonly uint[] CrcTable = BuildCrcTable();

    /// <summary>An <c>event</c> message of type <paramref name="eventType"/>.</summary>
    public static byte[] Event(string eventType, string contentType, ReadOnlySpan<byte> payload)
    {
        Span<(string Name, string Value)> headers =
        [
            (EventTypeHeader, eventType),
            (ContentTypeHeader, contentType),
            (MessageTypeHeader, EventMessageType),
        ];
        var headersLength = 0;
        foreach (var (name, value) in headers)
        {
            headersLength += 1 + Encoding.UTF8.GetByteCount(name) + 1 + 2 + Encoding.UTF8.GetByteCount(value);
        }

        var total = PreludeBytes + headersLength + payload.Length + CrcBytes;
        var message = new byte[total];
        var span = message.AsSpan();
        BinaryPrimitives.WriteUInt32BigEndian(span, (uint)total);
        BinaryPrimitives.WriteUInt32BigEndian(span[4..], (uint)headersLength);
        BinaryPrimitives.WriteUInt32BigEndian(span[8..], Crc32(span[..8]));
        var offset = PreludeBytes;
        foreach (var (name, value) in headers)
        {
            var nameLength = Encoding.UTF8.GetBytes(name, span[(offset + 1)..]);
            span[offset] = (byte)nameLength;
            offset += 1 + nameLength;
            span[offset++] = StringHeaderType;
            var valueLength = Encoding.UTF8.GetBytes(value, span[(offset + 2)..]);
            BinaryPrimitives.WriteUInt16BigEndian(span[offset..], (ushort)valueLength);
            offset += 2 + valueLength;
        }

        payload.CopyTo(span[offset..]);
        offset += payload.Length;
        BinaryPrimitives.WriteUInt32BigEndian(span[offset..], Crc32(span[..offset]));
        return message;
    }

    /// <summary>CRC-32 (IEEE 802.3, as zlib computes it).</summary>
    internal static uint Crc32(ReadOnlySpan<byte> data)
    {
        var crc = 0xFFFFFFFFu;
        foreach (var b in data)
        {
            crc = CrcTable[(crc ^ b) & 0xFF] ^ (crc >> 8);
        }

        return crc ^ 0xFFFFFFFFu;
    }

    private static uint[] BuildCrcTable()
    {
        var table = new uint[256];
        for (var n = 0u; n < 256; n++)
        {
            var c = n;
            for (var k = 0; k < 8; k++)
            {
                c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            }

            table[n] = c;
        }

        return table;
    }
}
