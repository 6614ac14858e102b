using Nimbus.Queues;

namespace Nimbus.Tests.Queues;

public sealed class QueueRulesTests
{
    [Theory]
    [InlineData("orders", true)]
    [InlineData("orders-v2_x", true)]
    [InlineData("orders.fifo", true)]
    [InlineData(".fifo", false)]
    [InlineData("bad name", false)]
    [InlineData("dots.are.bad", false)]
    [InlineData("", false)]
    public void Queue_names_follow_sqs_rules(string name, bool valid) => Assert.Equal(valid, QueueAttributeRules.ValidateName(name) is null);

    [Fact]
    public void Queue_name_of_81_characters_is_rejected() => Assert.NotNull(QueueAttributeRules.ValidateName(new string('a', 81)));

    [Theory]
    [InlineData("plain text\t\r\n", true)]
    [InlineData("emoji 😀 and 日本", true)]
    [InlineData("control \u0001", false)]
    [InlineData("\uffff", false)]
    public void Message_bodies_allow_only_the_documented_characters(string body, bool valid) =>
        Assert.Equal(valid, MessageRules.HasValidCharacters(body));

    [Fact]
    public void A_lone_surrogate_is_not_a_valid_character() => Assert.False(MessageRules.HasValidCharacters("lone " + (char)0xD800));

    [Fact]
    public void Redrive_policy_accepts_a_number_or_a_string_count() =>
        Assert.Equal(new RedrivePolicy("arn:aws:sqs:us-east-1:000000000000:dlq", 3),
            QueueAttributeRules.ParseRedrive("""{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:000000000000:dlq","maxReceiveCount":3}"""));

    [Fact]
    public void Receipt_handles_round_trip_and_reject_garbage()
    {
        var handle = new ReceiptHandle("q", "id", ReceiptHandle.NewToken());
        Assert.True(ReceiptHandle.TryDecode(handle.Encode(), out var decoded));
        Assert.Equal(handle, decoded);
        Assert.False(ReceiptHandle.TryDecode("not a handle!", out _));
        Assert.False(ReceiptHandle.TryDecode("", out _));
    }

    [Fact]
    public void Stored_attribute_json_shape_is_frozen()
    {
        var json = QueueJson.WriteMessageAttributes(new Dictionary<string, MessageAttributeValue>
        {
            ["s"] = new("String", "v", null),
            ["b"] = new("Binary", null, [1, 2]),
        });
        Assert.Equal("""{"b":{"DataType":"Binary","BinaryValue":"AQI="},"s":{"DataType":"String","StringValue":"v"}}""", json);
        Assert.Equal([1, 2], QueueJson.ReadMessageAttributes(json)["b"].BinaryValue);
        Assert.Equal("""{"A":"1","B":"2"}""", QueueJson.WriteStrings(new Dictionary<string, string> { ["B"] = "2", ["A"] = "1" }));
    }
}
