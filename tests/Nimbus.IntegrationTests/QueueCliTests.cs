namespace Nimbus.IntegrationTests;

/// <summary>
/// The SQS-compatible queues through both AWS CLIs: v1 speaks the JSON 1.0 protocol (X-Amz-Target: AmazonSQS.*),
/// Debian's v2 the query protocol (Action=...&amp;Version=2012-11-05, XML answers).
/// </summary>
public sealed class QueueCliTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    [Theory]
    [InlineData(AwsCli.V1)]
    [InlineData(AwsCli.V2)]
    public Task Cli_runs_the_whole_queue_lifecycle(string version) => fixture.RunAsync(async scope =>
    {
        var cli = scope.Cli(version);
        var name = QueueNames.New();
        var url = (await cli.RunAsync(["sqs", "create-queue", "--queue-name", name, "--attributes", "VisibilityTimeout=60"])).Json().Str("QueueUrl");
        Assert.Equal($"{scope.Server.Endpoint}/{Aws.AccountId}/{name}", url);
        Assert.Equal(url, (await cli.RunAsync(["sqs", "get-queue-url", "--queue-name", name])).Json().Str("QueueUrl"));
        Assert.Contains(url, (await cli.RunAsync(["sqs", "list-queues", "--queue-name-prefix", name])).Json().Array("QueueUrls").Select(u => u.GetString()));

        var sent = (await cli.RunAsync(["sqs", "send-message", "--queue-url", url, "--message-body", "hello",
            "--message-attributes", """{"color":{"DataType":"String","StringValue":"blue"},"size":{"DataType":"Number","StringValue":"42"}}"""])).Json();
        Assert.Equal("5d41402abc4b2a76b9719d911017c592", sent.Str("MD5OfMessageBody"));
        Assert.True(sent.Has("MD5OfMessageAttributes"));
        var batch = (await cli.RunAsync(["sqs", "send-message-batch", "--queue-url", url, "--entries",
            """[{"Id":"a","MessageBody":"one"},{"Id":"b","MessageBody":"twö ✓","DelaySeconds":0}]"""])).Json();
        Assert.Equal(["a", "b"], batch.Array("Successful").Select(e => e.Str("Id")).Order());

        var attributes = (await cli.RunAsync(["sqs", "get-queue-attributes", "--queue-url", url, "--attribute-names", "All"])).Json().At("Attributes");
        Assert.Equal("3", attributes.Str("ApproximateNumberOfMessages"));
        Assert.Equal("60", attributes.Str("VisibilityTimeout"));
        Assert.Equal($"arn:aws:sqs:{Aws.Region}:{Aws.AccountId}:{name}", attributes.Str("QueueArn"));

        var received = (await cli.RunAsync(["sqs", "receive-message", "--queue-url", url, "--max-number-of-messages", "10",
            "--attribute-names", "All", "--message-attribute-names", "All", "--wait-time-seconds", "1"])).Json().Array("Messages");
        Assert.Equal(["hello", "one", "twö ✓"], received.Select(m => m.Str("Body")).Order(StringComparer.Ordinal));
        var hello = received.Single(m => m.Str("Body") == "hello");
        Assert.Equal("blue", hello.Str("MessageAttributes.color.StringValue"));
        Assert.Equal("Number", hello.Str("MessageAttributes.size.DataType"));
        Assert.Equal(sent.Str("MD5OfMessageAttributes"), hello.Str("MD5OfMessageAttributes"));
        Assert.Equal("1", hello.Str("Attributes.ApproximateReceiveCount"));
        Assert.True(hello.Has("Attributes.SentTimestamp"));

        (await cli.RunAsync(["sqs", "change-message-visibility", "--queue-url", url, "--receipt-handle", hello.Str("ReceiptHandle"), "--visibility-timeout", "0"])).ShouldSucceed();
        var again = (await cli.RunAsync(["sqs", "receive-message", "--queue-url", url, "--attribute-names", "ApproximateReceiveCount"])).Json().Array("Messages").Single();
        Assert.Equal("hello", again.Str("Body"));
        Assert.Equal("2", again.Str("Attributes.ApproximateReceiveCount"));

        (await cli.RunAsync(["sqs", "delete-message", "--queue-url", url, "--receipt-handle", again.Str("ReceiptHandle")])).ShouldSucceed();
        var others = received.Where(m => m.Str("Body") != "hello").ToList();
        var deleted = (await cli.RunAsync(["sqs", "delete-message-batch", "--queue-url", url, "--entries",
            $$"""[{"Id":"x","ReceiptHandle":"{{others[0].Str("ReceiptHandle")}}"},{"Id":"y","ReceiptHandle":"{{others[1].Str("ReceiptHandle")}}"}]"""])).Json();
        Assert.Equal(2, deleted.Array("Successful").Count);
        (await cli.RunAsync(["sqs", "set-queue-attributes", "--queue-url", url, "--attributes", "DelaySeconds=5"])).ShouldSucceed();
        var changed = (await cli.RunAsync(["sqs", "get-queue-attributes", "--queue-url", url, "--attribute-names", "All"])).Json().At("Attributes");
        Assert.Equal("5", changed.Str("DelaySeconds"));
        Assert.Equal("0", changed.Str("ApproximateNumberOfMessages"));
        Assert.Equal("0", changed.Str("ApproximateNumberOfMessagesNotVisible"));

        (await cli.RunAsync(["sqs", "delete-queue", "--queue-url", url])).ShouldSucceed();
        (await cli.RunAsync(["sqs", "get-queue-url", "--queue-name", name])).ShouldFailWith("AWS.SimpleQueueService.NonExistentQueue");
        (await cli.RunAsync(["sqs", "send-message", "--queue-url", url, "--message-body", "x"])).ShouldFailWith("AWS.SimpleQueueService.NonExistentQueue");
    });

    /// <summary>The query protocol's XML errors (the JSON protocol's are covered through AWSSDK.SQS in QueueSdkTests).</summary>
    [Fact]
    public Task Cli_v2_gets_sqs_errors_in_the_query_protocol() => fixture.RunAsync(async scope =>
    {
        var cli = scope.Cli(AwsCli.V2);
        (await cli.RunAsync(["sqs", "create-queue", "--queue-name", "bad name!"])).ShouldFailWith("InvalidParameterValue");
        var name = QueueNames.New();
        var url = (await cli.RunAsync(["sqs", "create-queue", "--queue-name", name, "--attributes", "VisibilityTimeout=10"])).Json().Str("QueueUrl");
        (await cli.RunAsync(["sqs", "create-queue", "--queue-name", name, "--attributes", "VisibilityTimeout=11"])).ShouldFailWith("QueueAlreadyExists");
        (await cli.RunAsync(["sqs", "get-queue-attributes", "--queue-url", url, "--attribute-names", "Bogus"])).ShouldFailWith("InvalidAttributeName");
        (await cli.RunAsync(["sqs", "delete-message", "--queue-url", url, "--receipt-handle", "not-a-handle!"])).ShouldFailWith("ReceiptHandleIsInvalid");
        var entries = string.Join(',', Enumerable.Range(0, 11).Select(i => $$"""{"Id":"e{{i}}","MessageBody":"m"}"""));
        (await cli.RunAsync(["sqs", "send-message-batch", "--queue-url", url, "--entries", $"[{entries}]"]))
            .ShouldFailWith("AWS.SimpleQueueService.TooManyEntriesInBatchRequest");
        (await cli.RunAsync(["sqs", "purge-queue", "--queue-url", url])).ShouldSucceed();
        (await cli.RunAsync(["sqs", "purge-queue", "--queue-url", url])).ShouldFailWith("AWS.SimpleQueueService.PurgeQueueInProgress");
    });
}

/// <summary>Queue names no other test uses.</summary>
internal static class QueueNames
{
    public static string New(string suffix = "") => $"q-{Guid.NewGuid():N}"[..22] + suffix;
}
