using Nimbus.Queues;

namespace Nimbus.Tests.Queues;

/// <summary>
/// The digests the SDKs verify. Attribute values are pinned: computed by AWS's documented encoding (names sorted,
/// 4-byte big-endian lengths, transport byte 1 for String/Number and 2 for Binary), and accepted by AWSSDK.SQS's own
/// check in QueueSdkTests.
/// </summary>
public sealed class MessageMd5Tests
{
    [Fact]
    public void Body_md5_is_the_hex_md5_of_the_utf8_body() =>
        Assert.Equal("5d41402abc4b2a76b9719d911017c592", MessageMd5.OfBody("hello"));

    [Fact]
    public void Attribute_md5_matches_the_known_value_for_string_and_binary() =>
        Assert.Equal("15f4ac2c4c403a7ce2af44dd3ea7c601", MessageMd5.OfAttributes(new Dictionary<string, MessageAttributeValue>
        {
            ["b"] = new("Binary", null, "AQID"u8.ToArray()),
            ["a"] = new("String", "x", null),
        }));

    [Fact]
    public void Attribute_md5_sorts_names_ordinally_and_keeps_custom_type_suffixes() =>
        Assert.Equal("f5b572496ae977ed00a50a8aaa3bf91d", MessageMd5.OfAttributes(new Dictionary<string, MessageAttributeValue>
        {
            ["text"] = new("String", "héllo ✓", null),
            ["count"] = new("Number", "12.5", null),
            ["custom"] = new("String.json", "{\"a\":1}", null),
            ["blob"] = new("Binary", null, [0, 1, 2, 255]),
        }));

    [Fact]
    public void System_attribute_md5_uses_the_same_encoding() =>
        Assert.Equal("62a56dd927315f2b2e12832b84617ea5", MessageMd5.OfAttributes(new Dictionary<string, MessageAttributeValue>
        {
            ["AWSTraceHeader"] = new("String", "Root=1-5759e988-bd862e3fe1be46a994272793", null),
        }));

    [Fact]
    public void No_attributes_have_no_md5() => Assert.Null(MessageMd5.OfAttributes(new Dictionary<string, MessageAttributeValue>()));
}
