using Nimbus.Queues;
using Nimbus.Security;

namespace Nimbus.Tests.Queues;

/// <summary>
/// The queue policy evaluation of the platform's own deliveries (pure logic): S3 as a service principal with the
/// bucket as aws:SourceArn, and a function's execution role sending to its dead-letter queue or destination.
/// </summary>
public sealed class QueuePolicyTests
{
    private const string Account = "000000000000";
    private const string Queue = "arn:aws:sqs:us-east-1:000000000000:q";
    private const string RoleArn = "arn:aws:iam::000000000000:role/worker";

    private static readonly AuthorizationContext FromPhotos = new() { SourceArn = "arn:aws:s3:::photos", SourceAccount = Account, AccountId = Account };

    private const string AllowS3ForPhotos = """
        {"Effect":"Allow","Principal":{"Service":"s3.amazonaws.com"},"Action":"sqs:SendMessage","Resource":"arn:aws:sqs:*:*:q",
         "Condition":{"ArnLike":{"aws:SourceArn":"arn:aws:s3:::photos"}}}
        """;

    [Theory]
    [InlineData(AllowS3ForPhotos, "arn:aws:s3:::photos", "Allow")]
    [InlineData(AllowS3ForPhotos, "arn:aws:s3:::other", null)]
    [InlineData("""{"Effect":"Allow","Principal":"*","Action":"sqs:*","Resource":"*"}""", "arn:aws:s3:::photos", "Allow")]
    [InlineData("""{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sqs:SendMessage","Resource":"*"}""", "arn:aws:s3:::photos", null)]
    [InlineData("""{"Effect":"Allow","Principal":{"AWS":"000000000000"},"Action":"sqs:SendMessage","Resource":"*"}""", "arn:aws:s3:::photos", null)]
    [InlineData(AllowS3ForPhotos + """,{"Effect":"Deny","Principal":{"Service":["s3.amazonaws.com"]},"Action":"sqs:SendMessage","Resource":"*"}""", "arn:aws:s3:::photos", "Deny")]
    [InlineData(AllowS3ForPhotos + """,{"Effect":"Deny","Principal":"*","Action":"sqs:SendMessage","Resource":"*","Condition":{"StringNotEquals":{"aws:SourceAccount":"000000000000"}}}""", "arn:aws:s3:::photos", "Allow")]
    public void S3_may_send_only_when_the_policy_allows_its_service_principal_for_the_bucket_and_nothing_denies(string statements, string bucketArn, string? expected)
    {
        var policy = Parse(statements);
        var context = new AuthorizationContext { SourceArn = bucketArn, SourceAccount = Account, AccountId = Account };
        Assert.Equal(expected, QueuePolicy.EvaluateForService(policy, "s3.amazonaws.com", QueuePolicy.SendMessage, Queue, context)?.ToString());
    }

    [Fact]
    public void A_queue_without_a_policy_takes_S3_deliveries_and_one_that_does_not_allow_S3_refuses_them()
    {
        var options = new NimbusOptions();
        Assert.True(Nimbus.Events.QueueNotificationTarget.S3MaySend(null, Queue, "arn:aws:s3:::photos", options));
        Assert.True(Nimbus.Events.QueueNotificationTarget.S3MaySend(Parse(AllowS3ForPhotos), Queue, "arn:aws:s3:::photos", options));
        Assert.False(Nimbus.Events.QueueNotificationTarget.S3MaySend(Parse(AllowS3ForPhotos), Queue, "arn:aws:s3:::other", options));
    }

    [Theory]
    [InlineData("""{"Effect":"Deny","Principal":{"AWS":"arn:aws:iam::000000000000:role/worker"},"Action":"sqs:SendMessage","Resource":"*"}""", "Deny")]
    [InlineData("""{"Effect":"Deny","Principal":{"AWS":"000000000000"},"Action":"sqs:*","Resource":"*"}""", "Deny")]
    [InlineData("""{"Effect":"Deny","Principal":{"AWS":"arn:aws:iam::000000000000:role/other"},"Action":"sqs:SendMessage","Resource":"*"}""", null)]
    [InlineData("""{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::000000000000:role/worker"},"Action":"sqs:SendMessage","Resource":"*"}""", "Allow")]
    [InlineData("""{"Effect":"Deny","Principal":{"Service":"s3.amazonaws.com"},"Action":"sqs:SendMessage","Resource":"*"}""", null)]
    public void A_functions_execution_role_is_matched_by_its_ARN_and_by_the_account_in_a_Deny(string statement, string? expected)
    {
        var role = new Principal(PrincipalKind.Role, "worker", RoleArn, "");
        Assert.Equal(expected, QueuePolicy.Evaluate(Parse(statement), role, QueuePolicy.SendMessage, Queue, FromPhotos, Account)?.ToString());
    }

    private static PolicyDocument Parse(string statements) =>
        PolicyDocument.TryParse($$"""{"Version":"2012-10-17","Statement":[{{statements}}]}""", resourcePolicy: true, out var error) ?? throw new InvalidOperationException(error);
}
