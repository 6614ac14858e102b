using System.Buffers.Binary;
using System.Text;
using Nimbus.Http;

namespace Nimbus.Tests.Http;

public sealed class EventStreamMessageTests
{
    [Fact]
    public void Crc32_is_the_IEEE_checksum_zlib_computes() =>
        Assert.Equal(0xCBF43926u, EventStreamMessage.Crc32("123456789"u8));

    [Fact]
    public void Event_is_framed_with_prelude_string_headers_payload_and_both_CRCs()
    {
        var payload = "chunk"u8.ToArray();
        var message = EventStreamMessage.Event("PayloadChunk", "application/octet-stream", payload);

        var total = BinaryPrimitives.ReadUInt32BigEndian(message);
        var headersLength = (int)BinaryPrimitives.ReadUInt32BigEndian(message.AsSpan(4));
        Assert.Equal((uint)message.Length, total);
        Assert.Equal(EventStreamMessage.Crc32(message.AsSpan(0, 8)), BinaryPrimitives.ReadUInt32BigEndian(message.AsSpan(8)));
        Assert.Equal(EventStreamMessage.Crc32(message.AsSpan(0, message.Length - 4)), BinaryPrimitives.ReadUInt32BigEndian(message.AsSpan(message.Length - 4)));
        Assert.Equal(payload, message.AsSpan(12 + headersLength, payload.Length).ToArray());

        var headers = new Dictionary<string, string>();
        var span = message.AsSpan(12, headersLength);
        while (!span.IsEmpty)
        {
            var name = Encoding.UTF8.GetString(span.Slice(1, span[0]));
            span = span[(1 + span[0])..];
            Assert.Equal(7, span[0]);
            var length = BinaryPrimitives.ReadUInt16BigEndian(span[1..]);
            headers[name] = Encoding.UTF8.GetString(span.Slice(3, length));
            span = span[(3 + length)..];
        }

        Assert.Equal("event", headers[":message-type"]);
        Assert.Equal("PayloadChunk", headers[":event-type"]);
        Assert.Equal("application/octet-stream", headers[":content-type"]);
    }
}
