using System.Diagnostics;

namespace Nimbus.IntegrationTests;

/// <summary>
/// The queues through boto3 (1.43 in the image's python3: JSON protocol; 1.26 from Debian's python3-boto3 in
/// /usr/bin/python3: query protocol) and the AWS SDK for JavaScript v3 (@aws-sdk/client-sqs).
/// </summary>
public sealed class QueueClientTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private const string Boto3Script = """
        import hashlib, os, struct, sys
        import boto3
        from botocore.exceptions import ClientError

        sqs = boto3.client("sqs", endpoint_url=os.environ["NIMBUS_ENDPOINT"], region_name="us-east-1",
                           aws_access_key_id="test", aws_secret_access_key="test")
        name = sys.argv[1]
        url = sqs.create_queue(QueueName=name, Attributes={"VisibilityTimeout": "30"})["QueueUrl"]
        assert url.endswith("/000000000000/" + name), url
        attrs = {"color": {"DataType": "String", "StringValue": "blue"}, "raw": {"DataType": "Binary", "BinaryValue": b"\x00\xff"}}
        sent = sqs.send_message(QueueUrl=url, MessageBody="from boto3", MessageAttributes=attrs)
        assert sent["MD5OfMessageBody"] == hashlib.md5(b"from boto3").hexdigest(), sent

        def lp(b):
            return struct.pack(">I", len(b)) + b
        encoded = b""
        for key in sorted(attrs):
            value = attrs[key]
            encoded += lp(key.encode()) + lp(value["DataType"].encode())
            encoded += b"\x02" + lp(value["BinaryValue"]) if value["DataType"] == "Binary" else b"\x01" + lp(value["StringValue"].encode())
        assert sent["MD5OfMessageAttributes"] == hashlib.md5(encoded).hexdigest(), sent

        batch = sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": "a", "MessageBody": "b1"}, {"Id": "b", "MessageBody": "b2"}])
        assert len(batch["Successful"]) == 2, batch
        # Older botocore (Debian's) names system attributes AttributeNames; newer ones MessageSystemAttributeNames.
        members = sqs.meta.service_model.operation_model("ReceiveMessage").input_shape.members
        system = {"MessageSystemAttributeNames": ["All"]} if "MessageSystemAttributeNames" in members else {"AttributeNames": ["All"]}
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"],
                                  WaitTimeSeconds=1, **system)["Messages"]
        assert sorted(m["Body"] for m in got) == ["b1", "b2", "from boto3"], got
        first = [m for m in got if m["Body"] == "from boto3"][0]
        assert first["MessageAttributes"]["raw"]["BinaryValue"] == b"\x00\xff", first
        assert first["Attributes"]["ApproximateReceiveCount"] == "1", first
        result = sqs.delete_message_batch(QueueUrl=url, Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(got)])
        assert len(result["Successful"]) == 3, result
        counts = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        assert counts["ApproximateNumberOfMessages"] == "0" and counts["ApproximateNumberOfMessagesNotVisible"] == "0", counts
        sqs.delete_queue(QueueUrl=url)
        try:
            sqs.get_queue_url(QueueName=name)
            raise SystemExit("get_queue_url of a deleted queue succeeded")
        except ClientError as e:
            assert e.response["Error"]["Code"] == "AWS.SimpleQueueService.NonExistentQueue", e.response
            assert e.response["ResponseMetadata"]["HTTPStatusCode"] == 400
        print("OK")
        """;

    private const string JavaScriptScript = """
        const { SQSClient, CreateQueueCommand, SendMessageCommand, SendMessageBatchCommand, ReceiveMessageCommand,
                DeleteMessageCommand, GetQueueAttributesCommand, DeleteQueueCommand, GetQueueUrlCommand } = require("@aws-sdk/client-sqs");
        (async () => {
          const sqs = new SQSClient({ endpoint: process.env.NIMBUS_ENDPOINT, region: "us-east-1", maxAttempts: 1,
                                      credentials: { accessKeyId: "test", secretAccessKey: "test" } });
          const name = process.argv[2];
          const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: name }));
          const sent = await sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: "from js ✓",
            MessageAttributes: { n: { DataType: "Number", StringValue: "7" } } }));
          if (!sent.MessageId || !sent.MD5OfMessageAttributes) throw new Error("send: " + JSON.stringify(sent));
          const batch = await sqs.send(new SendMessageBatchCommand({ QueueUrl, Entries: [{ Id: "x", MessageBody: "two" }] }));
          if (batch.Successful.length !== 1) throw new Error("batch: " + JSON.stringify(batch));
          const got = await sqs.send(new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1,
            MessageAttributeNames: ["All"], MessageSystemAttributeNames: ["ApproximateReceiveCount"] }));
          const bodies = got.Messages.map(m => m.Body).sort();
          if (JSON.stringify(bodies) !== JSON.stringify(["from js ✓", "two"])) throw new Error("receive: " + JSON.stringify(got));
          const first = got.Messages.find(m => m.Body === "from js ✓");
          if (first.MessageAttributes.n.StringValue !== "7" || first.Attributes.ApproximateReceiveCount !== "1") throw new Error("attributes: " + JSON.stringify(first));
          for (const m of got.Messages) await sqs.send(new DeleteMessageCommand({ QueueUrl, ReceiptHandle: m.ReceiptHandle }));
          const attrs = await sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ["All"] }));
          if (attrs.Attributes.ApproximateNumberOfMessages !== "0") throw new Error("attributes: " + JSON.stringify(attrs));
          await sqs.send(new DeleteQueueCommand({ QueueUrl }));
          try {
            await sqs.send(new GetQueueUrlCommand({ QueueName: name }));
            throw new Error("GetQueueUrl of a deleted queue succeeded");
          } catch (e) {
            if (e.name !== "QueueDoesNotExist" || e.$metadata.httpStatusCode !== 400) throw e;
          }
          console.log("OK");
        })().catch(e => { console.error(e); process.exit(1); });
        """;

    [Theory]
    [InlineData("python3")]
    [InlineData("/usr/bin/python3")]
    public Task Boto3_runs_the_queue_lifecycle_with_correct_md5s(string python) => fixture.RunAsync(async scope =>
    {
        var script = Path.Combine(scope.ScratchDirectory, "sqs_boto3.py");
        await File.WriteAllTextAsync(script, Boto3Script);
        var (exitCode, output) = await RunAsync(python, [script, QueueNames.New()], scope.ScratchDirectory, scope.Server.Endpoint);
        Assert.True(exitCode == 0 && output.Contains("OK", StringComparison.Ordinal), $"boto3 script failed (exit {exitCode}):{Environment.NewLine}{output}");
    });

    [Fact]
    public Task Javascript_sdk_v3_runs_the_queue_lifecycle() => fixture.RunAsync(async scope =>
    {
        var modules = await JavaScriptSqsClient.NodeModulesAsync();
        var script = Path.Combine(scope.ScratchDirectory, "sqs_js.cjs");
        await File.WriteAllTextAsync(script, JavaScriptScript);
        var (exitCode, output) = await RunAsync("node", [script, QueueNames.New()], scope.ScratchDirectory, scope.Server.Endpoint, modules);
        Assert.True(exitCode == 0 && output.Contains("OK", StringComparison.Ordinal), $"@aws-sdk/client-sqs script failed (exit {exitCode}):{Environment.NewLine}{output}");
    });

    internal static async Task<(int ExitCode, string Output)> RunAsync(string program, string[] arguments, string directory, string endpoint, string? nodePath = null)
    {
        var start = new ProcessStartInfo(program) { WorkingDirectory = directory };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var key in start.Environment.Keys.Where(k => k.StartsWith("AWS_", StringComparison.Ordinal)).ToList())
        {
            start.Environment.Remove(key);
        }

        start.Environment["NIMBUS_ENDPOINT"] = endpoint;
        start.Environment["AWS_CONFIG_FILE"] = Path.Combine(directory, "no-aws-config");
        start.Environment["AWS_SHARED_CREDENTIALS_FILE"] = Path.Combine(directory, "no-aws-credentials");
        start.Environment["AWS_EC2_METADATA_DISABLED"] = "true";
        if (nodePath is not null)
        {
            start.Environment["NODE_PATH"] = nodePath;
        }

        var outcome = await BoundedProcess.RunAsync(start, TimeSpan.FromMinutes(2));
        return (outcome.ExitCode, outcome.Stdout + outcome.Stderr);
    }
}

