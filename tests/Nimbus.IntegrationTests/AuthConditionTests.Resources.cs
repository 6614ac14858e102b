using System.Globalization;
using System.Text.Json;

namespace Nimbus.IntegrationTests;

/// <summary>
/// Issue 10's last authorization gaps, on AuthConditionTests' server: the execution role's permissions for a function's
/// dead-letter queue and destinations, a schedule's dead-letter queue and its role, bucket policies, S3's 403 for a
/// missing key, and SQS AddPermission/RemovePermission.
/// </summary>
public sealed partial class AuthConditionTests
{
    [Fact]
    public Task A_functions_dead_letter_queue_and_destinations_need_its_execution_roles_permissions_at_configuration_and_at_delivery() => fixture.RunAsync(async scope =>
    {
        var aws = scope.Cli(AwsCli.V2);
        var queues = new EventSourceMappingQueues(scope.Cli(AwsCli.V1), scope.ScratchDirectory);
        var (dlqUrl, dlqArn) = await queues.CreateAsync($"edlq-{Guid.NewGuid():N}"[..24]);
        var (destinationUrl, destinationArn) = await queues.CreateAsync($"edst-{Guid.NewGuid():N}"[..24]);
        var roleName = $"exec-{Guid.NewGuid():N}"[..20];
        var role = $"arn:aws:iam::{Aws.AccountId}:role/{roleName}";
        var function = scope.NewFunctionName();
        var zip = FunctionZips.Build(FunctionZips.NodeBehaviours);
        string Allow(string action, params string[] resources) =>
            JsonSerializer.Serialize(new { Version = "2012-10-17", Statement = new[] { new { Effect = "Allow", Action = action, Resource = resources } } });

        // CreateFunction checks the role against the dead-letter queue, as Lambda does; nothing is created.
        var refused = (await aws.CreateFunctionAsync(function, zip, "nodejs20.x", "error.handler", "--role", role, "--dead-letter-config", $"TargetArn={dlqArn}"))
            .ShouldFailWith("InvalidParameterValueException");
        Assert.Equal("The provided execution role does not have permissions to call SendMessage on SQS", refused);
        (await aws.LambdaAsync("get-function", "--function-name", function)).ShouldFailWith("ResourceNotFoundException");
        await AuthClients.PutRolePolicyAsync(scope.Server, roleName, "send", Allow("sqs:SendMessage", dlqArn));
        (await aws.CreateFunctionAsync(function, zip, "nodejs20.x", "error.handler", "--role", role, "--dead-letter-config", $"TargetArn={dlqArn}")).ShouldSucceed();

        // Changing only the role checks the new role against the dead-letter queue the function keeps; nothing changes.
        var otherRole = $"arn:aws:iam::{Aws.AccountId}:role/{$"bare-{Guid.NewGuid():N}"[..20]}";
        var roleRefused = (await aws.LambdaAsync("update-function-configuration", "--function-name", function, "--role", otherRole))
            .ShouldFailWith("InvalidParameterValueException");
        Assert.Equal("The provided execution role does not have permissions to call SendMessage on SQS", roleRefused);
        Assert.Equal(role, (await aws.LambdaAsync("get-function-configuration", "--function-name", function)).Json().Str("Role"));

        // PutFunctionEventInvokeConfig checks each destination: sqs:SendMessage on a queue, lambda:InvokeFunction on a function.
        var onQueue = (await aws.LambdaAsync("put-function-event-invoke-config", "--function-name", function,
            "--destination-config", $$$"""{"OnFailure":{"Destination":"{{{destinationArn}}}"}}""")).ShouldFailWith("InvalidParameterValueException");
        Assert.Equal($"The function execution role does not have permissions to call SendMessage on {destinationArn}", onQueue);
        var targetFunction = Aws.FunctionArn(scope.NewFunctionName());
        var onFunction = (await aws.LambdaAsync("put-function-event-invoke-config", "--function-name", function,
            "--destination-config", $$$"""{"OnSuccess":{"Destination":"{{{targetFunction}}}"}}""")).ShouldFailWith("InvalidParameterValueException");
        Assert.Equal($"The function execution role does not have permissions to call InvokeFunction on {targetFunction}", onFunction);
        (await aws.LambdaAsync("get-function-event-invoke-config", "--function-name", function)).ShouldFailWith("ResourceNotFoundException");

        await AuthClients.PutRolePolicyAsync(scope.Server, roleName, "send", Allow("sqs:SendMessage", dlqArn, destinationArn));
        (await aws.LambdaAsync("put-function-event-invoke-config", "--function-name", function, "--maximum-retry-attempts", "0",
            "--destination-config", $$$"""{"OnFailure":{"Destination":"{{{destinationArn}}}"}}""")).ShouldSucceed();

        // The role then loses sqs:SendMessage: the failed event's record and dead letter are dropped and counted, as on AWS.
        await AuthClients.PutRolePolicyAsync(scope.Server, roleName, "send", Allow("logs:CreateLogGroup", "*"));
        Assert.Equal(202, (await aws.InvokeAsync(function, """{"n":1}""", "--invocation-type", "Event")).StatusCode);
        var deadline = DateTime.UtcNow + Deadline;
        PrometheusText metrics;
        do
        {
            await Task.Delay(250);
            using var response = await scope.Server.Http.GetAsync(new Uri("/metrics", UriKind.Relative));
            metrics = PrometheusText.Parse(await response.Content.ReadAsStringAsync());
        }
        while ((Count(metrics, "nimbus_lambda_dead_letter_errors_total") < 1 || Count(metrics, "nimbus_lambda_destination_delivery_failures_total") < 1) && DateTime.UtcNow < deadline);

        Assert.True(Count(metrics, "nimbus_lambda_dead_letter_errors_total") == 1, metrics.Text);
        Assert.True(Count(metrics, "nimbus_lambda_destination_delivery_failures_total") == 1, metrics.Text);
        Assert.Contains($"is not allowed sqs:SendMessage on {dlqArn}", scope.Server.DescribeOutput(2_000), StringComparison.Ordinal);
        Assert.Empty(await queues.ReceiveAsync(dlqUrl));
        Assert.Empty(await queues.ReceiveAsync(destinationUrl));

        double Count(PrometheusText text, string name) => text.Samples(name, ("function", function)).Sum(s => s.Value);
    });

