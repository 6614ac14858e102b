using System.Diagnostics;
using Amazon.Runtime;
using Amazon.SQS;
using Amazon.SQS.Model;

namespace Nimbus.IntegrationTests;

/// <summary>
/// Queue behaviour through AWSSDK.SQS 4 (JSON protocol), which verifies MD5OfMessageBody and MD5OfMessageAttributes and
/// throws on a mismatch: long polling, visibility timeouts, dead-letter queues, FIFO order and deduplication, limits.
/// </summary>
public sealed class QueueSdkTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    internal static AmazonSQSClient Client(NimbusServer server) => new(
        new BasicAWSCredentials("test", "test"),
        new AmazonSQSConfig { ServiceURL = server.Endpoint, AuthenticationRegion = Aws.Region, MaxErrorRetry = 0, Timeout = TimeSpan.FromSeconds(60) });

    [Fact]
    public Task Sdk_verifies_the_md5s_of_bodies_and_attributes_of_every_type() => fixture.RunAsync(async scope =>
    {
        using var sqs = Client(scope.Server);
        var url = (await sqs.CreateQueueAsync(QueueNames.New())).QueueUrl;
        var attributes = new Dictionary<string, MessageAttributeValue>
        {
            ["text"] = new() { DataType = "String", StringValue = "héllo wörld ✓" },
            ["count"] = new() { DataType = "Number", StringValue = "12.5" },
            ["blob"] = new() { DataType = "Binary", BinaryValue = new MemoryStream([0, 1, 2, 255]) },
            ["custom"] = new() { DataType = "String.json", StringValue = "{\"a\":1}" },
        };
        var body = "body with unicode: 日本語 and emoji 😀";
        var sent = await sqs.SendMessageAsync(new SendMessageRequest { QueueUrl = url, MessageBody = body, MessageAttributes = attributes });
        Assert.NotNull(sent.MD5OfMessageAttributes);

        var received = await sqs.ReceiveMessageAsync(new ReceiveMessageRequest
        {
            QueueUrl = url,
            MessageAttributeNames = ["All"],
            MessageSystemAttributeNames = ["All"],
            WaitTimeSeconds = 1,
        });
        var message = Assert.Single(received.Messages);
        Assert.Equal(body, message.Body);
        Assert.Equal(sent.MD5OfMessageAttributes, message.MD5OfMessageAttributes);
        Assert.Equal("héllo wörld ✓", message.MessageAttributes["text"].StringValue);
        Assert.Equal([0, 1, 2, 255], message.MessageAttributes["blob"].BinaryValue.ToArray());
        Assert.Equal("String.json", message.MessageAttributes["custom"].DataType);
        Assert.Equal("1", message.Attributes["ApproximateReceiveCount"]);

        var batch = await sqs.SendMessageBatchAsync(url,
        [
            new() { Id = "plain", MessageBody = "p" },
            new() { Id = "attrs", MessageBody = "q", MessageAttributes = new() { ["k"] = new() { DataType = "String", StringValue = "v" } } },
        ]);
        Assert.Equal(2, batch.Successful.Count);

        await sqs.TagQueueAsync(new TagQueueRequest { QueueUrl = url, Tags = new() { ["team"] = "nimbus", ["tier"] = "1" } });
        await sqs.UntagQueueAsync(new UntagQueueRequest { QueueUrl = url, TagKeys = ["tier"] });
        Assert.Equal(new Dictionary<string, string> { ["team"] = "nimbus" }, (await sqs.ListQueueTagsAsync(new ListQueueTagsRequest { QueueUrl = url })).Tags);
        await sqs.DeleteQueueAsync(url);
    });

    [Fact]
    public Task Long_polling_returns_as_soon_as_a_message_arrives() => fixture.RunAsync(async scope =>
    {
        using var sqs = Client(scope.Server);
        var url = (await sqs.CreateQueueAsync(QueueNames.New())).QueueUrl;
        var stopwatch = Stopwatch.StartNew();
        var receive = sqs.ReceiveMessageAsync(new ReceiveMessageRequest { QueueUrl = url, WaitTimeSeconds = 20 });
        await Task.Delay(TimeSpan.FromSeconds(1));
        Assert.False(receive.IsCompleted, "A long poll on an empty queue returned before any message was sent.");
        await sqs.SendMessageAsync(url, "wake up");
        var message = Assert.Single((await receive).Messages);
        Assert.Equal("wake up", message.Body);
        Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(10), $"The long poll took {stopwatch.Elapsed.TotalSeconds:0.0} s to see the message.");

        stopwatch.Restart();
        var empty = await sqs.ReceiveMessageAsync(new ReceiveMessageRequest { QueueUrl = url, WaitTimeSeconds = 2 });
        Assert.Empty(empty.Messages ?? []);
        Assert.InRange(stopwatch.Elapsed, TimeSpan.FromSeconds(1.8), TimeSpan.FromSeconds(10));
        await sqs.DeleteQueueAsync(url);
    });

    [Fact]
    public Task Visibility_timeout_redelivers_an_undeleted_message_and_delay_hides_a_new_one() => fixture.RunAsync(async scope =>
    {
        using var sqs = Client(scope.Server);
        var url = (await sqs.CreateQueueAsync(QueueNames.New())).QueueUrl;
        await sqs.SendMessageAsync(url, "again");
        var first = Assert.Single((await sqs.ReceiveMessageAsync(new ReceiveMessageRequest { QueueUrl = url, VisibilityTimeout = 2 })).Messages);
        Assert.Empty((await sqs.ReceiveMessageAsync(new ReceiveMessageRequest { QueueUrl = url })).Messages ?? []);

        // A long poll wakes when the in-flight message becomes visible again.
        var second = Assert.Single((await sqs.ReceiveMessageAsync(new ReceiveMessageRequest
        {
            QueueUrl = url,
            WaitTimeSeconds = 10,
            MessageSystemAttributeNames = ["ApproximateReceiveCount"],
        })).Messages);
        Assert.Equal(first.MessageId, second.MessageId);
        Assert.Equal("2", second.Attributes["ApproximateReceiveCount"]);
        Assert.NotEqual(first.ReceiptHandle, second.ReceiptHandle);

        // The first receipt handle is stale: deleting with it leaves the message.
        await sqs.DeleteMessageAsync(url, first.ReceiptHandle);
        var ex = await Assert.ThrowsAsync<MessageNotInflightException>(() => sqs.ChangeMessageVisibilityAsync(url, first.ReceiptHandle, 0));
        Assert.Contains("in flight", ex.Message, StringComparison.Ordinal);
        await sqs.DeleteMessageAsync(url, second.ReceiptHandle);

        await sqs.SendMessageAsync(new SendMessageRequest { QueueUrl = url, MessageBody = "delayed", DelaySeconds = 2 });
        Assert.Empty((await sqs.ReceiveMessageAsync(new ReceiveMessageRequest { QueueUrl = url })).Messages ?? []);
        var delayed = Assert.Single((await sqs.ReceiveMessageAsync(new ReceiveMessageRequest { QueueUrl = url, WaitTimeSeconds = 10 })).Messages);
        Assert.Equal("delayed", delayed.Body);
        await sqs.DeleteQueueAsync(url);
    });

    [Fact]
    public Task Message_moves_to_the_dead_letter_queue_after_maxReceiveCount_receives() => fixture.RunAsync(async scope =>
    {
        using var sqs = Client(scope.Server);
        var dlqUrl = (await sqs.CreateQueueAsync(QueueNames.New("-dlq"))).QueueUrl;
        var dlqArn = (await sqs.GetQueueAttributesAsync(dlqUrl, ["QueueArn"])).QueueARN;
        var url = (await sqs.CreateQueueAsync(new CreateQueueRequest
        {
            QueueName = QueueNames.New(),
            Attributes = new() { ["RedrivePolicy"] = $$"""{"deadLetterTargetArn":"{{dlqArn}}","maxReceiveCount":"2"}""" },
        })).QueueUrl;
        var sent = await sqs.SendMessageAsync(url, "poison");
        for (var i = 1; i <= 2; i++)
        {
            var message = Assert.Single((await sqs.ReceiveMessageAsync(new ReceiveMessageRequest { QueueUrl = url, VisibilityTimeout = 0 })).Messages);
            Assert.Equal(sent.MessageId, message.MessageId);
        }

        Assert.Empty((await sqs.ReceiveMessageAsync(new ReceiveMessageRequest { QueueUrl = url })).Messages ?? []);
        var dead = Assert.Single((await sqs.ReceiveMessageAsync(new ReceiveMessageRequest
        {
            QueueUrl = dlqUrl,
            WaitTimeSeconds = 5,
            MessageSystemAttributeNames = ["All"],
        })).Messages);
        Assert.Equal("poison", dead.Body);
        Assert.Equal(sent.MessageId, dead.MessageId);
        Assert.Equal((await sqs.GetQueueAttributesAsync(url, ["QueueArn"])).QueueARN, dead.Attributes["DeadLetterQueueSourceArn"]);
        Assert.Contains(url, (await sqs.ListDeadLetterSourceQueuesAsync(new ListDeadLetterSourceQueuesRequest { QueueUrl = dlqUrl })).QueueUrls);

        var missing = await Assert.ThrowsAsync<InvalidAttributeValueException>(() => sqs.SetQueueAttributesAsync(url, new()
        {
            ["RedrivePolicy"] = $$"""{"deadLetterTargetArn":"{{dlqArn}}-nope","maxReceiveCount":"2"}""",
        }));
        Assert.Contains("does not exist", missing.Message, StringComparison.Ordinal);
        await sqs.DeleteQueueAsync(url);
        await sqs.DeleteQueueAsync(dlqUrl);
    });

    [Fact]
    public Task Fifo_queue_keeps_group_order_holds_a_group_while_in_flight_and_deduplicates() => fixture.RunAsync(async scope =>
    {
        using var sqs = Client(scope.Server);
        var url = (await sqs.CreateQueueAsync(new CreateQueueRequest
        {
            QueueName = QueueNames.New(".fifo"),
            Attributes = new() { ["FifoQueue"] = "true", ["ContentBasedDeduplication"] = "true" },
        })).QueueUrl;
        var sequence = new List<string>();
        foreach (var (group, body) in new[] { ("a", "a1"), ("b", "b1"), ("a", "a2"), ("b", "b2"), ("a", "a3") })
        {
            var sent = await sqs.SendMessageAsync(new SendMessageRequest { QueueUrl = url, MessageBody = body, MessageGroupId = group });
            sequence.Add(sent.SequenceNumber);
        }

        Assert.Equal(sequence.Order(StringComparer.Ordinal), sequence);
        var duplicate = await sqs.SendMessageAsync(new SendMessageRequest { QueueUrl = url, MessageBody = "a1", MessageGroupId = "a" });
        Assert.Equal(sequence[0], duplicate.SequenceNumber);
        var explicitId = await sqs.SendMessageAsync(new SendMessageRequest { QueueUrl = url, MessageBody = "c1", MessageGroupId = "c", MessageDeduplicationId = "d-1" });
        var explicitDuplicate = await sqs.SendMessageAsync(new SendMessageRequest { QueueUrl = url, MessageBody = "other body", MessageGroupId = "c", MessageDeduplicationId = "d-1" });
        Assert.Equal(explicitId.MessageId, explicitDuplicate.MessageId);

        // Take a1 only: group a is blocked while a1 is in flight, group b and c flow in order.
        var first = Assert.Single((await sqs.ReceiveMessageAsync(new ReceiveMessageRequest { QueueUrl = url, MaxNumberOfMessages = 1 })).Messages);
        Assert.Equal("a1", first.Body);
        var next = (await sqs.ReceiveMessageAsync(new ReceiveMessageRequest
        {
            QueueUrl = url,
            MaxNumberOfMessages = 10,
            MessageSystemAttributeNames = ["MessageGroupId", "SequenceNumber"],
        })).Messages;
        Assert.Equal(["b1", "b2", "c1"], next.Select(m => m.Body));
        Assert.Equal("b", next[0].Attributes["MessageGroupId"]);
        Assert.Empty((await sqs.ReceiveMessageAsync(url)).Messages ?? []);

        await sqs.DeleteMessageAsync(url, first.ReceiptHandle);
        var rest = (await sqs.ReceiveMessageAsync(new ReceiveMessageRequest { QueueUrl = url, MaxNumberOfMessages = 10 })).Messages;
        Assert.Equal(["a2", "a3"], rest.Select(m => m.Body));

        await Assert.ThrowsAsync<AmazonSQSException>(() => sqs.SendMessageAsync(new SendMessageRequest { QueueUrl = url, MessageBody = "no group" }));
        var noDedup = (await sqs.CreateQueueAsync(new CreateQueueRequest { QueueName = QueueNames.New(".fifo"), Attributes = new() { ["FifoQueue"] = "true" } })).QueueUrl;
        var error = await Assert.ThrowsAsync<AmazonSQSException>(() => sqs.SendMessageAsync(new SendMessageRequest { QueueUrl = noDedup, MessageBody = "m", MessageGroupId = "g" }));
        Assert.Contains("ContentBasedDeduplication", error.Message, StringComparison.Ordinal);
        await sqs.DeleteQueueAsync(url);
        await sqs.DeleteQueueAsync(noDedup);
    });

    [Fact]
    public Task Limits_are_enforced_with_sqs_errors() => fixture.RunAsync(async scope =>
    {
        using var sqs = Client(scope.Server);
        var url = (await sqs.CreateQueueAsync(new CreateQueueRequest { QueueName = QueueNames.New(), Attributes = new() { ["MaximumMessageSize"] = "1024" } })).QueueUrl;
        var tooBig = await Assert.ThrowsAsync<AmazonSQSException>(() => sqs.SendMessageAsync(url, new string('x', 1025)));
        Assert.Equal("InvalidParameterValue", tooBig.ErrorCode);
        await sqs.SendMessageAsync(url, new string('x', 1024));
        await Assert.ThrowsAsync<InvalidMessageContentsException>(() => sqs.SendMessageAsync(url, "bad \u0001 char"));
        await Assert.ThrowsAsync<EmptyBatchRequestException>(() => sqs.SendMessageBatchAsync(url, []));
        await Assert.ThrowsAsync<InvalidBatchEntryIdException>(() => sqs.SendMessageBatchAsync(url, [new() { Id = "bad id!", MessageBody = "m" }]));
        await Assert.ThrowsAsync<BatchRequestTooLongException>(() => sqs.SendMessageBatchAsync(url,
            [new() { Id = "a", MessageBody = new string('x', 600) }, new() { Id = "b", MessageBody = new string('y', 600) }]));
        var mixed = await sqs.SendMessageBatchAsync(url, [new() { Id = "ok", MessageBody = "fine" }, new() { Id = "bad", MessageBody = "bad \u0001" }]);
        Assert.Equal("ok", Assert.Single(mixed.Successful).Id);
        Assert.Equal("bad", Assert.Single(mixed.Failed).Id);
        await Assert.ThrowsAsync<QueueDoesNotExistException>(() => sqs.ReceiveMessageAsync($"{scope.Server.Endpoint}/{Aws.AccountId}/{QueueNames.New()}"));
        await Assert.ThrowsAsync<ReceiptHandleIsInvalidException>(() => sqs.DeleteMessageAsync(url, "garbage"));
        var attribute = await Assert.ThrowsAsync<AmazonSQSException>(() => sqs.SendMessageAsync(new SendMessageRequest
        {
            QueueUrl = url,
            MessageBody = "m",
            MessageAttributes = new() { ["AWS.reserved"] = new() { DataType = "String", StringValue = "v" } },
        }));
        Assert.Equal("InvalidParameterValue", attribute.ErrorCode);
        Assert.Equal("InvalidParameterValue", (await Assert.ThrowsAsync<AmazonSQSException>(() =>
            sqs.ReceiveMessageAsync(new ReceiveMessageRequest { QueueUrl = url, MaxNumberOfMessages = 11 }))).ErrorCode);
        Assert.Equal("InvalidParameterValue", (await Assert.ThrowsAsync<AmazonSQSException>(() =>
            sqs.SendMessageAsync(new SendMessageRequest { QueueUrl = url, MessageBody = "m", DelaySeconds = 901 }))).ErrorCode);
        await Assert.ThrowsAsync<InvalidAttributeValueException>(() =>
            sqs.CreateQueueAsync(new CreateQueueRequest { QueueName = QueueNames.New(), Attributes = new() { ["VisibilityTimeout"] = "50000" } }));
        await Assert.ThrowsAsync<QueueNameExistsException>(() =>
            sqs.CreateQueueAsync(new CreateQueueRequest { QueueName = url.Split('/')[^1], Attributes = new() { ["MaximumMessageSize"] = "2048" } }));
        await sqs.DeleteQueueAsync(url);
    });
}
