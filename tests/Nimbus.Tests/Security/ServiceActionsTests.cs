using System.Text.Json;
using Nimbus.Buckets;
using Nimbus.Logs;
using Nimbus.Queues;
using Nimbus.Security;

namespace Nimbus.Tests.Security;

/// <summary>The action tables of the non-Lambda services name what AWS's policies are written against.</summary>
public sealed class ServiceActionsTests
{
    [Theory]
    [InlineData("SendMessageBatch", "sqs:SendMessage")]
    [InlineData("DeleteMessageBatch", "sqs:DeleteMessage")]
    [InlineData("ChangeMessageVisibilityBatch", "sqs:ChangeMessageVisibility")]
    [InlineData("ReceiveMessage", "sqs:ReceiveMessage")]
    [InlineData("ListQueues", "sqs:ListQueues")]
    public void SQS_batch_operations_need_their_single_action(string operation, string action) =>
        Assert.Equal(action, SqsActions.ActionOf(operation));

    [Theory]
    [InlineData("/src/a%20b.txt", "arn:aws:s3:::src/a b.txt")]
    [InlineData("src/dir/key?versionId=3", "arn:aws:s3:::src/dir/key")]
    [InlineData("src", null)]
    [InlineData("src/", null)]
    public void A_copy_source_names_the_object_read(string header, string? arn) =>
        Assert.Equal(arn, S3Actions.CopySourceArn(header));

    [Fact]
    public void Logs_resources_are_the_groups_ARN_with_a_star_or_the_streams_ARN()
    {
        using var body = JsonDocument.Parse("""{"logGroupIdentifier":"arn:aws:logs:us-east-1:000000000000:log-group:/aws/lambda/f:*","logStreamName":"s/1"}""");
        const string group = "arn:aws:logs:us-east-1:000000000000:log-group:/aws/lambda/f";
        Assert.Equal(group + ":*", LogsActions.ResourceArn(LogsActions.Of("FilterLogEvents").Resource, body.RootElement, "us-east-1", "000000000000"));
        Assert.Equal(group + ":log-stream:s/1", LogsActions.ResourceArn(LogsActions.Of("PutLogEvents").Resource, body.RootElement, "us-east-1", "000000000000"));
        Assert.Equal("arn:aws:logs:us-east-1:000000000000:log-group:*", LogsActions.ResourceArn(LogsActions.Of("DescribeLogGroups").Resource, body.RootElement, "us-east-1", "000000000000"));

        // What AWS's managed Lambda policies grant on a function's group covers its streams.
        Assert.True(Wildcard.Matches(group + ":*", group + ":log-stream:s/1", ignoreCase: false));
    }
}