/// <summary>
/// @aws-sdk/client-sqs from npm, installed once per checkout into <c>artifacts/aws-sdk-client-sqs/&lt;version&gt;</c> and
/// reused. The npm registry must be reachable the first time (it is on developer machines and CI).
/// </summary>
internal static class JavaScriptSqsClient
{
    public const string Version = "3.1169.0";

    private static readonly Lazy<Task<string>> Installed = new(InstallAsync);

    /// <summary>The node_modules directory holding @aws-sdk/client-sqs.</summary>
    public static Task<string> NodeModulesAsync() => Installed.Value;

    private static async Task<string> InstallAsync()
    {
        var root = Path.Combine(RepositoryRoot(), "artifacts", "aws-sdk-client-sqs", Version);
        var modules = Path.Combine(root, "node_modules");
        if (File.Exists(Path.Combine(modules, "@aws-sdk", "client-sqs", "package.json")))
        {
            return modules;
        }

        Directory.CreateDirectory(root);
        await File.WriteAllTextAsync(Path.Combine(root, "package.json"), """{"name":"nimbus-sqs-client","version":"1.0.0","private":true}""");
        var (exitCode, output) = await QueueClientTests.RunAsync("npm", ["install", "--no-audit", "--no-fund", $"@aws-sdk/client-sqs@{Version}"], root, "");
        if (exitCode != 0 || !File.Exists(Path.Combine(modules, "@aws-sdk", "client-sqs", "package.json")))
        {
            throw new InvalidOperationException($"npm install @aws-sdk/client-sqs@{Version} failed (exit {exitCode}):{Environment.NewLine}{output}");
        }

        return modules;
    }

    private static string RepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Nimbus.slnx")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException($"No directory above {AppContext.BaseDirectory} contains Nimbus.slnx.");
    }
}