    [Fact]
    public Task A_schedules_dead_letter_queue_needs_its_roles_SendMessage_and_the_queues_policy() => fixture.RunAsync(async scope =>
    {
        var aws = scope.Cli(AwsCli.V1);
        var queues = new EventSourceMappingQueues(aws, scope.ScratchDirectory);
        var (allowedUrl, allowedArn) = await queues.CreateAsync($"sok{Guid.NewGuid():N}"[..16]);
        var (deniedUrl, deniedArn) = await queues.CreateAsync($"sno{Guid.NewGuid():N}"[..16]);
        var (policyUrl, policyArn) = await queues.CreateAsync($"spo{Guid.NewGuid():N}"[..16]);
        var roleName = $"sdl-{Guid.NewGuid():N}"[..18];
        var role = $"arn:aws:iam::{Aws.AccountId}:role/{roleName}";
        await AuthClients.PutRolePolicyAsync(scope.Server, roleName, "send", JsonSerializer.Serialize(new
        {
            Version = "2012-10-17",
            Statement = new[]
            {
                new { Effect = "Allow", Action = "sqs:SendMessage", Resource = new[] { allowedArn, policyArn } },
                new { Effect = "Allow", Action = "lambda:InvokeFunction", Resource = new[] { "*" } },
            },
        }));
        (await aws.RunAsync(["sqs", "set-queue-attributes", "--queue-url", policyUrl, "--attributes", JsonSerializer.Serialize(new Dictionary<string, string>
        {
            ["Policy"] = $$"""{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":{"AWS":"{{role}}"},"Action":"sqs:SendMessage","Resource":"{{policyArn}}"}]}""",
        })])).ShouldSucceed();

        // Three schedules whose runs fail (no such function), each dead-lettering as the same role: one queue its role may
        // send to, one it may not, one whose policy denies it.
        var due = DateTimeOffset.UtcNow.AddSeconds(8).ToString("yyyy-MM-ddTHH:mm:ss", CultureInfo.InvariantCulture);
        var names = new Dictionary<string, string>();
        foreach (var queueArn in new[] { allowedArn, deniedArn, policyArn })
        {
            var name = $"sd{Guid.NewGuid():N}"[..14];
            names[queueArn] = name;
            var target = $$$"""{"Arn":"{{{Aws.FunctionArn(scope.NewFunctionName())}}}","RoleArn":"{{{role}}}","Input":"{}","RetryPolicy":{"MaximumRetryAttempts":0,"MaximumEventAgeInSeconds":60},"DeadLetterConfig":{"Arn":"{{{queueArn}}}"}}""";
            using var body = new StringContent($$"""{"ScheduleExpression":"at({{due}})","FlexibleTimeWindow":{"Mode":"OFF"},"Target":{{target}}}""", System.Text.Encoding.UTF8, "application/json");
            using var created = await scope.Server.Http.PostAsync($"/schedules/{name}", body);
            Assert.Equal(System.Net.HttpStatusCode.OK, created.StatusCode);
        }

        Assert.Single(await queues.ReceiveAtLeastAsync(allowedUrl, 1, Deadline));
        var deadline = DateTime.UtcNow + Deadline;
        bool Logged(string queueArn) => scope.Server.DescribeOutput(2_000).Contains($"Schedule default/{names[queueArn]} dropped its failed run", StringComparison.Ordinal);
        while (!(Logged(deniedArn) && Logged(policyArn)) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(250);
        }

        var output = scope.Server.DescribeOutput(2_000);
        Assert.Contains($"the role {role} is not allowed sqs:SendMessage on {deniedArn}", output, StringComparison.Ordinal);
        Assert.Contains($"the policy of the queue {policyArn} denies sqs:SendMessage to the role {role}", output, StringComparison.Ordinal);
        Assert.Empty(await queues.ReceiveAsync(deniedUrl));
        Assert.Empty(await queues.ReceiveAsync(policyUrl));
    });

