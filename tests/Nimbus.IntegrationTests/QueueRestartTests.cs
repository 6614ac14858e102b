using Amazon.SQS.Model;

namespace Nimbus.IntegrationTests;

/// <summary>Queues and their messages are durable: a server killed with SIGKILL and started again on the same data keeps every message, its receive count and its visibility.</summary>
public sealed class QueueRestartTests
{
    [Fact]
    public async Task Messages_receive_counts_and_visibility_survive_kill_9_and_restart()
    {
        using var data = new TempDirectory("nimbus-it-queue-restart");
        NimbusServer? before = null;
        NimbusServer? after = null;
        try
        {
            await Failures.WithContextAsync(
                async () =>
                {
                    before = await NimbusServer.StartAsync(data.Path);
                    string url, fifoUrl, receivedId;
                    using (var sqs = QueueSdkTests.Client(before))
                    {
                        url = (await sqs.CreateQueueAsync(new CreateQueueRequest { QueueName = "survivor", Attributes = new() { ["VisibilityTimeout"] = "300" } })).QueueUrl;
                        fifoUrl = (await sqs.CreateQueueAsync(new CreateQueueRequest
                        {
                            QueueName = "survivor.fifo",
                            Attributes = new() { ["FifoQueue"] = "true", ["ContentBasedDeduplication"] = "true" },
                        })).QueueUrl;
                        await Task.WhenAll(Enumerable.Range(0, 50).Select(i => sqs.SendMessageAsync(new SendMessageRequest
                        {
                            QueueUrl = url,
                            MessageBody = $"m{i}",
                            MessageAttributes = new() { ["i"] = new() { DataType = "Number", StringValue = $"{i}" } },
                        })));
                        for (var i = 0; i < 3; i++)
                        {
                            await sqs.SendMessageAsync(new SendMessageRequest { QueueUrl = fifoUrl, MessageBody = $"f{i}", MessageGroupId = "g" });
                        }

                        // One message received twice (visibility 0 then 300 s): in flight with ApproximateReceiveCount 2 at the kill.
                        var first = Assert.Single((await sqs.ReceiveMessageAsync(new ReceiveMessageRequest { QueueUrl = url, VisibilityTimeout = 0 })).Messages);
                        var second = Assert.Single((await sqs.ReceiveMessageAsync(new ReceiveMessageRequest { QueueUrl = url })).Messages);
                        Assert.Equal(first.MessageId, second.MessageId);
                        receivedId = second.MessageId;
                    }

                    await before.DisposeAsync();
                    after = await NimbusServer.StartAsync(data.Path);
                    using var again = QueueSdkTests.Client(after);
                    var restartedUrl = (await again.GetQueueUrlAsync("survivor")).QueueUrl;
                    var attributes = (await again.GetQueueAttributesAsync(restartedUrl, ["All"])).Attributes;
                    Assert.Equal("49", attributes["ApproximateNumberOfMessages"]);
                    Assert.Equal("1", attributes["ApproximateNumberOfMessagesNotVisible"]);
                    Assert.Equal("300", attributes["VisibilityTimeout"]);

                    var bodies = new HashSet<string>();
                    while (true)
                    {
                        var batch = (await again.ReceiveMessageAsync(new ReceiveMessageRequest
                        {
                            QueueUrl = restartedUrl,
                            MaxNumberOfMessages = 10,
                            MessageAttributeNames = ["All"],
                            MessageSystemAttributeNames = ["ApproximateReceiveCount"],
                        })).Messages ?? [];
                        if (batch.Count == 0)
                        {
                            break;
                        }

                        foreach (var message in batch)
                        {
                            Assert.NotEqual(receivedId, message.MessageId);
                            Assert.Equal("1", message.Attributes["ApproximateReceiveCount"]);
                            Assert.Equal(message.Body[1..], message.MessageAttributes["i"].StringValue);
                            Assert.True(bodies.Add(message.Body), $"{message.Body} was handed out twice.");
                        }
                    }

                    Assert.Equal(49, bodies.Count);
                    var fifoRestarted = (await again.GetQueueUrlAsync("survivor.fifo")).QueueUrl;
                    var duplicate = await again.SendMessageAsync(new SendMessageRequest { QueueUrl = fifoRestarted, MessageBody = "f0", MessageGroupId = "g" });
                    var fifo = (await again.ReceiveMessageAsync(new ReceiveMessageRequest { QueueUrl = fifoRestarted, MaxNumberOfMessages = 10 })).Messages;
                    Assert.Equal(["f0", "f1", "f2"], fifo.Select(m => m.Body));
                    Assert.Equal(fifo[0].MessageId, duplicate.MessageId);
                },
                () => (after ?? before)?.DescribeOutput() ?? "(no server started)");
        }
        finally
        {
            if (after is not null)
            {
                await after.DisposeAsync();
            }

            if (before is not null)
            {
                await before.DisposeAsync();
            }
        }
    }
}
