using System.Text;
using System.Text.Json.Nodes;
using Nimbus.Events;

namespace Nimbus.Tests.Events;

public sealed class SqsEventTests
{
    private const string QueueArn = "arn:aws:sqs:us-east-1:000000000000:orders";

    private static readonly HashSet<string> BatchIds = new(["m1", "m2", "m3"], StringComparer.Ordinal);

    [Fact]
    public void A_record_has_Lambda_shape_with_camelCase_message_attributes()
    {
        var message = new EventSourceMessage(
            "m1",
            "handle-1",
            "hello",
            "5d41402abc4b2a76b9719d911017c592",
            new Dictionary<string, string>
            {
                ["SentTimestamp"] = "1700000000000",
                ["ApproximateReceiveCount"] = "1",
                ["SenderId"] = "000000000000",
                ["ApproximateFirstReceiveTimestamp"] = "1700000000100",
            },
            new Dictionary<string, EventSourceMessageAttribute>
            {
                ["kind"] = new("String", "order", null),
                ["blob"] = new("Binary", null, [1, 2, 3]),
            },
            "0123456789abcdef0123456789abcdef");

        var payload = Encoding.UTF8.GetString(SqsEvent.Build([SqsEvent.Record(message, QueueArn, "us-east-1")]));

        Assert.Equal(
            """{"Records":[{"messageId":"m1","receiptHandle":"handle-1","body":"hello","attributes":{"ApproximateReceiveCount":"1","SentTimestamp":"1700000000000","SenderId":"000000000000","ApproximateFirstReceiveTimestamp":"1700000000100"},"messageAttributes":{"blob":{"binaryValue":"AQID","stringListValues":[],"binaryListValues":[],"dataType":"Binary"},"kind":{"stringValue":"order","stringListValues":[],"binaryListValues":[],"dataType":"String"}},"md5OfBody":"5d41402abc4b2a76b9719d911017c592","md5OfMessageAttributes":"0123456789abcdef0123456789abcdef","eventSource":"aws:sqs","eventSourceARN":"arn:aws:sqs:us-east-1:000000000000:orders","awsRegion":"us-east-1"}]}""",
            payload);
    }

    [Fact]
    public void A_record_without_message_attributes_has_no_md5OfMessageAttributes_and_FIFO_attributes_are_kept()
    {
        var message = new EventSourceMessage("m1", "h", "{}", "x", new Dictionary<string, string>
        {
            ["MessageGroupId"] = "g1",
            ["SequenceNumber"] = "00000000000000000001",
            ["MessageDeduplicationId"] = "d1",
            ["ApproximateReceiveCount"] = "2",
        }, new Dictionary<string, EventSourceMessageAttribute>(), null);

        var record = SqsEvent.Record(message, QueueArn, "us-east-1");

        Assert.False(record.ContainsKey("md5OfMessageAttributes"));
        Assert.Equal(["ApproximateReceiveCount", "SequenceNumber", "MessageGroupId", "MessageDeduplicationId"], record["attributes"]!.AsObject().Select(a => a.Key));
    }

    [Fact]
    public void A_batch_continues_the_trace_of_its_first_message_with_an_AWSTraceHeader()
    {
        static EventSourceMessage Message(string id, string? trace) => new(id, "h", "{}", "x",
            trace is null ? new Dictionary<string, string>() : new Dictionary<string, string> { ["AWSTraceHeader"] = trace },
            new Dictionary<string, EventSourceMessageAttribute>(), null);

        Assert.Null(SqsEvent.TraceHeader([Message("m1", null), Message("m2", null)]));
        Assert.Equal("Root=1-5759e988-bd862e3fe1be46a994272793", SqsEvent.TraceHeader(
            [Message("m1", null), Message("m2", "Root=1-5759e988-bd862e3fe1be46a994272793"), Message("m3", "Root=1-6759e988-bd862e3fe1be46a994272793")]));
    }

    [Theory]
    [InlineData("")]
    [InlineData("null")]
    [InlineData("{}")]
    [InlineData("""{"batchItemFailures":null}""")]
    [InlineData("""{"batchItemFailures":[]}""")]
    [InlineData("\"done\"")]
    public void Empty_responses_and_empty_failure_lists_are_full_successes(string response)
    {
        Assert.Empty(SqsEvent.FailedItems(Encoding.UTF8.GetBytes(response), BatchIds)!);
    }

    [Fact]
    public void Listed_items_are_the_failures()
    {
        var failed = SqsEvent.FailedItems("""{"batchItemFailures":[{"itemIdentifier":"m2"},{"itemIdentifier":"m3"}]}"""u8, BatchIds);

        Assert.Equal(["m2", "m3"], failed!.Order(StringComparer.Ordinal));
    }

    [Theory]
    [InlineData("not json")]
    [InlineData("""{"batchItemFailures":[{"itemIdentifier":""}]}""")]
    [InlineData("""{"batchItemFailures":[{"itemIdentifier":null}]}""")]
    [InlineData("""{"batchItemFailures":[{}]}""")]
    [InlineData("""{"batchItemFailures":[{"itemIdentifier":"unknown"}]}""")]
    [InlineData("""{"batchItemFailures":"m1"}""")]
    public void Invalid_responses_fail_the_whole_batch(string response)
    {
        Assert.Null(SqsEvent.FailedItems(Encoding.UTF8.GetBytes(response), BatchIds));
    }

    [Fact]
    public void Filters_match_the_JSON_body_and_attributes()
    {
        Assert.True(EventFilterPattern.TryParse("""{"body":{"kind":["order"],"total":[{"numeric":[">",10]}]}}""", out var pattern, out _));
        Assert.True(EventFilterPattern.TryParse("""{"attributes":{"MessageGroupId":[{"prefix":"vip-"}]}}""", out var prefix, out _));
        Assert.True(EventFilterPattern.TryParse("""{"body":{"kind":[{"anything-but":["refund"]}],"note":[{"exists":false}]}}""", out var anythingBut, out _));

        JsonObject View(string body, string group = "g") => SqsEvent.FilterView(new JsonObject { ["body"] = body, ["attributes"] = new JsonObject { ["MessageGroupId"] = group } });

        Assert.True(pattern!.Matches(View("""{"kind":"order","total":12}""")));
        Assert.False(pattern.Matches(View("""{"kind":"order","total":9}""")));
        Assert.False(pattern.Matches(View("not json")));
        Assert.True(prefix!.Matches(View("x", "vip-1")));
        Assert.False(prefix.Matches(View("x", "std-1")));
        Assert.True(anythingBut!.Matches(View("""{"kind":"order"}""")));
        Assert.False(anythingBut.Matches(View("""{"kind":"refund"}""")));
        Assert.False(anythingBut.Matches(View("""{"kind":"order","note":"x"}""")));
    }

    [Theory]
    [InlineData("[1]")]
    [InlineData("{\"body\":\"x\"}")]
    [InlineData("{\"body\":[{\"wildcard\":\"*\"}]}")]
    [InlineData("{")]
    public void Invalid_filter_patterns_are_refused(string pattern)
    {
        Assert.False(EventFilterPattern.TryParse(pattern, out _, out var reason));
        Assert.NotEmpty(reason);
    }
}