    [Fact]
    public Task Bucket_policies_grant_and_deny_beside_identity_policies_and_a_missing_key_is_403_without_ListBucket() => fixture.RunAsync(async scope =>
    {
        var root = scope.Cli(AwsCli.V2);
        var bucket = $"bp-{Guid.NewGuid():N}"[..20];
        (await root.RunAsync(["s3api", "create-bucket", "--bucket", bucket])).ShouldSucceed();
        var file = Path.Combine(scope.ScratchDirectory, "a.txt");
        await File.WriteAllTextAsync(file, "public data");
        (await root.RunAsync(["s3api", "put-object", "--bucket", bucket, "--key", "public/a.txt", "--body", file])).ShouldSucceed();
        (await root.RunAsync(["s3api", "put-object", "--bucket", bucket, "--key", "secret/s.txt", "--body", file])).ShouldSucceed();
        var reader = await AuthClients.CreateUserAsync(scope.Server, """{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sqs:ListQueues","Resource":"*"}]}""");
        var admin = await AuthClients.CreateUserAsync(scope.Server, """{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}""");
        var readerCli = new AwsCli(AwsCli.V2, scope.Server.Endpoint, scope.ScratchDirectory, reader.AccessKeyId, reader.SecretAccessKey);
        var adminCli = new AwsCli(AwsCli.V1, scope.Server.Endpoint, scope.ScratchDirectory, admin.AccessKeyId, admin.SecretAccessKey);
        string[] Get(string key) => ["s3api", "get-object", "--bucket", bucket, "--key", key, Path.Combine(scope.ScratchDirectory, "out-" + Guid.NewGuid().ToString("N"))];

        (await readerCli.RunAsync(Get("public/a.txt"))).ShouldFailWith("AccessDenied");
        (await root.RunAsync(["s3api", "get-bucket-policy", "--bucket", bucket])).ShouldFailWith("NoSuchBucketPolicy");

        // Malformed documents: no Principal, another bucket's resource, a non-S3 action.
        foreach (var bad in new[]
        {
            $$"""{"Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::{{bucket}}/*"}]}""",
            $$"""{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::other-bucket/*"}]}""",
            $$"""{"Statement":[{"Effect":"Allow","Principal":"*","Action":"sqs:SendMessage","Resource":"arn:aws:s3:::{{bucket}}/*"}]}""",
            "{not json",
        })
        {
            (await root.RunAsync(["s3api", "put-bucket-policy", "--bucket", bucket, "--policy", bad])).ShouldFailWith("MalformedPolicy");
        }

        // A policy language Version S3 does not know, in a policy that is otherwise fine.
        Assert.StartsWith("The policy must contain a valid version string", (await root.RunAsync(["s3api", "put-bucket-policy", "--bucket", bucket, "--policy",
            $$"""{"Version":"2012-10-18","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::{{bucket}}/*"}]}"""]))
            .ShouldFailWith("MalformedPolicy"), StringComparison.Ordinal);

        var policy = $$"""
            {"Version":"2012-10-17","Statement":[
              {"Sid":"Reader","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::{{Aws.AccountId}}:user/{{reader.Name}}"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::{{bucket}}/public/*"},
              {"Sid":"NoSecrets","Effect":"Deny","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::{{bucket}}/secret/*"}]}
            """;
        (await root.RunAsync(["s3api", "put-bucket-policy", "--bucket", bucket, "--policy", policy])).ShouldSucceed();
        JsonAssert.Equal(policy, JsonAssert.Parse((await root.RunAsync(["s3api", "get-bucket-policy", "--bucket", bucket])).Json().Str("Policy"), "the stored policy"));

        // The bucket policy lets the reader in where its identity policy does not; its Deny wins over the admin's s3:*.
        // Only final refusals are logged (event 1120): the identity refusal the bucket policy overrides is not one.
        (await root.RunAsync(["s3api", "put-object", "--bucket", bucket, "--key", "public/b.txt", "--body", file])).ShouldSucceed();
        (await readerCli.RunAsync(Get("public/a.txt"))).ShouldSucceed();
        (await readerCli.RunAsync(Get("public/b.txt"))).ShouldSucceed();
        (await readerCli.RunAsync(Get("secret/s.txt"))).ShouldFailWith("AccessDenied");

        // The log is written in order: once the later refusal is there, a refusal of public/b.txt would be too.
        bool Logged(string key) => scope.Server.DescribeOutput(2_000).Contains(
            $"Refused s3:GetObject on arn:aws:s3:::{bucket}/{key} to arn:aws:iam::{Aws.AccountId}:user/{reader.Name}", StringComparison.Ordinal);
        var logDeadline = DateTime.UtcNow + Deadline;
        while (!Logged("secret/s.txt") && DateTime.UtcNow < logDeadline)
        {
            await Task.Delay(250);
        }

        Assert.True(Logged("secret/s.txt"), "The reader's final refusal should be logged (event 1120).\n" + scope.Server.DescribeOutput());
        Assert.False(Logged("public/b.txt"), "An identity refusal the bucket policy overrides must not be logged as a refusal.");
        var explicitDeny = (await adminCli.RunAsync(Get("secret/s.txt"))).ShouldFailWith("AccessDenied");
        Assert.Contains("with an explicit deny in a resource-based policy", explicitDeny, StringComparison.Ordinal);

        // A missing key: 404 NoSuchKey to who may list the bucket (admin, root), 403 to the reader, who may not.
        (await readerCli.RunAsync(Get("public/missing.txt"))).ShouldFailWith("AccessDenied");
        (await adminCli.RunAsync(Get("public/missing.txt"))).ShouldFailWith("NoSuchKey");
        (await root.RunAsync(Get("public/missing.txt"))).ShouldFailWith("NoSuchKey");

        (await root.RunAsync(["s3api", "delete-bucket-policy", "--bucket", bucket])).ShouldSucceed();
        (await readerCli.RunAsync(Get("public/a.txt"))).ShouldFailWith("AccessDenied");
        (await adminCli.RunAsync(Get("secret/s.txt"))).ShouldSucceed();
    });

