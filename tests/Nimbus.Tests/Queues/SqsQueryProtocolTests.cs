using Nimbus.Queues;

namespace Nimbus.Tests.Queues;

public sealed class SqsQueryProtocolTests
{
    [Fact]
    public void Flattened_form_names_become_the_json_protocol_shapes()
    {
        var json = SqsQueryProtocol.ToJson(SqsWire.Ops.SendMessageBatch, new Dictionary<string, string>
        {
            ["Action"] = "SendMessageBatch",
            ["Version"] = "2012-11-05",
            ["QueueUrl"] = "http://h/000000000000/q",
            ["SendMessageBatchRequestEntry.1.Id"] = "a",
            ["SendMessageBatchRequestEntry.1.MessageBody"] = "one",
            ["SendMessageBatchRequestEntry.1.MessageAttribute.1.Name"] = "color",
            ["SendMessageBatchRequestEntry.1.MessageAttribute.1.Value.DataType"] = "String",
            ["SendMessageBatchRequestEntry.1.MessageAttribute.1.Value.StringValue"] = "blue",
            ["SendMessageBatchRequestEntry.2.Id"] = "b",
            ["SendMessageBatchRequestEntry.2.MessageBody"] = "two",
            ["SendMessageBatchRequestEntry.2.DelaySeconds"] = "5",
        });

        Assert.Equal(
            """{"QueueUrl":"http://h/000000000000/q","Entries":[{"Id":"a","MessageBody":"one","MessageAttributes":{"color":{"DataType":"String","StringValue":"blue"}}},{"Id":"b","MessageBody":"two","DelaySeconds":"5"}]}""",
            json.ToJsonString());
    }

    [Fact]
    public void Attributes_names_and_tags_become_maps_and_lists()
    {
        var create = SqsQueryProtocol.ToJson(SqsWire.Ops.CreateQueue, new Dictionary<string, string>
        {
            ["QueueName"] = "q",
            ["Attribute.1.Name"] = "VisibilityTimeout",
            ["Attribute.1.Value"] = "60",
            ["Tag.1.Key"] = "team",
            ["Tag.1.Value"] = "nimbus",
        });
        Assert.Equal("""{"QueueName":"q","Attributes":{"VisibilityTimeout":"60"},"tags":{"team":"nimbus"}}""", create.ToJsonString());

        var receive = SqsQueryProtocol.ToJson(SqsWire.Ops.ReceiveMessage, new Dictionary<string, string>
        {
            ["AttributeName.1"] = "All",
            ["MessageAttributeName.1"] = "color",
            ["MessageAttributeName.2"] = "size",
        });
        Assert.Equal("""{"AttributeNames":["All"],"MessageAttributeNames":["color","size"]}""", receive.ToJsonString());
    }

    [Fact]
    public void Json_answers_become_xml_with_flattened_lists()
    {
        var answer = System.Text.Json.Nodes.JsonNode.Parse(
            """{"Messages":[{"MessageId":"m","Body":"b","Attributes":{"SentTimestamp":"1"},"MessageAttributes":{"c":{"StringValue":"blue","DataType":"String"}}}]}""")!.AsObject();
        var xml = SqsQueryProtocol.ToXml(SqsWire.Ops.ReceiveMessage, answer, "req-1");
        Assert.Contains(
            "<ReceiveMessageResult><Message><MessageId>m</MessageId><Body>b</Body><Attribute><Name>SentTimestamp</Name><Value>1</Value></Attribute>"
            + "<MessageAttribute><Name>c</Name><Value><StringValue>blue</StringValue><DataType>String</DataType></Value></MessageAttribute></Message></ReceiveMessageResult>",
            xml,
            StringComparison.Ordinal);
        Assert.Contains("<ResponseMetadata><RequestId>req-1</RequestId></ResponseMetadata>", xml, StringComparison.Ordinal);
    }

    [Fact]
    public void Errors_are_written_in_the_query_error_shape()
    {
        var xml = SqsQueryProtocol.ErrorXml(QueueError.NoQueue(), "req-2");
        Assert.Contains("<Error><Type>Sender</Type><Code>AWS.SimpleQueueService.NonExistentQueue</Code><Message>The specified queue does not exist.</Message>", xml, StringComparison.Ordinal);
    }
}
