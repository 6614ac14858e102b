using System.Text.Json;

namespace Nimbus.IntegrationTests;

/// <summary>
/// Issue 10's authorization remainders on a server of its own, through real clients: iam:PassRole when a function or a
/// schedule names a role, Condition blocks in identity policies, SQS queue policies, and event source mapping pollers that stop
/// when the function's role loses its SQS permissions and resume when it gets them back.
/// </summary>
public sealed partial class AuthConditionTests(AuthConditionTests.PollerServerFixture fixture) : IClassFixture<AuthConditionTests.PollerServerFixture>
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);

    [Fact]
    public Task CreateFunction_and_UpdateFunctionConfiguration_need_iam_PassRole_on_the_role() => fixture.RunAsync(async scope =>
    {
        var allowedRole = $"arn:aws:iam::{Aws.AccountId}:role/pass-ok-{Guid.NewGuid():N}"[..60];
        var otherRole = $"arn:aws:iam::{Aws.AccountId}:role/other-{Guid.NewGuid():N}"[..58];
        var user = await AuthClients.CreateUserAsync(scope.Server, $$$$"""
            {"Version":"2012-10-17","Statement":[
              {"Effect":"Allow","Action":["lambda:CreateFunction","lambda:UpdateFunctionConfiguration","lambda:GetFunctionConfiguration"],"Resource":"*"},
              {"Effect":"Allow","Action":"iam:PassRole","Resource":"{{{{allowedRole}}}}","Condition":{"StringEquals":{"iam:PassedToService":"lambda.amazonaws.com"}}}]}
            """);
        var cli = new AwsCli(AwsCli.V2, scope.Server.Endpoint, scope.ScratchDirectory, user.AccessKeyId, user.SecretAccessKey);
        var zip = FunctionZips.Build(FunctionZips.NodeCjs);
        var function = scope.NewFunctionName();

        var denied = (await cli.CreateFunctionAsync(function, zip, "nodejs20.x", "index.handler", "--role", otherRole)).ShouldFailWith("AccessDeniedException");
        Assert.Equal($"User: arn:aws:iam::{Aws.AccountId}:user/{user.Name} is not authorized to perform: iam:PassRole on resource: {otherRole} because no identity-based policy allows the iam:PassRole action", denied);
        (await scope.Cli(AwsCli.V1).LambdaAsync("get-function", "--function-name", function)).ShouldFailWith("ResourceNotFoundException");

        (await cli.CreateFunctionAsync(function, zip, "nodejs20.x", "index.handler", "--role", allowedRole)).ShouldSucceed();
        (await cli.LambdaAsync("update-function-configuration", "--function-name", function, "--role", otherRole)).ShouldFailWith("AccessDeniedException");
        (await cli.LambdaAsync("update-function-configuration", "--function-name", function, "--timeout", "9")).ShouldSucceed();
        var configuration = (await cli.LambdaAsync("get-function-configuration", "--function-name", function)).Json();
        Assert.Equal(allowedRole, configuration.GetProperty("Role").GetString());
        Assert.Equal(9, configuration.GetProperty("Timeout").GetInt32());
    });

    [Fact]
    public Task CreateSchedule_and_UpdateSchedule_need_iam_PassRole_on_the_targets_role_for_the_Scheduler() => fixture.RunAsync(async scope =>
    {
        var allowedRole = $"arn:aws:iam::{Aws.AccountId}:role/sched-ok-{Guid.NewGuid():N}"[..60];
        var lambdaOnlyRole = $"arn:aws:iam::{Aws.AccountId}:role/lambda-only-{Guid.NewGuid():N}"[..60];
        var user = await AuthClients.CreateUserAsync(scope.Server, $$$$"""
            {"Version":"2012-10-17","Statement":[
              {"Effect":"Allow","Action":["scheduler:CreateSchedule","scheduler:UpdateSchedule","scheduler:GetSchedule"],"Resource":"*"},
              {"Effect":"Allow","Action":"iam:PassRole","Resource":"{{{{allowedRole}}}}","Condition":{"StringEquals":{"iam:PassedToService":"scheduler.amazonaws.com"}}},
              {"Effect":"Allow","Action":"iam:PassRole","Resource":"{{{{lambdaOnlyRole}}}}","Condition":{"StringEquals":{"iam:PassedToService":"lambda.amazonaws.com"}}}]}
            """);
        var cli = new AwsCli(AwsCli.V2, scope.Server.Endpoint, scope.ScratchDirectory, user.AccessKeyId, user.SecretAccessKey);
        var name = $"pass-{Guid.NewGuid():N}"[..20];
        string[] Put(string operation, string expression, string role) =>
            ["scheduler", operation, "--name", name, "--schedule-expression", expression, "--flexible-time-window", "Mode=OFF",
             "--target", JsonSerializer.Serialize(new { Arn = Aws.FunctionArn("anything"), RoleArn = role })];

        var denied = (await cli.RunAsync(Put("create-schedule", "rate(1 hour)", lambdaOnlyRole))).ShouldFailWith("AccessDeniedException");
        Assert.Equal($"User: arn:aws:iam::{Aws.AccountId}:user/{user.Name} is not authorized to perform: iam:PassRole on resource: {lambdaOnlyRole} because no identity-based policy allows the iam:PassRole action", denied);
        (await cli.RunAsync(["scheduler", "get-schedule", "--name", name])).ShouldFailWith("ResourceNotFoundException");

        (await cli.RunAsync(Put("create-schedule", "rate(1 hour)", allowedRole))).ShouldSucceed();
        (await cli.RunAsync(Put("update-schedule", "rate(2 hours)", lambdaOnlyRole))).ShouldFailWith("AccessDeniedException");
        var kept = (await cli.RunAsync(["scheduler", "get-schedule", "--name", name])).Json();
        Assert.Equal(allowedRole, kept.GetProperty("Target").GetProperty("RoleArn").GetString());
        Assert.Equal("rate(1 hour)", kept.GetProperty("ScheduleExpression").GetString());

        (await cli.RunAsync(Put("update-schedule", "rate(2 hours)", allowedRole))).ShouldSucceed();
        Assert.Equal("rate(2 hours)", (await cli.RunAsync(["scheduler", "get-schedule", "--name", name])).Json().GetProperty("ScheduleExpression").GetString());
    });

    [Fact]
    public Task Identity_policy_conditions_are_evaluated_with_the_requests_context() => fixture.RunAsync(async scope =>
    {
        var root = scope.Cli(AwsCli.V1);
        var queue = $"cond-{Guid.NewGuid():N}"[..20];
        var queueUrl = (await root.RunAsync(["sqs", "create-queue", "--queue-name", queue])).Json().GetProperty("QueueUrl").GetString()!;
        var arn = $"arn:aws:sqs:{Aws.Region}:{Aws.AccountId}:{queue}";

        // Each statement opens one action under one operator family; the comment says whether it holds here.
        var user = await AuthClients.CreateUserAsync(scope.Server, $$$$"""
            {"Version":"2012-10-17","Statement":[
              {"Effect":"Allow","Action":"sqs:SendMessage","Resource":"{{{{arn}}}}","Condition":{"IpAddress":{"aws:SourceIp":["127.0.0.0/8","::1"]}}},
              {"Effect":"Allow","Action":"sqs:GetQueueAttributes","Resource":"{{{{arn}}}}","Condition":{"NotIpAddress":{"aws:SourceIp":["127.0.0.0/8","::1"]}}},
              {"Effect":"Allow","Action":"sqs:ReceiveMessage","Resource":"{{{{arn}}}}","Condition":{"Bool":{"aws:SecureTransport":"true"}}},
              {"Effect":"Allow","Action":"sqs:GetQueueUrl","Resource":"{{{{arn}}}}","Condition":{"DateGreaterThan":{"aws:CurrentTime":"2020-01-01T00:00:00Z"}}},
              {"Effect":"Allow","Action":"sqs:ListQueueTags","Resource":"{{{{arn}}}}","Condition":{"DateLessThan":{"aws:CurrentTime":"2020-01-01T00:00:00Z"}}},
              {"Effect":"Allow","Action":"sqs:TagQueue","Resource":"{{{{arn}}}}","Condition":{"StringLike":{"aws:username":"u-*"},"StringEquals":{"aws:RequestedRegion":"{{{{Aws.Region}}}}"}}},
              {"Effect":"Allow","Action":"sqs:UntagQueue","Resource":"{{{{arn}}}}","Condition":{"StringEquals":{"aws:username":"someone-else"}}},
              {"Effect":"Allow","Action":"sqs:ListQueues","Resource":"*","Condition":{"NumericGreaterThan":{"aws:EpochTime":"1000"},"ArnLike":{"aws:PrincipalArn":"arn:aws:iam::{{{{Aws.AccountId}}}}:user/u-*"}}},
              {"Effect":"Allow","Action":"sqs:ChangeMessageVisibility","Resource":"{{{{arn}}}}","Condition":{"StringEquals":{"aws:SourceVpc":"vpc-1"}}},
              {"Effect":"Allow","Action":"sqs:PurgeQueue","Resource":"{{{{arn}}}}"},
              {"Effect":"Deny","Action":"sqs:PurgeQueue","Resource":"{{{{arn}}}}","Condition":{"Null":{"aws:SourceArn":"true"}}}]}
            """);
        var output = await AuthClients.Boto3Async($$"""
            import boto3, os
            from botocore.exceptions import ClientError
            sqs = boto3.client("sqs", endpoint_url=os.environ["NIMBUS_ENDPOINT"])
            url = "{{queueUrl}}"
            def attempt(name, call):
                try:
                    call()
                    print(name, "ok")
                except ClientError as e:
                    print(name, e.response["Error"]["Code"])
            attempt("send", lambda: sqs.send_message(QueueUrl=url, MessageBody="x"))
            attempt("attributes", lambda: sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"]))
            attempt("receive", lambda: sqs.receive_message(QueueUrl=url))
            attempt("url", lambda: sqs.get_queue_url(QueueName="{{queue}}"))
            attempt("listtags", lambda: sqs.list_queue_tags(QueueUrl=url))
            attempt("tag", lambda: sqs.tag_queue(QueueUrl=url, Tags={"a": "b"}))
            attempt("untag", lambda: sqs.untag_queue(QueueUrl=url, TagKeys=["a"]))
            attempt("list", lambda: sqs.list_queues())
            attempt("visibility", lambda: sqs.change_message_visibility(QueueUrl=url, ReceiptHandle="x", VisibilityTimeout=1))
            attempt("purge", lambda: sqs.purge_queue(QueueUrl=url))
            """, scope.Server.Endpoint, user.AccessKeyId, user.SecretAccessKey);
        var outcomes = output.Split('\n').Select(l => l.Split(' ')).ToDictionary(p => p[0], p => p[1]);
        Assert.Equal("ok", outcomes["send"]);
        Assert.Equal("AccessDenied", outcomes["attributes"]);
        Assert.Equal("AccessDenied", outcomes["receive"]);
        Assert.Equal("ok", outcomes["url"]);
        Assert.Equal("AccessDenied", outcomes["listtags"]);
        Assert.Equal("ok", outcomes["tag"]);
        Assert.Equal("AccessDenied", outcomes["untag"]);
        Assert.Equal("ok", outcomes["list"]);
        Assert.Equal("AccessDenied", outcomes["visibility"]);
        Assert.Equal("AccessDenied", outcomes["purge"]);

        // A condition operator Nimbus does not know is refused when the policy is put, not ignored.
        using var put = await scope.Server.Http.PutAsync($"/nimbus/admin/users/{user.Name}/policies/bad", new StringContent(
            """{"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringSoundsLike":{"aws:username":"x"}}}}""", System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(400, (int)put.StatusCode);
        Assert.Contains("StringSoundsLike", await put.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        // So is a policy language Version IAM does not know; 2008-10-17 (the older language) is accepted.
        foreach (var (version, status) in new[] { ("\"2012-10-18\"", 400), ("\"\"", 400), ("2012", 400), ("\"2008-10-17\"", 204) })
        {
            using var versioned = await scope.Server.Http.PutAsync($"/nimbus/admin/users/{user.Name}/policies/versioned", new StringContent(
                $$$"""{"Version":{{{version}}},"Statement":{"Effect":"Allow","Action":"sqs:ListQueues","Resource":"*"}}""", System.Text.Encoding.UTF8, "application/json"));
            var body = await versioned.Content.ReadAsStringAsync();
            Assert.True((int)versioned.StatusCode == status, $"Version {version}: {(int)versioned.StatusCode} {body}");
            if (status == 400)
            {
                Assert.Equal("MalformedPolicyDocument", versioned.Headers.GetValues("x-amzn-ErrorType").Single());
                Assert.Contains("The policy must contain a valid version string", body, StringComparison.Ordinal);
            }
        }
    });

    [Fact]
    public Task A_queue_policy_lets_a_user_without_identity_permission_send_and_its_Deny_wins() => fixture.RunAsync(async scope =>
    {
        var root = scope.Cli(AwsCli.V1);
        var queue = $"qpol-{Guid.NewGuid():N}"[..20];
        var queueUrl = (await root.RunAsync(["sqs", "create-queue", "--queue-name", queue])).Json().GetProperty("QueueUrl").GetString()!;
        var arn = $"arn:aws:sqs:{Aws.Region}:{Aws.AccountId}:{queue}";
        var sender = await AuthClients.CreateUserAsync(scope.Server, """{"Statement":{"Effect":"Allow","Action":"lambda:ListFunctions","Resource":"*"}}""");
        var everything = await AuthClients.CreateUserAsync(scope.Server, """{"Statement":{"Effect":"Allow","Action":"sqs:*","Resource":"*"}}""");
        var senderCli = new AwsCli(AwsCli.V2, scope.Server.Endpoint, scope.ScratchDirectory, sender.AccessKeyId, sender.SecretAccessKey);
        var everythingCli = new AwsCli(AwsCli.V1, scope.Server.Endpoint, scope.ScratchDirectory, everything.AccessKeyId, everything.SecretAccessKey);
        (await senderCli.RunAsync(["sqs", "send-message", "--queue-url", queueUrl, "--message-body", "before"])).ShouldFailWith("AccessDenied");

        var policy = $$"""
            {"Version":"2012-10-17","Statement":[
              {"Sid":"send","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::{{Aws.AccountId}}:user/{{sender.Name}}"},"Action":"SQS:SendMessage","Resource":"{{arn}}"},
              {"Sid":"nopurge","Effect":"Deny","Principal":"*","Action":["sqs:PurgeQueue","sqs:DeleteQueue"],"Resource":"{{arn}}"}]}
            """;
        (await root.RunAsync(["sqs", "set-queue-attributes", "--queue-url", queueUrl, "--attributes", JsonSerializer.Serialize(new Dictionary<string, string> { ["Policy"] = policy })])).ShouldSucceed();

        (await senderCli.RunAsync(["sqs", "send-message", "--queue-url", queueUrl, "--message-body", "granted"])).ShouldSucceed();
        (await senderCli.RunAsync(["sqs", "receive-message", "--queue-url", queueUrl])).ShouldFailWith("AccessDenied");
        var denied = (await everythingCli.RunAsync(["sqs", "purge-queue", "--queue-url", queueUrl])).ShouldFailWith("AccessDenied");
        Assert.Equal($"User: arn:aws:iam::{Aws.AccountId}:user/{everything.Name} is not authorized to perform: sqs:PurgeQueue on resource: {arn} with an explicit deny in a resource-based policy", denied);
        (await everythingCli.RunAsync(["sqs", "delete-queue", "--queue-url", queueUrl])).ShouldFailWith("AccessDenied");
        var received = (await everythingCli.RunAsync(["sqs", "receive-message", "--queue-url", queueUrl, "--wait-time-seconds", "1"])).Json();
        Assert.Equal("granted", received.GetProperty("Messages")[0].GetProperty("Body").GetString());

        // A policy that is not a valid resource policy is refused, and the stored one stays.
        var bad = JsonSerializer.Serialize(new Dictionary<string, string> { ["Policy"] = """{"Statement":{"Effect":"Allow","Action":"sqs:*","Resource":"*"}}""" });
        (await root.RunAsync(["sqs", "set-queue-attributes", "--queue-url", queueUrl, "--attributes", bad])).ShouldFailWith("InvalidAttributeValue");

        // So is a policy language Version SQS does not know (through the CLI v2's query protocol).
        var unknownVersion = JsonSerializer.Serialize(new Dictionary<string, string> { ["Policy"] = policy.Replace("2012-10-17", "2012-10-18", StringComparison.Ordinal) });
        Assert.Contains("The policy must contain a valid version string", (await scope.Cli(AwsCli.V2).RunAsync(
            ["sqs", "set-queue-attributes", "--queue-url", queueUrl, "--attributes", unknownVersion])).ShouldFailWith("InvalidAttributeValue"), StringComparison.Ordinal);
        (await senderCli.RunAsync(["sqs", "send-message", "--queue-url", queueUrl, "--message-body", "still"])).ShouldSucceed();
    });

    [Fact]
    public Task A_queues_policy_decides_whether_S3_may_deliver_a_buckets_notifications_to_it() => fixture.RunAsync(async scope =>
    {
        var root = scope.Cli(AwsCli.V2);
        var bucket = BucketCliTests.NewBucketName();
        var bucketArn = $"arn:aws:s3:::{bucket}";
        (await root.RunAsync(["s3", "mb", $"s3://{bucket}"])).ShouldSucceed();
        var guarded = $"s3pol-{Guid.NewGuid():N}"[..20];
        var open = $"s3open-{Guid.NewGuid():N}"[..20];
        var guardedUrl = (await root.RunAsync(["sqs", "create-queue", "--queue-name", guarded])).Json().GetProperty("QueueUrl").GetString()!;
        var openUrl = (await root.RunAsync(["sqs", "create-queue", "--queue-name", open])).Json().GetProperty("QueueUrl").GetString()!;
        var guardedArn = $"arn:aws:sqs:{Aws.Region}:{Aws.AccountId}:{guarded}";
        string AllowS3For(string sourceArn, string extra = "") => $$$$"""
            {"Version":"2012-10-17","Statement":[
              {"Effect":"Allow","Principal":{"Service":"s3.amazonaws.com"},"Action":"sqs:SendMessage","Resource":"{{{{guardedArn}}}}",
               "Condition":{"ArnEquals":{"aws:SourceArn":"{{{{sourceArn}}}}"},"StringEquals":{"aws:SourceAccount":"{{{{Aws.AccountId}}}}"}}}{{{{extra}}}}]}
            """;
        Task<CliResult> SetPolicyAsync(string policy) =>
            root.RunAsync(["sqs", "set-queue-attributes", "--queue-url", guardedUrl, "--attributes", JsonSerializer.Serialize(new Dictionary<string, string> { ["Policy"] = policy })]);
        var configuration = $$$$"""
            {"QueueConfigurations":[
              {"Id":"guarded","QueueArn":"{{{{guardedArn}}}}","Events":["s3:ObjectCreated:*"],"Filter":{"Key":{"FilterRules":[{"Name":"prefix","Value":"g/"}]}}},
              {"Id":"open","QueueArn":"arn:aws:sqs:{{{{Aws.Region}}}}:{{{{Aws.AccountId}}}}:{{{{open}}}}","Events":["s3:ObjectCreated:*"],"Filter":{"Key":{"FilterRules":[{"Name":"prefix","Value":"o/"}]}}}]}
            """;
        var file = Path.Combine(scope.ScratchDirectory, "n.txt");
        await File.WriteAllTextAsync(file, "n");

        // S3 validates its destinations: a queue whose policy lets S3 send only for another bucket is refused.
        (await SetPolicyAsync(AllowS3For("arn:aws:s3:::some-other-bucket"))).ShouldSucceed();
        var refused = (await root.RunAsync(["s3api", "put-bucket-notification-configuration", "--bucket", bucket, "--notification-configuration", configuration])).ShouldFailWith("InvalidArgument");
        Assert.Contains(guardedArn, refused, StringComparison.Ordinal);

        (await SetPolicyAsync(AllowS3For(bucketArn))).ShouldSucceed();
        (await root.RunAsync(["s3api", "put-bucket-notification-configuration", "--bucket", bucket, "--notification-configuration", configuration])).ShouldSucceed();
        (await root.RunAsync(["s3", "cp", file, $"s3://{bucket}/g/allowed.txt"])).ShouldSucceed();
        Assert.Equal("g/allowed.txt", await NextKeyAsync(root, guardedUrl));

        // A Deny for the service wins over the Allow: the notification is dropped. Notifications go out in order, so
        // once the later upload's reaches the open queue, the guarded one's has been decided.
        (await SetPolicyAsync(AllowS3For(bucketArn, $$""",{"Effect":"Deny","Principal":{"Service":"s3.amazonaws.com"},"Action":"sqs:*","Resource":"{{guardedArn}}"}"""))).ShouldSucceed();
        (await root.RunAsync(["s3", "cp", file, $"s3://{bucket}/g/denied.txt"])).ShouldSucceed();
        (await root.RunAsync(["s3", "cp", file, $"s3://{bucket}/o/after.txt"])).ShouldSucceed();
        Assert.Equal("o/after.txt", await NextKeyAsync(root, openUrl));
        var left = (await root.RunAsync(["sqs", "get-queue-attributes", "--queue-url", guardedUrl, "--attribute-names", "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])).Json();
        Assert.Equal("0", left.GetProperty("Attributes").GetProperty("ApproximateNumberOfMessages").GetString());
        Assert.Equal("0", left.GetProperty("Attributes").GetProperty("ApproximateNumberOfMessagesNotVisible").GetString());
    });

    [Fact]
    public Task A_pollers_mapping_stops_receiving_when_the_role_loses_its_SQS_permissions_and_resumes_when_they_return() => fixture.RunAsync(async scope =>
    {
        using var recorder = new EventRecorder();
        var aws = scope.Cli(AwsCli.V1);
        var queue = $"revoke-{Guid.NewGuid():N}"[..20];
        var queueUrl = (await aws.RunAsync(["sqs", "create-queue", "--queue-name", queue])).Json().GetProperty("QueueUrl").GetString()!;
        var queueArn = $"arn:aws:sqs:{Aws.Region}:{Aws.AccountId}:{queue}";
        var role = $"revoke-{Guid.NewGuid():N}"[..20];
        var poll = $$"""{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["sqs:ReceiveMessage","sqs:DeleteMessage","sqs:GetQueueAttributes"],"Resource":"{{queueArn}}"}]}""";
        var noPoll = $$"""{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["sqs:GetQueueAttributes"],"Resource":"{{queueArn}}"}]}""";
        await AuthClients.PutRolePolicyAsync(scope.Server, role, "poll", poll);
        var function = scope.NewFunctionName();
        (await aws.CreateFunctionAsync(function, FunctionZips.Build(FunctionZips.NodeRecorder), "nodejs20.x", "index.handler",
            "--environment", recorder.EnvironmentJson, "--role", $"arn:aws:iam::{Aws.AccountId}:role/{role}")).ShouldSucceed();
        var uuid = (await aws.LambdaAsync("create-event-source-mapping", "--function-name", function, "--event-source-arn", queueArn, "--batch-size", "1")).Json().GetProperty("UUID").GetString()!;

        (await aws.RunAsync(["sqs", "send-message", "--queue-url", queueUrl, "--message-body", "first"])).ShouldSucceed();
        await recorder.WaitForAsync("the first message runs the function", _ => Bodies(recorder, function).Contains("first"), Deadline);
        await WaitForResultAsync(aws, uuid, "OK");

        await AuthClients.PutRolePolicyAsync(scope.Server, role, "poll", noPoll);

        // This server's pollers check the role before every receive and after every long poll (PollerPermissionCache
        // 0): a message sent once the put returned is never received under the old decision.
        (await aws.RunAsync(["sqs", "send-message", "--queue-url", queueUrl, "--message-body", "second"])).ShouldSucceed();
        var problem = await WaitForResultAsync(aws, uuid, "PROBLEM");
        Assert.Contains("does not have permissions to call ReceiveMessage on SQS", problem, StringComparison.Ordinal);
        Assert.Equal("Enabled", (await aws.LambdaAsync("get-event-source-mapping", "--uuid", uuid)).Json().GetProperty("State").GetString());

        // The refused poller gave the message back unprocessed: visible on the queue, not in flight, never run.
        await WaitForVisibleAsync(aws, queueUrl, visible: 1);
        Assert.DoesNotContain("second", Bodies(recorder, function));

        await AuthClients.PutRolePolicyAsync(scope.Server, role, "poll", poll);
        await recorder.WaitForAsync("the second message runs once the role may poll again", _ => Bodies(recorder, function).Contains("second"), Deadline);
        await WaitForResultAsync(aws, uuid, "OK");
        (await aws.LambdaAsync("delete-event-source-mapping", "--uuid", uuid)).ShouldSucceed();
    });

    /// <summary>The server of these tests: its queue pollers keep no permission decision (PollerPermissionCache 0), so a revoked role shows at once.</summary>
    public sealed class PollerServerFixture() : ServerFixture("nimbus-it-auth-conditions", new Dictionary<string, string> { ["NIMBUS_POLLER_PERMISSION_CACHE"] = "00:00:00" });

    /// <summary>The object key of the next S3 event on the queue (deleted once read).</summary>
    private static async Task<string> NextKeyAsync(AwsCli aws, string queueUrl)
    {
        var deadline = DateTime.UtcNow + Deadline;
        while (true)
        {
            // An empty answer prints nothing (CLI v2).
            var answer = (await aws.RunAsync(["sqs", "receive-message", "--queue-url", queueUrl, "--wait-time-seconds", "5"])).ShouldSucceed();
            if (answer.Stdout.Trim().Length > 0 && answer.Json().TryGetProperty("Messages", out var messages) && messages.GetArrayLength() > 0)
            {
                var message = messages[0];
                (await aws.RunAsync(["sqs", "delete-message", "--queue-url", queueUrl, "--receipt-handle", message.GetProperty("ReceiptHandle").GetString()!])).ShouldSucceed();
                using var body = JsonDocument.Parse(message.GetProperty("Body").GetString()!);
                return body.RootElement.GetProperty("Records")[0].GetProperty("s3").GetProperty("object").GetProperty("key").GetString()!;
            }

            Assert.True(DateTime.UtcNow < deadline, $"No S3 event reached {queueUrl}.");
        }
    }

    private static List<string> Bodies(EventRecorder recorder, string function) =>
        [.. recorder.ReportsOf(function)
            .Where(r => r.GetProperty("event").TryGetProperty("Records", out _))
            .SelectMany(r => r.GetProperty("event").GetProperty("Records").EnumerateArray())
            .Select(r => r.GetProperty("body").GetString()!)];

    private static async Task WaitForVisibleAsync(AwsCli aws, string queueUrl, int visible)
    {
        var deadline = DateTime.UtcNow + Deadline;
        while (true)
        {
            var attributes = (await aws.RunAsync(["sqs", "get-queue-attributes", "--queue-url", queueUrl,
                "--attribute-names", "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])).Json().GetProperty("Attributes");
            var seen = (attributes.GetProperty("ApproximateNumberOfMessages").GetString(), attributes.GetProperty("ApproximateNumberOfMessagesNotVisible").GetString());
            if (seen == (visible.ToString(System.Globalization.CultureInfo.InvariantCulture), "0"))
            {
                return;
            }

            Assert.True(DateTime.UtcNow < deadline, $"{queueUrl}: {seen.Item1} visible and {seen.Item2} in flight; expected {visible} visible and none in flight.");
            await Task.Delay(250);
        }
    }

    private static async Task<string> WaitForResultAsync(AwsCli aws, string uuid, string prefix)
    {
        var deadline = DateTime.UtcNow + Deadline;
        while (true)
        {
            var mapping = (await aws.LambdaAsync("get-event-source-mapping", "--uuid", uuid)).Json();
            var result = mapping.TryGetProperty("LastProcessingResult", out var value) ? value.GetString() : null;
            if (result is not null && result.StartsWith(prefix, StringComparison.Ordinal))
            {
                return result;
            }

            Assert.True(DateTime.UtcNow < deadline, $"LastProcessingResult did not become {prefix}: {mapping}");
            await Task.Delay(500);
        }
    }
}