    [Fact]
    public Task S3_condition_keys_and_policy_variables_confine_a_user_to_its_home_prefix() => fixture.RunAsync(async scope =>
    {
        var root = scope.Cli(AwsCli.V2);
        var bucket = $"home-{Guid.NewGuid():N}"[..20];
        (await root.RunAsync(["s3api", "create-bucket", "--bucket", bucket])).ShouldSucceed();

        // AWS's home-directory example: list and use home/${aws:username}/ only, at most 100 keys a page.
        var user = await AuthClients.CreateUserAsync(scope.Server, $$$$"""
            {"Version":"2012-10-17","Statement":[
              {"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::{{{{bucket}}}}","Condition":{"StringLike":{"s3:prefix":"home/${aws:username}/*"}}},
              {"Effect":"Deny","Action":"s3:ListBucket","Resource":"arn:aws:s3:::{{{{bucket}}}}","Condition":{"NumericGreaterThan":{"s3:max-keys":"100"}}},
              {"Effect":"Allow","Action":["s3:GetObject","s3:PutObject"],"Resource":"arn:aws:s3:::{{{{bucket}}}}/home/${aws:username}/*"}]}
            """);
        var file = Path.Combine(scope.ScratchDirectory, "h.txt");
        await File.WriteAllTextAsync(file, "home");
        foreach (var key in new[] { $"home/{user.Name}/a.txt", "home/other/b.txt" })
        {
            (await root.RunAsync(["s3api", "put-object", "--bucket", bucket, "--key", key, "--body", file])).ShouldSucceed();
        }

        // The bucket policy adds the top-level listing (prefix "" with delimiter "/") and denies public-read uploads.
        var policy = $$$$"""
            {"Version":"2012-10-17","Statement":[
              {"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::{{{{Aws.AccountId}}}}:user/{{{{user.Name}}}}"},"Action":"s3:ListBucket","Resource":"arn:aws:s3:::{{{{bucket}}}}","Condition":{"StringEquals":{"s3:prefix":["","home/"],"s3:delimiter":"/"}}},
              {"Effect":"Deny","Principal":"*","Action":"s3:PutObject","Resource":"arn:aws:s3:::{{{{bucket}}}}/*","Condition":{"StringEquals":{"s3:x-amz-acl":"public-read"}}}]}
            """;
        (await root.RunAsync(["s3api", "put-bucket-policy", "--bucket", bucket, "--policy", policy])).ShouldSucceed();

        var output = await AuthClients.Boto3Async($$"""
            import boto3, os
            from botocore.config import Config
            from botocore.exceptions import ClientError
            s3 = boto3.client("s3", endpoint_url=os.environ["NIMBUS_ENDPOINT"], config=Config(s3={"addressing_style": "path"}))
            b, me = "{{bucket}}", "{{user.Name}}"
            def attempt(name, call):
                try:
                    result = call()
                    keys = [o["Key"] for o in result.get("Contents", [])] if isinstance(result, dict) else []
                    print(name, "ok", ",".join(keys) or "-")
                except ClientError as e:
                    print(name, e.response["Error"]["Code"], "-")
            attempt("list-home", lambda: s3.list_objects_v2(Bucket=b, Prefix=f"home/{me}/"))
            attempt("list-other", lambda: s3.list_objects_v2(Bucket=b, Prefix="home/other/"))
            attempt("list-all", lambda: s3.list_objects_v2(Bucket=b))
            attempt("list-top", lambda: s3.list_objects_v2(Bucket=b, Prefix="", Delimiter="/"))
            attempt("list-top-nodelim", lambda: s3.list_objects_v2(Bucket=b, Prefix=""))
            attempt("list-home-500", lambda: s3.list_objects_v2(Bucket=b, Prefix=f"home/{me}/", MaxKeys=500))
            attempt("list-v1-home", lambda: s3.list_objects(Bucket=b, Prefix=f"home/{me}/"))
            attempt("get-home", lambda: s3.get_object(Bucket=b, Key=f"home/{me}/a.txt"))
            attempt("get-other", lambda: s3.get_object(Bucket=b, Key="home/other/b.txt"))
            attempt("put-home", lambda: s3.put_object(Bucket=b, Key=f"home/{me}/new.txt", Body=b"x"))
            attempt("put-public", lambda: s3.put_object(Bucket=b, Key=f"home/{me}/public.txt", Body=b"x", ACL="public-read"))
            attempt("put-other", lambda: s3.put_object(Bucket=b, Key="home/other/new.txt", Body=b"x"))
            """, scope.Server.Endpoint, user.AccessKeyId, user.SecretAccessKey);
        var outcomes = output.Split('\n').Select(l => l.Split(' ')).ToDictionary(p => p[0], p => (Code: p[1], Keys: p[2]));
        Assert.Equal(("ok", $"home/{user.Name}/a.txt"), outcomes["list-home"]);
        Assert.Equal("AccessDenied", outcomes["list-other"].Code);
        Assert.Equal("AccessDenied", outcomes["list-all"].Code);
        Assert.Equal("ok", outcomes["list-top"].Code);
        Assert.Equal("AccessDenied", outcomes["list-top-nodelim"].Code);
        Assert.Equal("AccessDenied", outcomes["list-home-500"].Code);
        Assert.Equal(("ok", $"home/{user.Name}/a.txt"), outcomes["list-v1-home"]);
        Assert.Equal("ok", outcomes["get-home"].Code);
        Assert.Equal("AccessDenied", outcomes["get-other"].Code);
        Assert.Equal("ok", outcomes["put-home"].Code);
        Assert.Equal("AccessDenied", outcomes["put-public"].Code);
        Assert.Equal("AccessDenied", outcomes["put-other"].Code);
        (await root.RunAsync(["s3api", "head-object", "--bucket", bucket, "--key", $"home/{user.Name}/new.txt"])).ShouldSucceed();
        (await root.RunAsync(["s3api", "head-object", "--bucket", bucket, "--key", $"home/{user.Name}/public.txt"])).ShouldFailWith("404");
    });

