using System.Diagnostics;
using System.Net;
using System.Text.Json;
using Amazon.S3;
using Amazon.S3.Model;

namespace Nimbus.IntegrationTests;

/// <summary>
/// Bucket notifications, end to end: an upload under <c>incoming/</c> runs a function with AWS's S3 event, the
/// function reads the object through its AWS SDK (boto3, the JavaScript SDK v3) and writes its result back, and the
/// test reads that result.
/// </summary>
public sealed class BucketNotificationTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    public const string S3Python = "s3-python";
    public const string S3Node = "s3-node";
    private const string ClientS3Version = "3.1169.0";
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);
    private static readonly Lazy<Task<string>> NodeModules = new(InstallClientS3Async);

    [Theory]
    [InlineData("python3.12")]
    [InlineData("nodejs20.x")]
    public Task Upload_under_incoming_runs_the_function_which_reads_it_with_its_SDK_and_writes_the_result(string runtime) => fixture.RunAsync(async scope =>
    {
        var aws = scope.Cli(AwsCli.V2);
        var function = scope.NewFunctionName();
        var python = runtime.StartsWith("python", StringComparison.Ordinal);
        var zip = python
            ? FunctionZips.Build(S3Python)
            : FunctionZips.Build(S3Node, (await NodeModules.Value, "node_modules", Directory.GetFileSystemEntries(await NodeModules.Value).Select(p => Path.GetFileName(p)).ToArray()));
        var created = await scope.Lambda.CreateFunctionAsync(function, zip, runtime, python ? "app.handler" : "index.handler", timeout: 30);
        Assert.True(created.StatusCode == 201, created.ToString());

        var bucket = BucketCliTests.NewBucketName();
        (await aws.RunAsync(["s3", "mb", $"s3://{bucket}"])).ShouldSucceed();
        await AuthClients.AllowS3Async(scope.Server, function, bucket);
        (await aws.RunAsync(["s3api", "put-bucket-notification-configuration", "--bucket", bucket, "--notification-configuration", $$$$"""
            {"LambdaFunctionConfigurations":[{"Id":"incoming-csv","LambdaFunctionArn":"{{{{Aws.FunctionArn(function)}}}}",
              "Events":["s3:ObjectCreated:*"],"Filter":{"Key":{"FilterRules":[{"Name":"prefix","Value":"incoming/"},{"Name":"suffix","Value":".csv"}]}}}]}
            """])).ShouldSucceed();
        using var s3 = S3SdkTests.Client(scope.Server);
        var rule = (await s3.GetBucketNotificationAsync(bucket)).LambdaFunctionConfigurations.Single();
        Assert.Equal("incoming-csv", rule.Id);
        Assert.Equal(Aws.FunctionArn(function), rule.FunctionArn);
        Assert.Equal(["incoming/", ".csv"], rule.Filter.S3KeyFilter.FilterRules.Select(r => r.Value));

        var csv = Path.Combine(scope.ScratchDirectory, "report.csv");
        await File.WriteAllTextAsync(csv, "region,total\neu,3\nus,4\n");
        await s3.PutObjectAsync(new PutObjectRequest { BucketName = bucket, Key = "ignored/report.csv", FilePath = csv });
        (await aws.RunAsync(["s3", "cp", csv, $"s3://{bucket}/incoming/my report.csv"])).ShouldSucceed();

        var result = await WaitForObjectAsync(scope.Server.Http, bucket, "processed/my report.json");
        Assert.Equal("incoming/my report.csv", result.GetProperty("source").GetString());
        Assert.Equal(3, result.GetProperty("rows").GetInt32());
        var record = result.GetProperty("event").GetProperty("Records")[0];
        Assert.Equal("2.1", record.GetProperty("eventVersion").GetString());
        Assert.Equal("aws:s3", record.GetProperty("eventSource").GetString());
        Assert.Equal(Aws.Region, record.GetProperty("awsRegion").GetString());
        Assert.Equal("ObjectCreated:Put", record.GetProperty("eventName").GetString());
        Assert.True(DateTimeOffset.TryParse(record.GetProperty("eventTime").GetString(), out _));
        Assert.StartsWith("AWS:", record.GetProperty("userIdentity").GetProperty("principalId").GetString(), StringComparison.Ordinal);
        Assert.Equal("127.0.0.1", record.GetProperty("requestParameters").GetProperty("sourceIPAddress").GetString());
        Assert.False(string.IsNullOrEmpty(record.GetProperty("responseElements").GetProperty("x-amz-request-id").GetString()));
        Assert.False(string.IsNullOrEmpty(record.GetProperty("responseElements").GetProperty("x-amz-id-2").GetString()));
        var s3Record = record.GetProperty("s3");
        Assert.Equal("1.0", s3Record.GetProperty("s3SchemaVersion").GetString());
        Assert.Equal("incoming-csv", s3Record.GetProperty("configurationId").GetString());
        Assert.Equal(bucket, s3Record.GetProperty("bucket").GetProperty("name").GetString());
        Assert.Equal($"arn:aws:s3:::{bucket}", s3Record.GetProperty("bucket").GetProperty("arn").GetString());
        var obj = s3Record.GetProperty("object");
        Assert.Equal("incoming/my+report.csv", obj.GetProperty("key").GetString());
        Assert.Equal(new FileInfo(csv).Length, obj.GetProperty("size").GetInt64());
        Assert.Matches("^[0-9a-f]{32}$", obj.GetProperty("eTag").GetString());
        Assert.Matches("^[0-9A-F]+$", obj.GetProperty("sequencer").GetString());

        // Nothing ran for the key outside incoming/ (nor for the function's own output).
        var listed = await s3.ListObjectsV2Async(new ListObjectsV2Request { BucketName = bucket, Prefix = "processed/" });
        Assert.Equal(["processed/my report.json"], listed.S3Objects.Select(o => o.Key));
    });

    [Fact]
    public Task Removal_events_reach_a_function_subscribed_to_ObjectRemoved() => fixture.RunAsync(async scope =>
    {
        var function = scope.NewFunctionName();
        var created = await scope.Lambda.CreateFunctionAsync(function, FunctionZips.Build(S3Python), "python3.12", "app.handler", timeout: 30);
        Assert.True(created.StatusCode == 201, created.ToString());
        var bucket = BucketCliTests.NewBucketName();
        using var s3 = S3SdkTests.Client(scope.Server);
        await s3.PutBucketAsync(new PutBucketRequest { BucketName = bucket });
        await AuthClients.AllowS3Async(scope.Server, function, bucket);
        await s3.PutBucketNotificationAsync(new PutBucketNotificationRequest
        {
            BucketName = bucket,
            LambdaFunctionConfigurations = [new LambdaFunctionConfiguration { FunctionArn = Aws.FunctionArn(function), Events = [EventType.ObjectRemovedDelete] }],
        });
        var config = await s3.GetBucketNotificationAsync(bucket);
        Assert.Equal(Aws.FunctionArn(function), config.LambdaFunctionConfigurations.Single().FunctionArn);
        await s3.PutObjectAsync(new PutObjectRequest { BucketName = bucket, Key = "old/a.txt", ContentBody = "old" });
        await s3.DeleteObjectAsync(bucket, "old/a.txt");

        var removed = await WaitForObjectAsync(scope.Server.Http, bucket, "processed/removed-a.txt.json");
        var record = removed.GetProperty("Records")[0];
        Assert.Equal("ObjectRemoved:Delete", record.GetProperty("eventName").GetString());
        Assert.Equal("old/a.txt", record.GetProperty("s3").GetProperty("object").GetProperty("key").GetString());
        Assert.False(record.GetProperty("s3").GetProperty("object").TryGetProperty("size", out _));
    });

    [Fact]
    public Task An_upload_matching_a_QueueConfiguration_puts_the_S3_event_on_the_queue() => fixture.RunAsync(async scope =>
    {
        using var sqs = QueueSdkTests.Client(scope.Server);
        var queueUrl = (await sqs.CreateQueueAsync($"s3-events-{Guid.NewGuid():N}"[..30])).QueueUrl;
        var queueArn = (await sqs.GetQueueAttributesAsync(queueUrl, ["QueueArn"])).QueueARN;
        var bucket = BucketCliTests.NewBucketName();
        using var s3 = S3SdkTests.Client(scope.Server);
        await s3.PutBucketAsync(new PutBucketRequest { BucketName = bucket });
        await s3.PutBucketNotificationAsync(new PutBucketNotificationRequest
        {
            BucketName = bucket,
            QueueConfigurations = [new QueueConfiguration { Id = "to-queue", Queue = queueArn, Events = [EventType.ObjectCreatedPut] }],
        });

        // AWSSDK.S3 sends a signed aws-chunked body with a signed trailer: every chunk signature is checked.
        await s3.PutObjectAsync(new PutObjectRequest { BucketName = bucket, Key = "in/a b.txt", ContentBody = new string('x', 100_000) });

        var received = await sqs.ReceiveMessageAsync(new Amazon.SQS.Model.ReceiveMessageRequest { QueueUrl = queueUrl, WaitTimeSeconds = 20 });
        var body = Assert.Single(received.Messages).Body;
        var record = JsonDocument.Parse(body).RootElement.GetProperty("Records")[0];
        Assert.Equal("ObjectCreated:Put", record.GetProperty("eventName").GetString());
        Assert.Equal("to-queue", record.GetProperty("s3").GetProperty("configurationId").GetString());
        Assert.Equal("in/a+b.txt", record.GetProperty("s3").GetProperty("object").GetProperty("key").GetString());
        Assert.Equal(100_000, record.GetProperty("s3").GetProperty("object").GetProperty("size").GetInt64());

        // A put with an X-Amzn-Trace-Id: its notification's message carries the Root and Sampled as AWSTraceHeader,
        // with a Parent of its own.
        await sqs.DeleteMessageAsync(queueUrl, received.Messages[0].ReceiptHandle);
        const string root = "1-5759e988-00112233445566778899aabb";
        using (var put = new HttpRequestMessage(HttpMethod.Put, $"/{bucket}/traced.txt") { Content = new StringContent("hello") })
        {
            put.Headers.TryAddWithoutValidation("X-Amzn-Trace-Id", $"Root={root};Parent=53995c3f42cd8ad8;Sampled=1");
            using var response = await scope.Server.Http.SendAsync(put);
            Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        }

        var traced = Assert.Single((await sqs.ReceiveMessageAsync(new Amazon.SQS.Model.ReceiveMessageRequest
        {
            QueueUrl = queueUrl,
            WaitTimeSeconds = 20,
            MessageSystemAttributeNames = ["AWSTraceHeader"],
        })).Messages);
        Assert.Equal("traced.txt", JsonDocument.Parse(traced.Body).RootElement.GetProperty("Records")[0].GetProperty("s3").GetProperty("object").GetProperty("key").GetString());
        Assert.Matches($"^Root={root};Parent=(?!53995c3f42cd8ad8)[0-9a-f]{{16}};Sampled=1$", traced.Attributes["AWSTraceHeader"]);
    });

    [Fact]
    public Task The_X_Amzn_Trace_Id_of_a_put_and_a_copy_reaches_the_function_their_notifications_invoke() => fixture.RunAsync(async scope =>
    {
        var aws = scope.Cli(AwsCli.V2);
        var function = scope.NewFunctionName();
        var zip = FunctionZips.FromSource("index.js", "exports.handler = async (event) => { console.log(`TRACE ${event.Records[0].eventName} ${process.env._X_AMZN_TRACE_ID}`); };");
        var created = await scope.Lambda.CreateFunctionAsync(function, zip, "nodejs20.x", "index.handler");
        Assert.True(created.StatusCode == 201, created.ToString());
        var bucket = BucketCliTests.NewBucketName();
        using var s3 = S3SdkTests.Client(scope.Server);
        await s3.PutBucketAsync(new PutBucketRequest { BucketName = bucket });
        await AuthClients.AllowS3Async(scope.Server, function, bucket);
        await s3.PutBucketNotificationAsync(new PutBucketNotificationRequest
        {
            BucketName = bucket,
            LambdaFunctionConfigurations = [new LambdaFunctionConfiguration { FunctionArn = Aws.FunctionArn(function), Events = [EventType.ObjectCreatedPut, EventType.ObjectCreatedCopy] }],
        });
        const string putRoot = "1-5759e988-bd862e3fe1be46a994272793";
        const string copyRoot = "1-5759e988-0123456789abcdef01234567";

        using (var put = new HttpRequestMessage(HttpMethod.Put, $"/{bucket}/a.txt") { Content = new StringContent("hello") })
        {
            put.Headers.TryAddWithoutValidation("X-Amzn-Trace-Id", $"Root={putRoot};Parent=53995c3f42cd8ad8;Sampled=1");
            using var response = await scope.Server.Http.SendAsync(put);
            Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        }

        using (var copy = new HttpRequestMessage(HttpMethod.Put, $"/{bucket}/b.txt"))
        {
            copy.Headers.TryAddWithoutValidation("x-amz-copy-source", $"/{bucket}/a.txt");
            copy.Headers.TryAddWithoutValidation("X-Amzn-Trace-Id", $"Root={copyRoot}");
            using var response = await scope.Server.Http.SendAsync(copy);
            Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        }

        // Each invocation keeps its request's Root and Sampled (0 when the caller sent none) with a Parent of its own.
        var lines = await WaitForLogLinesAsync(aws, function, "TRACE", 2);
        Assert.Contains(lines, l => System.Text.RegularExpressions.Regex.IsMatch(l, $@"\tTRACE ObjectCreated:Put Root={putRoot};Parent=(?!53995c3f42cd8ad8)[0-9a-f]{{16}};Sampled=1\s*$"));
        Assert.Contains(lines, l => System.Text.RegularExpressions.Regex.IsMatch(l, $@"\tTRACE ObjectCreated:Copy Root={copyRoot};Parent=[0-9a-f]{{16}};Sampled=0\s*$"));
    });

    /// <summary>The function's log lines containing <paramref name="term"/>, read with <c>aws logs filter-log-events</c> until there are <paramref name="count"/>.</summary>
    private static async Task<List<string>> WaitForLogLinesAsync(AwsCli aws, string function, string term, int count)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            var result = await aws.RunAsync(["logs", "filter-log-events", "--log-group-name", $"/aws/lambda/{function}", "--filter-pattern", term]);
            var lines = result.ExitCode == 0
                ? result.Json().Array("events").Select(e => e.Str("message")).Where(m => m.Contains(term, StringComparison.Ordinal)).ToList()
                : [];
            if (lines.Count >= count)
            {
                return lines;
            }

            Assert.True(deadline.Elapsed < Deadline, $"Expected {count} log lines with {term} within {Deadline.TotalSeconds} s: {result}");
            await Task.Delay(500);
        }
    }

    private static async Task<JsonElement> WaitForObjectAsync(HttpClient http, string bucket, string key)
    {
        var deadline = Stopwatch.StartNew();
        var path = $"/{bucket}/{string.Join('/', key.Split('/').Select(Uri.EscapeDataString))}";
        while (true)
        {
            using var response = await http.GetAsync(path);
            if (response.StatusCode == HttpStatusCode.OK)
            {
                return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();
            }

            Assert.True(deadline.Elapsed < Deadline, $"s3://{bucket}/{key} did not appear within {Deadline.TotalSeconds} s (last answer {(int)response.StatusCode}).");
            await Task.Delay(200);
        }
    }

    /// <summary>@aws-sdk/client-s3 from npm, installed once per checkout into artifacts/aws-sdk-client-s3/&lt;version&gt;.</summary>
    private static async Task<string> InstallClientS3Async()
    {
        var root = Path.Combine(RepositoryRoot(), "artifacts", "aws-sdk-client-s3", ClientS3Version);
        var modules = Path.Combine(root, "node_modules");
        if (File.Exists(Path.Combine(modules, "@aws-sdk", "client-s3", "package.json")))
        {
            return modules;
        }

        Directory.CreateDirectory(root);
        await File.WriteAllTextAsync(Path.Combine(root, "package.json"), """{"name":"nimbus-s3-sdk-install","version":"1.0.0","private":true}""");
        var start = new ProcessStartInfo("npm") { WorkingDirectory = root, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in (string[])["install", "--no-audit", "--no-fund", $"@aws-sdk/client-s3@{ClientS3Version}"])
        {
            start.ArgumentList.Add(argument);
        }

        using var npm = Process.Start(start)!;
        var output = npm.StandardOutput.ReadToEndAsync();
        var errors = npm.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        await npm.WaitForExitAsync(timeout.Token);
        if (npm.ExitCode != 0)
        {
            throw new InvalidOperationException($"npm install @aws-sdk/client-s3@{ClientS3Version} failed (exit {npm.ExitCode}): {await output}{await errors}");
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

        throw new InvalidOperationException($"No Nimbus.slnx above {AppContext.BaseDirectory}.");
    }
}
