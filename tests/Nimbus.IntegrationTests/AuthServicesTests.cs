using System.Text.Json;

namespace Nimbus.IntegrationTests;

/// <summary>
/// Authorization beyond Lambda, on the shared server, through real clients: identity policies bound what users may do
/// with queues, buckets, logs, metrics and schedules; a function's execution role bounds what its own credentials may
/// do inside the sandbox; bucket notifications need the function's resource policy, and event source mappings the
/// function's role.
/// </summary>
public sealed class AuthServicesTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);

    [Fact]
    public Task A_user_allowed_only_SendMessage_on_one_queue_can_send_there_and_nothing_else() => fixture.RunAsync(async scope =>
    {
        var root = scope.Cli(AwsCli.V1);
        var allowed = $"allowed-{Guid.NewGuid():N}"[..24];
        var other = $"other-{Guid.NewGuid():N}"[..24];
        var allowedUrl = (await root.RunAsync(["sqs", "create-queue", "--queue-name", allowed])).Json().GetProperty("QueueUrl").GetString()!;
        var otherUrl = (await root.RunAsync(["sqs", "create-queue", "--queue-name", other])).Json().GetProperty("QueueUrl").GetString()!;
        var user = await AuthClients.CreateUserAsync(scope.Server, $$"""
            {"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sqs:SendMessage","Resource":"arn:aws:sqs:{{Aws.Region}}:{{Aws.AccountId}}:{{allowed}}"}]}
            """);

        // CLI v1 speaks SQS's JSON protocol, Debian's CLI v2 the query protocol: both get AccessDenied.
        foreach (var version in new[] { AwsCli.V1, AwsCli.V2 })
        {
            var cli = new AwsCli(version, scope.Server.Endpoint, scope.ScratchDirectory, user.AccessKeyId, user.SecretAccessKey);
            (await cli.RunAsync(["sqs", "send-message", "--queue-url", allowedUrl, "--message-body", version])).ShouldSucceed();
            var denied = (await cli.RunAsync(["sqs", "send-message", "--queue-url", otherUrl, "--message-body", "no"])).ShouldFailWith("AccessDenied");
            Assert.Equal($"User: arn:aws:iam::{Aws.AccountId}:user/{user.Name} is not authorized to perform: sqs:SendMessage on resource: arn:aws:sqs:{Aws.Region}:{Aws.AccountId}:{other} because no identity-based policy allows the sqs:SendMessage action", denied);
            (await cli.RunAsync(["sqs", "receive-message", "--queue-url", allowedUrl])).ShouldFailWith("AccessDenied");
            (await cli.RunAsync(["sqs", "list-queues"])).ShouldFailWith("AccessDenied");
            (await cli.RunAsync(["sqs", "delete-queue", "--queue-url", allowedUrl])).ShouldFailWith("AccessDenied");
        }

        // Both messages arrived; nothing reached the other queue.
        var received = (await root.RunAsync(["sqs", "receive-message", "--queue-url", allowedUrl, "--max-number-of-messages", "10", "--wait-time-seconds", "1"])).Json();
        Assert.Equal(2, received.GetProperty("Messages").GetArrayLength());
        Assert.DoesNotContain("MessageId", (await root.RunAsync(["sqs", "receive-message", "--queue-url", otherUrl])).ShouldSucceed().Stdout, StringComparison.Ordinal);
    });

    [Fact]
    public Task A_user_allowed_only_GetObject_under_public_can_read_there_and_gets_403_elsewhere() => fixture.RunAsync(async scope =>
    {
        var root = scope.Cli(AwsCli.V2);
        var bucket = BucketCliTests.NewBucketName();
        var file = Path.Combine(scope.ScratchDirectory, "file.txt");
        await File.WriteAllTextAsync(file, "public data");
        (await root.RunAsync(["s3", "mb", $"s3://{bucket}"])).ShouldSucceed();
        (await root.RunAsync(["s3", "cp", file, $"s3://{bucket}/public/a.txt"])).ShouldSucceed();
        (await root.RunAsync(["s3", "cp", file, $"s3://{bucket}/private/b.txt"])).ShouldSucceed();
        var user = await AuthClients.CreateUserAsync(scope.Server, $$"""
            {"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::{{bucket}}/public/*"}]}
            """);
        var cli = new AwsCli(AwsCli.V2, scope.Server.Endpoint, scope.ScratchDirectory, user.AccessKeyId, user.SecretAccessKey);

        var downloaded = Path.Combine(scope.ScratchDirectory, "downloaded.txt");
        (await cli.RunAsync(["s3", "cp", $"s3://{bucket}/public/a.txt", downloaded])).ShouldSucceed();
        Assert.Equal("public data", await File.ReadAllTextAsync(downloaded));

        // s3 cp asks HeadObject first: a 403 without a body, as on S3.
        var privateCopy = await cli.RunAsync(["s3", "cp", $"s3://{bucket}/private/b.txt", Path.Combine(scope.ScratchDirectory, "b.txt")]);
        Assert.True(privateCopy.ExitCode != 0 && privateCopy.Stderr.Contains("An error occurred (403) when calling the HeadObject operation", StringComparison.Ordinal)
            && privateCopy.Stderr.TrimEnd().EndsWith("Forbidden", StringComparison.Ordinal), privateCopy.ToString());
        (await cli.RunAsync(["s3api", "get-object", "--bucket", bucket, "--key", "private/b.txt", Path.Combine(scope.ScratchDirectory, "b.txt")])).ShouldFailWith("AccessDenied");
        var upload = await cli.RunAsync(["s3", "cp", file, $"s3://{bucket}/public/new.txt"]);
        Assert.True(upload.ExitCode != 0 && upload.Stderr.Contains("An error occurred (AccessDenied) when calling the PutObject operation", StringComparison.Ordinal), upload.ToString());
        (await cli.RunAsync(["s3api", "list-objects-v2", "--bucket", bucket])).ShouldFailWith("AccessDenied");
        (await cli.RunAsync(["s3api", "list-buckets"])).ShouldFailWith("AccessDenied");
        (await cli.RunAsync(["s3api", "copy-object", "--bucket", bucket, "--key", "public/copy.txt", "--copy-source", $"{bucket}/public/a.txt"])).ShouldFailWith("AccessDenied");

        // DeleteObjects checks each key: refused entries come back as errors, and the object stays.
        var deleted = (await cli.RunAsync(["s3api", "delete-objects", "--bucket", bucket, "--delete", """{"Objects":[{"Key":"public/a.txt"}]}"""])).Json();
        Assert.Equal("AccessDenied", deleted.GetProperty("Errors")[0].GetProperty("Code").GetString());
        (await root.RunAsync(["s3api", "head-object", "--bucket", bucket, "--key", "public/a.txt"])).ShouldSucceed();
    });

    [Fact]
    public Task Logs_CloudWatch_and_Scheduler_refuse_what_a_users_policy_does_not_allow() => fixture.RunAsync(async scope =>
    {
        var user = await AuthClients.CreateUserAsync(scope.Server, """
            {"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["logs:DescribeLogGroups","cloudwatch:ListMetrics","scheduler:ListSchedules"],"Resource":"*"}]}
            """);
        foreach (var version in new[] { AwsCli.V1, AwsCli.V2 })
        {
            var cli = new AwsCli(version, scope.Server.Endpoint, scope.ScratchDirectory, user.AccessKeyId, user.SecretAccessKey);
            (await cli.RunAsync(["logs", "describe-log-groups"])).ShouldSucceed();
            var group = $"/test/{Guid.NewGuid():N}";
            var denied = (await cli.RunAsync(["logs", "create-log-group", "--log-group-name", group])).ShouldFailWith("AccessDeniedException");
            Assert.Contains($"logs:CreateLogGroup on resource: arn:aws:logs:{Aws.Region}:{Aws.AccountId}:log-group:{group}:*", denied, StringComparison.Ordinal);
            (await cli.RunAsync(["logs", "filter-log-events", "--log-group-name", "/aws/lambda/anything"])).ShouldFailWith("AccessDeniedException");

            (await cli.RunAsync(["cloudwatch", "list-metrics", "--namespace", "AWS/Lambda"])).ShouldSucceed();
            var metrics = (await cli.RunAsync(["cloudwatch", "get-metric-statistics", "--namespace", "AWS/Lambda", "--metric-name", "Invocations",
                "--statistics", "Sum", "--period", "60", "--start-time", "2026-01-01T00:00:00Z", "--end-time", "2026-01-01T01:00:00Z"])).ShouldFail();
            Assert.StartsWith("AccessDenied", metrics.Code, StringComparison.Ordinal);
            Assert.Contains("cloudwatch:GetMetricStatistics", metrics.Message, StringComparison.Ordinal);

            (await cli.RunAsync(["scheduler", "list-schedules"])).ShouldSucceed();
            (await cli.RunAsync(["scheduler", "get-schedule", "--name", "nightly"])).ShouldFailWith("AccessDeniedException");
            var create = (await cli.RunAsync(["scheduler", "create-schedule", "--name", "denied", "--schedule-expression", "rate(1 hour)", "--flexible-time-window", "Mode=OFF",
                "--target", $$"""{"Arn":"{{Aws.FunctionArn("f")}}","RoleArn":"arn:aws:iam::{{Aws.AccountId}}:role/scheduler"}"""])).ShouldFailWith("AccessDeniedException");
            Assert.Contains($"scheduler:CreateSchedule on resource: arn:aws:scheduler:{Aws.Region}:{Aws.AccountId}:schedule/default/denied", create, StringComparison.Ordinal);
        }
    });

    [Fact]
    public Task A_function_whose_role_lacks_PutObject_gets_AccessDenied_from_boto3_inside_the_function() => fixture.RunAsync(async scope =>
    {
        var root = scope.Cli(AwsCli.V1);
        var bucket = BucketCliTests.NewBucketName();
        var queueUrl = (await root.RunAsync(["sqs", "create-queue", "--queue-name", $"fn-{Guid.NewGuid():N}"[..20]])).Json().GetProperty("QueueUrl").GetString()!;
        var file = Path.Combine(scope.ScratchDirectory, "data.txt");
        await File.WriteAllTextAsync(file, "readable");
        (await root.RunAsync(["s3", "mb", $"s3://{bucket}"])).ShouldSucceed();
        (await root.RunAsync(["s3", "cp", file, $"s3://{bucket}/in/data.txt"])).ShouldSucceed();
        var role = $"reader-{Guid.NewGuid():N}"[..20];
        await AuthClients.PutRolePolicyAsync(scope.Server, role, "read-in", $$"""
            {"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::{{bucket}}/in/*"}]}
            """);

        var function = scope.NewFunctionName();
        var request = LambdaHttp.CreateFunctionRequest(function, FunctionZips.FromSource("app.py", """
            import boto3
            from botocore.exceptions import ClientError

            def attempt(call):
                try:
                    call()
                    return "ok"
                except ClientError as e:
                    return e.response["Error"]["Code"]

            def handler(event, context):
                s3 = boto3.client("s3")
                sqs = boto3.client("sqs")
                return {
                    "read": s3.get_object(Bucket=event["bucket"], Key="in/data.txt")["Body"].read().decode(),
                    "write": attempt(lambda: s3.put_object(Bucket=event["bucket"], Key="out/result.txt", Body=b"x")),
                    "send": attempt(lambda: sqs.send_message(QueueUrl=event["queue"], MessageBody="x")),
                }
            """), "python3.12", "app.handler");
        request["Role"] = $"arn:aws:iam::{Aws.AccountId}:role/{role}";
        request["Timeout"] = 30;
        var created = await scope.Lambda.CreateFunctionAsync(request);
        Assert.True(created.StatusCode == 201, created.ToString());

        var invoked = await scope.Lambda.InvokeAsync(function, JsonSerializer.Serialize(new { bucket, queue = queueUrl }));
        Assert.True(invoked.StatusCode == 200 && invoked.Text.Contains("\"read\"", StringComparison.Ordinal), invoked.ToString());
        var answer = JsonDocument.Parse(invoked.Text).RootElement;
        Assert.Equal("readable", answer.GetProperty("read").GetString());
        Assert.Equal("AccessDenied", answer.GetProperty("write").GetString());
        Assert.Equal("AccessDenied", answer.GetProperty("send").GetString());
        (await root.RunAsync(["s3api", "head-object", "--bucket", bucket, "--key", "out/result.txt"])).ShouldFail();
    });

    [Fact]
    public Task A_bucket_notification_needs_the_functions_permission_at_configuration_and_at_delivery() => fixture.RunAsync(async scope =>
    {
        using var recorder = new EventRecorder();
        var aws = scope.Cli(AwsCli.V2);
        var function = scope.NewFunctionName();
        (await aws.CreateFunctionAsync(function, FunctionZips.Build(FunctionZips.NodeRecorder), "nodejs20.x", "index.handler", "--environment", recorder.EnvironmentJson)).ShouldSucceed();
        var bucket = BucketCliTests.NewBucketName();
        (await aws.RunAsync(["s3", "mb", $"s3://{bucket}"])).ShouldSucceed();
        string[] configure = ["s3api", "put-bucket-notification-configuration", "--bucket", bucket, "--notification-configuration",
            $$"""{"LambdaFunctionConfigurations":[{"LambdaFunctionArn":"{{Aws.FunctionArn(function)}}","Events":["s3:ObjectCreated:*"]}]}"""];

        var refused = (await aws.RunAsync(configure)).ShouldFailWith("InvalidArgument");
        Assert.StartsWith($"Unable to validate the following destination configurations: {Aws.FunctionArn(function)}", refused, StringComparison.Ordinal);

        // A permission for another bucket does not count.
        (await aws.LambdaAsync("add-permission", "--function-name", function, "--statement-id", "other", "--action", "lambda:InvokeFunction",
            "--principal", "s3.amazonaws.com", "--source-arn", "arn:aws:s3:::some-other-bucket")).ShouldSucceed();
        (await aws.RunAsync(configure)).ShouldFailWith("InvalidArgument");

        (await aws.LambdaAsync("add-permission", "--function-name", function, "--statement-id", "s3", "--action", "lambda:InvokeFunction",
            "--principal", "s3.amazonaws.com", "--source-arn", $"arn:aws:s3:::{bucket}")).ShouldSucceed();
        (await aws.RunAsync(configure)).ShouldSucceed();

        var file = Path.Combine(scope.ScratchDirectory, "n.txt");
        await File.WriteAllTextAsync(file, "n");
        (await aws.RunAsync(["s3", "cp", file, $"s3://{bucket}/first.txt"])).ShouldSucceed();
        await recorder.WaitForAsync("the upload of first.txt runs the function", reports => reports.Any(r => Key(r) == "first.txt"), Deadline);

        // The permission removed later: the next notification is dropped with a log line, never invoked.
        (await aws.LambdaAsync("remove-permission", "--function-name", function, "--statement-id", "s3")).ShouldSucceed();
        (await aws.RunAsync(["s3", "cp", file, $"s3://{bucket}/second.txt"])).ShouldSucceed();
        var line = $"Dropped a notification of arn:aws:s3:::{bucket} for {Aws.FunctionArn(function)}";
        var deadline = DateTime.UtcNow + Deadline;
        while (!scope.Server.DescribeOutput(2_000).Contains(line, StringComparison.Ordinal))
        {
            Assert.True(DateTime.UtcNow < deadline, $"Expected '{line}' in the server's log.{Environment.NewLine}{scope.Server.DescribeOutput()}");
            await Task.Delay(100);
        }

        Assert.DoesNotContain(recorder.ReportsOf(function), r => Key(r) == "second.txt");
    });

    [Fact]
    public Task An_event_source_mapping_needs_the_functions_role_to_allow_the_pollers_SQS_calls() => fixture.RunAsync(async scope =>
    {
        var aws = scope.Cli(AwsCli.V1);
        var queue = $"esm-{Guid.NewGuid():N}"[..20];
        (await aws.RunAsync(["sqs", "create-queue", "--queue-name", queue])).ShouldSucceed();
        var queueArn = $"arn:aws:sqs:{Aws.Region}:{Aws.AccountId}:{queue}";
        var role = $"poller-{Guid.NewGuid():N}"[..20];
        var function = scope.NewFunctionName();
        var request = LambdaHttp.CreateFunctionRequest(function, FunctionZips.Build(FunctionZips.NodeCjs), "nodejs20.x", "index.handler");
        request["Role"] = $"arn:aws:iam::{Aws.AccountId}:role/{role}";
        Assert.Equal(201, (await scope.Lambda.CreateFunctionAsync(request)).StatusCode);
        string[] create = ["create-event-source-mapping", "--function-name", function, "--event-source-arn", queueArn];

        Assert.Equal("The function execution role does not have permissions to call ReceiveMessage on SQS",
            (await aws.LambdaAsync(create)).ShouldFailWith("InvalidParameterValueException"));
        await AuthClients.PutRolePolicyAsync(scope.Server, role, "poll", $$"""
            {"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["sqs:ReceiveMessage","sqs:DeleteMessage"],"Resource":"{{queueArn}}"}]}
            """);
        Assert.Equal("The function execution role does not have permissions to call GetQueueAttributes on SQS",
            (await aws.LambdaAsync(create)).ShouldFailWith("InvalidParameterValueException"));
        await AuthClients.PutRolePolicyAsync(scope.Server, role, "poll", $$"""
            {"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["sqs:ReceiveMessage","sqs:DeleteMessage","sqs:GetQueueAttributes"],"Resource":"{{queueArn}}"}]}
            """);
        var uuid = (await aws.LambdaAsync(create)).Json().GetProperty("UUID").GetString()!;
        (await aws.LambdaAsync("delete-event-source-mapping", "--uuid", uuid)).ShouldSucceed();
    });

    private static string? Key(JsonElement report) =>
        report.GetProperty("event").TryGetProperty("Records", out var records)
            ? records[0].GetProperty("s3").GetProperty("object").GetProperty("key").GetString()
            : null;
}