    [Fact]
    public Task SQS_AddPermission_and_RemovePermission_edit_the_queues_Policy() => fixture.RunAsync(async scope =>
    {
        var v1 = scope.Cli(AwsCli.V1);
        var v2 = scope.Cli(AwsCli.V2);
        var queue = $"perm-{Guid.NewGuid():N}"[..20];
        var url = (await v1.RunAsync(["sqs", "create-queue", "--queue-name", queue])).Json().Str("QueueUrl");
        var arn = $"arn:aws:sqs:{Aws.Region}:{Aws.AccountId}:{queue}";
        JsonElement Policy(CliResult result) => JsonAssert.Parse(result.Json().Str("Attributes.Policy"), "the queue's policy");

        (await v1.RunAsync(["sqs", "add-permission", "--queue-url", url, "--label", "senders", "--aws-account-ids", Aws.AccountId, "--actions", "SendMessage", "ReceiveMessage"])).ShouldSucceed();
        (await v2.RunAsync(["sqs", "add-permission", "--queue-url", url, "--label", "all", "--aws-account-ids", Aws.AccountId, "--actions", "*"])).ShouldSucceed();
        var policy = Policy(await v1.RunAsync(["sqs", "get-queue-attributes", "--queue-url", url, "--attribute-names", "Policy"]));
        var statements = policy.GetProperty("Statement").EnumerateArray().ToList();
        Assert.Equal(["senders", "all"], statements.Select(s => s.Str("Sid")));
        JsonAssert.Equal($$"""{"Sid":"senders","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::{{Aws.AccountId}}:root"},"Action":["SQS:SendMessage","SQS:ReceiveMessage"],"Resource":"{{arn}}"}""", statements[0]);
        Assert.Equal("SQS:*", statements[1].Str("Action"));

        var duplicate = (await v1.RunAsync(["sqs", "add-permission", "--queue-url", url, "--label", "senders", "--aws-account-ids", Aws.AccountId, "--actions", "SendMessage"])).ShouldFailWith("InvalidParameterValue");
        Assert.Equal("Value senders for parameter Label is invalid. Reason: Already exists.", duplicate);
        (await v2.RunAsync(["sqs", "add-permission", "--queue-url", url, "--label", "bad", "--aws-account-ids", Aws.AccountId, "--actions", "Fly"])).ShouldFailWith("InvalidParameterValue");
        var missing = (await v2.RunAsync(["sqs", "remove-permission", "--queue-url", url, "--label", "nope"])).ShouldFailWith("InvalidParameterValue");
        Assert.Equal("Value nope for parameter Label is invalid. Reason: can't find label.", missing);

        (await v2.RunAsync(["sqs", "remove-permission", "--queue-url", url, "--label", "senders"])).ShouldSucceed();
        Assert.Equal(["all"], Policy(await v2.RunAsync(["sqs", "get-queue-attributes", "--queue-url", url, "--attribute-names", "Policy"])).GetProperty("Statement").EnumerateArray().Select(s => s.Str("Sid")));
        (await v1.RunAsync(["sqs", "remove-permission", "--queue-url", url, "--label", "all"])).ShouldSucceed();
        var after = (await v1.RunAsync(["sqs", "get-queue-attributes", "--queue-url", url, "--attribute-names", "Policy"])).Stdout;
        Assert.DoesNotContain("Statement", after, StringComparison.Ordinal);
    });
}
