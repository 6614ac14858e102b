using System.Text;
using System.Text.Json;
using Xunit.Abstractions;

namespace Nimbus.IntegrationTests;

/// <summary>
/// Issue 10, "Hostile input": every API surface gets seeded random mutations of valid requests (malformed JSON and
/// XML, wrong types, unknown fields, invalid UTF-8, deep nesting, huge values) and hand-made attacks (zip slip,
/// symlinks and bombs in zips, S3 keys with "..", control characters and over 1,024 bytes, messages over the size
/// limit, bodies over the service limit, giant headers). Each answer is a 4xx in the service's own error shape or a
/// correct success, never a 5xx; after each test the server still answers and nothing was written outside its
/// place. A failure prints its seed; rerun with NIMBUS_FUZZ_SEED=&lt;seed&gt; (and NIMBUS_FUZZ_COUNT for more cases).
/// </summary>
[Collection(HostileCollectionDefinition.Name)]
[Trait("Category", "Hostile")]
public sealed class HostileInputTests(HostileServerFixture fixture, ITestOutputHelper output)
{
    private const string Json = "application/json";
    private const string SqsJsonType = "application/x-amz-json-1.0";
    private const string LogsType = "application/x-amz-json-1.1";
    private const string Form = "application/x-www-form-urlencoded";

    private static readonly int Mutations = HostileInput.Count(40);

    [Fact]
    public Task Lambda_control_plane_answers_hostile_JSON_with_Lambda_errors() => RunAsync("lambda", async input =>
    {
        var target = "fz-" + input.Token();
        var created = await fixture.SendAsync(HttpMethod.Post, "/2015-03-31/functions", CreateBody(target, SmallZip()), Json);
        Assert.True(created.StatusCode == 201, created.ToString());
        var zip = Convert.ToBase64String(SmallZip());
        (HttpMethod Method, string Path, string Body)[] templates =
        [
            (HttpMethod.Post, "/2015-03-31/functions", Encoding.UTF8.GetString(CreateBody("fz-" + input.Token(), SmallZip()))),
            (HttpMethod.Put, $"/2015-03-31/functions/{target}/configuration", """{"Description":"d","Timeout":30,"MemorySize":256,"Environment":{"Variables":{"A":"b"}},"Handler":"index.echo"}"""),
            (HttpMethod.Put, $"/2015-03-31/functions/{target}/code", $$"""{"ZipFile":"{{zip}}","Publish":false}"""),
            (HttpMethod.Post, $"/2015-03-31/functions/{target}/versions", """{"Description":"v"}"""),
            (HttpMethod.Post, $"/2015-03-31/functions/{target}/aliases", """{"Name":"live","FunctionVersion":"$LATEST","Description":"a"}"""),
            (HttpMethod.Put, $"/2015-03-31/functions/{target}/aliases/live", """{"FunctionVersion":"$LATEST","RoutingConfig":{"AdditionalVersionWeights":{"1":0.5}}}"""),
            (HttpMethod.Post, "/2015-03-31/event-source-mappings", $$"""{"FunctionName":"{{target}}","EventSourceArn":"arn:aws:sqs:us-east-1:000000000000:fz-none","BatchSize":10,"Enabled":false}"""),
            (HttpMethod.Post, $"/2021-10-31/functions/{target}/url", """{"AuthType":"NONE","Cors":{"AllowOrigins":["*"],"MaxAge":10},"InvokeMode":"BUFFERED"}"""),
            (HttpMethod.Put, $"/2021-10-31/functions/{target}/url", """{"AuthType":"NONE","Cors":{"AllowMethods":["GET"]}}"""),
            (HttpMethod.Put, $"/2017-10-31/functions/{target}/concurrency", """{"ReservedConcurrentExecutions":2}"""),
            (HttpMethod.Put, $"/2019-09-25/functions/{target}/event-invoke-config", """{"MaximumRetryAttempts":1,"MaximumEventAgeInSeconds":60}"""),
            (HttpMethod.Post, $"/2015-03-31/functions/{target}/policy", """{"StatementId":"s1","Action":"lambda:InvokeFunction","Principal":"s3.amazonaws.com","SourceArn":"arn:aws:s3:::b"}"""),
            (HttpMethod.Post, "/2018-10-31/layers/fz-layer/versions", $$"""{"Content":{"ZipFile":"{{zip}}"},"CompatibleRuntimes":["nodejs20.x"]}"""),
            (HttpMethod.Post, $"/2015-03-31/functions/{HostileServerFixture.EchoFunction}/invocations", """{"name":"fuzz","list":[1,2,3],"nested":{"a":"b"}}"""),
        ];

        foreach (var (method, path, body) in templates)
        {
            foreach (var hostile in input.Mutations(body, Mutations / 4 + 1))
            {
                var result = await fixture.SendAsync(method, path, hostile.Bytes, Json);
                AssertAnswer(Surface.Lambda, result, $"{method} {path} with {hostile.Describe()}", hostile.MustFail);
            }
        }

        foreach (var type in new[] { "Event", "DryRun" })
        {
            foreach (var hostile in input.Mutations("""{"n":1}""", Mutations / 4 + 1))
            {
                var result = await fixture.SendAsync(HttpMethod.Post, $"/2015-03-31/functions/{HostileServerFixture.EchoFunction}/invocations", hostile.Bytes, Json,
                    new Dictionary<string, string> { ["X-Amz-Invocation-Type"] = type });
                AssertAnswer(Surface.Lambda, result, $"Invoke {type} with {hostile.Describe()}", mustFail: false);
            }
        }

        // Hostile paths, qualifiers, names and headers.
        foreach (var path in new[]
        {
            "/2015-03-31/functions/%00", "/2015-03-31/functions/..%2F..%2Fetc", "/2015-03-31/functions/" + new string('a', 3000),
            $"/2015-03-31/functions/{target}?Qualifier=%FF%FE", $"/2015-03-31/functions/{target}?Qualifier=" + new string('1', 200),
            "/2015-03-31/functions?MaxItems=-1", "/2015-03-31/functions?MaxItems=99999999999999", "/2015-03-31/functions?Marker=%FF%00",
            $"/2015-03-31/functions/{target}/aliases/%2e%2e", "/2015-03-31/event-source-mappings/not-a-uuid", $"/2015-03-31/functions/{target}/policy/%00",
            "/2018-10-31/layers/x/versions/-1", "/2018-10-31/layers/x/versions/99999999999999999999",
            "/2015-03-31/functions/arn:aws:lambda:us-east-1:000000000000:function:" + target + ":%24LATEST:extra",
        })
        {
            AssertAnswer(Surface.Lambda, await fixture.SendAsync(HttpMethod.Get, path, null, null), $"GET {Shown(path)}", mustFail: false);
        }

        var giantHeaders = new Dictionary<string, string>
        {
            ["X-Amz-Client-Context"] = Convert.ToBase64String(new byte[8_000]),
            ["X-Amz-Invocation-Type"] = new string('E', 10_000),
            ["X-Amz-Log-Type"] = "Tail, None",
        };
        foreach (var (name, value) in giantHeaders)
        {
            var result = await fixture.SendAsync(HttpMethod.Post, $"/2015-03-31/functions/{HostileServerFixture.EchoFunction}/invocations", "{}"u8.ToArray(), Json,
                new Dictionary<string, string> { [name] = value });
            AssertAnswer(Surface.Lambda, result, $"Invoke with a hostile {name} header", mustFail: true);
        }

        // Bodies over the operation's limit.
        var overConfig = await fixture.SendAsync(HttpMethod.Put, $"/2015-03-31/functions/{target}/configuration", Encoding.UTF8.GetBytes($$"""{"Description":"{{new string('d', 1_100_000)}}"}"""), Json);
        AssertAnswer(Surface.Lambda, overConfig, "UpdateFunctionConfiguration over 1 MiB", mustFail: true);
        Assert.Equal(413, overConfig.StatusCode);
        var overSync = await fixture.SendAsync(HttpMethod.Post, $"/2015-03-31/functions/{HostileServerFixture.EchoFunction}/invocations", Encoding.UTF8.GetBytes($$"""{"a":"{{new string('p', 6_300_000)}}"}"""), Json);
        AssertAnswer(Surface.Lambda, overSync, "a synchronous Invoke over 6 MB", mustFail: true);
        Assert.Equal(413, overSync.StatusCode);
        var overAsync = await fixture.SendAsync(HttpMethod.Post, $"/2015-03-31/functions/{HostileServerFixture.EchoFunction}/invocations", Encoding.UTF8.GetBytes($$"""{"a":"{{new string('p', 1_100_000)}}"}"""), Json,
            new Dictionary<string, string> { ["X-Amz-Invocation-Type"] = "Event" });
        AssertAnswer(Surface.Lambda, overAsync, "an asynchronous Invoke over 1 MiB", mustFail: true);
        Assert.Equal(413, overAsync.StatusCode);

        // The echo function still answers correctly.
        var echo = await fixture.SendTextAsync(HttpMethod.Post, $"/2015-03-31/functions/{HostileServerFixture.EchoFunction}/invocations", """{"after":"fuzz"}""", Json);
        Assert.True(echo.StatusCode == 200 && echo.Header("X-Amz-Function-Error") is null, echo.ToString());
        Assert.Equal("fuzz", echo.Json().GetProperty("echo").GetProperty("after").GetString());
    });

    [Fact]
    public Task Deployment_packages_with_zip_slip_symlinks_and_bombs_are_refused_or_contained() => RunAsync("zips", async input =>
    {
        var marker = HostileServerFixture.EscapeMarker;
        var index = Encoding.UTF8.GetBytes("exports.echo = async (e) => e;");
        var file = HostileInput.RegularFile;
        (string Kind, Func<byte[]> Zip, bool MustFail)[] packages =
        [
            ("zip slip ../", () => HostileInput.Zip(("index.js", index, file), ($"../../../{marker}-slip.txt", "x"u8.ToArray(), file)), true),
            ("zip slip nested", () => HostileInput.Zip(("index.js", index, file), ($"a/b/../../../{marker}-nested.txt", "x"u8.ToArray(), file)), true),
            ("absolute path", () => HostileInput.Zip(("index.js", index, file), ($"/tmp/{marker}-absolute.txt", "x"u8.ToArray(), file)), true),
            ("backslash slip", () => HostileInput.Zip(("index.js", index, file), ($"..\\..\\{marker}-backslash.txt", "x"u8.ToArray(), file)), true),
            ("duplicate entries", () => HostileInput.Zip(("index.js", index, file), ("index.js", index, file)), true),
            ("file and directory of one name", () => HostileInput.Zip(("index.js", index, file), ("lib", "x"u8.ToArray(), file), ("lib/inner.js", index, file)), true),
            ("declared size smaller than the data (refused, not truncated)", () => HostileInput.LyingZip("index.js", 4 * 1024 * 1024, 100), true),
            ("declared size larger than the data", () => HostileInput.LyingZip("index.js", 1024, 200_000_000), true),
            ("ratio bomb over 250 MB unzipped", () => HostileInput.ZerosZip("bomb.bin", 300L * 1024 * 1024), true),
            ("not a zip", () => FunctionZips.NotAZip(), true),
            ("empty file", () => [], true),
            ("truncated zip", () => SmallZip()[..40], true),
            ("symlink to /etc/passwd", () => HostileInput.Zip(("index.js", index, file), ("passwd", "/etc/passwd"u8.ToArray(), HostileInput.Symlink)), false),
            ("symlink out of the package", () => HostileInput.Zip(("index.js", index, file), ($"{marker}-link", Encoding.UTF8.GetBytes($"../../../../{marker}-target"), HostileInput.Symlink)), false),
        ];

        foreach (var (kind, build, mustFail) in packages)
        {
            var name = "fz-zip-" + input.Token();
            var bytes = build();
            var created = await fixture.SendAsync(HttpMethod.Post, "/2015-03-31/functions", CreateBody(name, bytes), Json);
            AssertAnswer(Surface.Lambda, created, $"CreateFunction with a package: {kind}", mustFail);
            if (mustFail)
            {
                Assert.True(created.Header("x-amzn-ErrorType") is "InvalidParameterValueException" or "RequestEntityTooLargeException", $"{kind}: {created}");
            }

            var layer = await fixture.SendAsync(HttpMethod.Post, $"/2018-10-31/layers/fz-{input.Token()}/versions",
                Encoding.UTF8.GetBytes($$$"""{"Content":{"ZipFile":"{{{Convert.ToBase64String(bytes)}}}"}}"""), Json);
            AssertAnswer(Surface.Lambda, layer, $"PublishLayerVersion with a package: {kind}", mustFail);
            await fixture.AssertHealthyAsync();
        }

        // More entries than the cap (100,000; zip64, as over 65,535 entries must be) is refused before anything is stored or unpacked.
        var crowded = HostileInput.Zip([("index.js", index, file), .. Enumerable.Range(0, 100_000).Select(i => ($"f/{i}", Array.Empty<byte>(), file))]);
        var crowdedHash = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(crowded));
        foreach (var (operation, path, body) in new[]
        {
            ("CreateFunction", "/2015-03-31/functions", CreateBody("fz-crowded-" + input.Token(), crowded)),
            ("PublishLayerVersion", $"/2018-10-31/layers/fz-crowded-{input.Token()}/versions", Encoding.UTF8.GetBytes($$$"""{"Content":{"ZipFile":"{{{Convert.ToBase64String(crowded)}}}"}}""")),
        })
        {
            var refused = await fixture.SendAsync(HttpMethod.Post, path, body, Json);
            AssertAnswer(Surface.Lambda, refused, $"{operation} with a package of 100,001 entries", mustFail: true);
            Assert.True(refused.Header("x-amzn-ErrorType") == "InvalidParameterValueException" && refused.Text.Contains("100001 entries, more than the 100000", StringComparison.Ordinal), refused.ToString());
        }

        Assert.False(File.Exists(Path.Combine(fixture.Root, "data", "code", "zips", crowdedHash + ".zip")), "A refused package was stored.");
        Assert.False(Directory.Exists(Path.Combine(fixture.Root, "data", "code", "unpacked", crowdedHash)), "A refused package was unpacked.");

        // A package over 50 MB zipped is refused before anything is stored.
        var tooBig = new byte[(50 * 1024 * 1024) + 1024];
        tooBig[0] = (byte)'P';
        var over = await fixture.SendAsync(HttpMethod.Post, "/2015-03-31/functions", CreateBody("fz-big-" + input.Token(), tooBig), Json);
        AssertAnswer(Surface.Lambda, over, "CreateFunction with a 50 MB + 1 KiB package", mustFail: true);
        Assert.Equal(413, over.StatusCode);

        // Symlinks were stored as plain files: nothing under the code store points anywhere.
        var links = Directory.EnumerateFileSystemEntries(Path.Combine(fixture.Root, "data", "code"), "*", SearchOption.AllDirectories)
            .Where(path => new FileInfo(path).LinkTarget is not null).ToList();
        Assert.True(links.Count == 0, $"Symlinks from zips reached the code store: {string.Join(", ", links)}");
    });

    [Fact]
    public Task SQS_JSON_and_query_answer_hostile_input_with_SQS_errors() => RunAsync("sqs", async input =>
    {
        var queue = "fz-" + input.Token();
        var created = await fixture.SqsJsonAsync("CreateQueue", $$$"""{"QueueName":"{{{queue}}}","Attributes":{"MaximumMessageSize":"262144"}}""");
        Assert.True(created.StatusCode == 200, created.ToString());
        var url = created.Json().GetProperty("QueueUrl").GetString()!;
        (string Operation, string Body)[] templates =
        [
            ("SendMessage", $$$"""{"QueueUrl":"{{{url}}}","MessageBody":"hello","DelaySeconds":0,"MessageAttributes":{"a":{"DataType":"String","StringValue":"v"} } }"""),
            ("SendMessageBatch", $$"""{"QueueUrl":"{{url}}","Entries":[{"Id":"1","MessageBody":"a"},{"Id":"2","MessageBody":"b"}]}"""),
            ("ReceiveMessage", $$"""{"QueueUrl":"{{url}}","MaxNumberOfMessages":2,"WaitTimeSeconds":0,"MessageAttributeNames":["All"]}"""),
            ("DeleteMessage", $$"""{"QueueUrl":"{{url}}","ReceiptHandle":"AQEBabc"}"""),
            ("DeleteMessageBatch", $$"""{"QueueUrl":"{{url}}","Entries":[{"Id":"1","ReceiptHandle":"AQEBabc"}]}"""),
            ("ChangeMessageVisibility", $$"""{"QueueUrl":"{{url}}","ReceiptHandle":"AQEBabc","VisibilityTimeout":10}"""),
            ("SetQueueAttributes", $$$"""{"QueueUrl":"{{{url}}}","Attributes":{"VisibilityTimeout":"5","RedrivePolicy":"{\"deadLetterTargetArn\":\"arn:aws:sqs:us-east-1:000000000000:x\",\"maxReceiveCount\":\"3\"}"}}"""),
            ("GetQueueAttributes", $$"""{"QueueUrl":"{{url}}","AttributeNames":["All"]}"""),
            ("CreateQueue", """{"QueueName":"fz-q.fifo","Attributes":{"FifoQueue":"true"},"tags":{"k":"v"}}"""),
            ("TagQueue", $$$"""{"QueueUrl":"{{{url}}}","Tags":{"k":"v"}}"""),
            ("ListQueues", """{"QueueNamePrefix":"fz","MaxResults":5}"""),
        ];
        foreach (var (operation, body) in templates)
        {
            foreach (var hostile in input.Mutations(body, Mutations / 4 + 1))
            {
                var result = await fixture.SendAsync(HttpMethod.Post, "/", hostile.Bytes, SqsJsonType, new Dictionary<string, string> { ["X-Amz-Target"] = "AmazonSQS." + operation });
                AssertAnswer(Surface.SqsJson, result, $"{operation} with {hostile.Describe()}", hostile.MustFail);
            }
        }

        // The query protocol: hostile parameter names and values, too many, too long.
        var queuePath = new Uri(url).AbsolutePath;
        foreach (var i in Enumerable.Range(0, Mutations))
        {
            var form = input.Next(6) switch
            {
                0 => $"Action=SendMessage&MessageBody={Uri.EscapeDataString(input.Pick(HostileStrings))}",
                1 => $"Action=SendMessage&MessageBody=x&DelaySeconds={Uri.EscapeDataString(input.Pick(HostileStrings))}",
                2 => $"Action=ReceiveMessage&MaxNumberOfMessages={Uri.EscapeDataString(input.Pick(HostileStrings))}&AttributeName.1=All",
                3 => $"Action=SendMessageBatch&SendMessageBatchRequestEntry.{input.Pick(HostileStrings)}.Id=1&SendMessageBatchRequestEntry.1.MessageBody=x",
                4 => $"Action=SetQueueAttributes&Attribute.1.Name={Uri.EscapeDataString(input.Pick(HostileStrings))}&Attribute.1.Value=1",
                _ => $"Action=SendMessage&MessageBody=x&MessageAttribute.1.Name=a&MessageAttribute.1.Value.DataType={Uri.EscapeDataString(input.Pick(HostileStrings))}&MessageAttribute.1.Value.StringValue=v",
            };
            var result = await fixture.SendAsync(HttpMethod.Post, queuePath, Encoding.UTF8.GetBytes(form + "&Version=2012-11-05"), Form);
            AssertAnswer(Surface.SqsQuery, result, $"query {form}", mustFail: false);
        }

        var manyKeys = "Action=SendMessage&MessageBody=x&" + string.Join('&', Enumerable.Range(0, 2_000).Select(i => $"k{i}=v"));
        AssertAnswer(Surface.SqsQuery, await fixture.SendAsync(HttpMethod.Post, queuePath, Encoding.UTF8.GetBytes(manyKeys), Form), "a form with 2,000 fields", mustFail: true);
        var longValue = "Action=SendMessage&MessageBody=" + new string('v', 5 * 1024 * 1024);
        AssertAnswer(Surface.SqsQuery, await fixture.SendAsync(HttpMethod.Post, queuePath, Encoding.UTF8.GetBytes(longValue), Form), "a form value of 5 MiB", mustFail: true);
        var invalidUtf8Form = Encoding.UTF8.GetBytes("Action=SendMessage&MessageBody=").Concat(new byte[] { 0xFF, 0xFE, 0xC3, 0x28 }).ToArray();
        AssertAnswer(Surface.SqsQuery, await fixture.SendAsync(HttpMethod.Post, queuePath, invalidUtf8Form, Form), "a form with invalid UTF-8", mustFail: false);

        // Messages over the queue's limit (256 KiB here) and over SQS's 1 MiB limit; contents SQS refuses.
        var over256 = await fixture.SqsJsonAsync("SendMessage", JsonSerializer.Serialize(new { QueueUrl = url, MessageBody = new string('m', 262_145) }));
        AssertAnswer(Surface.SqsJson, over256, "a message of 256 KiB + 1 byte", mustFail: true);
        var defaultQueue = fixture.QueueUrl;
        var overMiB = await fixture.SqsJsonAsync("SendMessage", JsonSerializer.Serialize(new { QueueUrl = defaultQueue, MessageBody = new string('m', 1_048_577) }));
        AssertAnswer(Surface.SqsJson, overMiB, "a message of 1 MiB + 1 byte", mustFail: true);
        var overBatch = await fixture.SqsJsonAsync("SendMessageBatch", JsonSerializer.Serialize(new
        {
            QueueUrl = url,
            Entries = Enumerable.Range(0, 2).Select(i => new { Id = i.ToString(System.Globalization.CultureInfo.InvariantCulture), MessageBody = new string('m', 200_000) }),
        }));
        AssertAnswer(Surface.SqsJson, overBatch, "a batch of 400 KB in total", mustFail: true);
        var overRequest = await fixture.SendAsync(HttpMethod.Post, "/", new byte[17 * 1024 * 1024], SqsJsonType, new Dictionary<string, string> { ["X-Amz-Target"] = "AmazonSQS.SendMessage" });
        AssertAnswer(Surface.SqsJson, overRequest, "a 17 MiB request body", mustFail: true);
        foreach (var bad in new[] { "\u0000", "a\uFFFEb", "\u0008" })
        {
            var result = await fixture.SqsJsonAsync("SendMessage", JsonSerializer.Serialize(new { QueueUrl = url, MessageBody = bad }));
            AssertAnswer(Surface.SqsJson, result, $"a message with U+{(int)bad[^1]:X4}", mustFail: true);
        }

        var unknown = await fixture.SendAsync(HttpMethod.Post, "/", "{}"u8.ToArray(), SqsJsonType, new Dictionary<string, string> { ["X-Amz-Target"] = "AmazonSQS." + new string('X', 5_000) });
        AssertAnswer(Surface.SqsJson, unknown, "an unknown operation of 5,000 characters", mustFail: true);
    });

    [Fact]
    public Task S3_keys_with_dots_control_characters_and_over_1024_bytes_are_stored_exactly_or_refused() => RunAsync("s3-keys", async input =>
    {
        var marker = HostileServerFixture.EscapeMarker;
        var bucket = HostileServerFixture.Bucket;
        string[] keys =
        [
            "..", ".", "../" + marker, "../../../" + marker, "a/../../" + marker, "%2e%2e/%2e%2e/" + marker, "%2E%2E%2F%2E%2E%2F" + marker, "a/./b",
            "./" + marker, "a//b", "/leading", "trailing/", "a\\..\\..\\" + marker, "%00", "nul%00after", "%01%02%03%1F%7F", "tab%09new%0Aline%0D",
            "%FF%FE", "%C3%28", "%ED%A0%80", "caf%C3%A9", "%E2%80%AE" + "rtl", "space%20and+plus", "q%3Fmark%23hash", "percent%25",
            new string('k', 1024), new string('k', 1025), string.Concat(Enumerable.Repeat("%C3%A9", 513)), string.Concat(Enumerable.Repeat("a/", 600)),
            new string('/', 50), "emoji%F0%9F%98%80", "%F0%9F%98",
        ];
        foreach (var key in keys)
        {
            var body = Encoding.UTF8.GetBytes($"content of {key} {input.Token()}");
            var path = $"/{bucket}/{key}";
            var put = await fixture.SendAsync(HttpMethod.Put, path, body, "text/plain");
            AssertAnswer(Surface.S3, put, $"PUT key {Shown(key)}", mustFail: key.Length > 1024 && !key.Contains('%', StringComparison.Ordinal));
            if (put.StatusCode != 200)
            {
                continue;
            }

            var get = await fixture.SendAsync(HttpMethod.Get, path, null, null);
            Assert.True(get.StatusCode == 200 && get.Body.AsSpan().SequenceEqual(body), $"Key {Shown(key)} was accepted but does not read back.{Environment.NewLine}{get}");
            var delete = await fixture.SendAsync(HttpMethod.Delete, path, null, null);
            Assert.True(delete.StatusCode == 204, delete.ToString());
        }

        // Hostile bucket names and sub-resources.
        foreach (var path in new[]
        {
            "/..", "/%2e%2e/x", "/" + new string('b', 300), "/UPPER/x", "/a..b/x", "/192.168.0.1/x", "/-bucket/x", "/bucket-/x", "/xn--bucket/x", "/b%00/x",
            $"/{bucket}?list-type=2&continuation-token=%FF%FE%00", $"/{bucket}?list-type=2&continuation-token=" + Convert.ToBase64String(Encoding.UTF8.GetBytes("../../" + marker)),
            $"/{bucket}?max-keys=-1", $"/{bucket}?max-keys=99999999999999999999", $"/{bucket}?max-keys=abc", $"/{bucket}?prefix=%FF&delimiter=%00",
            $"/{bucket}?encoding-type=evil", $"/{bucket}?uploads&max-uploads=-5", $"/{bucket}/k?uploadId=%00&max-parts=-1", $"/{bucket}/k?partNumber=0&uploadId=x",
        })
        {
            foreach (var method in new[] { HttpMethod.Get, HttpMethod.Put, HttpMethod.Delete, HttpMethod.Head })
            {
                if (method == HttpMethod.Delete && path.StartsWith($"/{bucket}?", StringComparison.Ordinal))
                {
                    // DeleteBucket of the shared bucket: refused anyway (its sentinel object keeps it non-empty), not worth the risk.
                    continue;
                }

                var result = await fixture.SendAsync(method, path, method == HttpMethod.Put ? "x"u8.ToArray() : null, null);
                AssertAnswer(Surface.S3, result, $"{method} {Shown(path)}", mustFail: false, head: method == HttpMethod.Head);
                if (method == HttpMethod.Put && result.StatusCode == 200 && path.StartsWith($"/{bucket}/", StringComparison.Ordinal))
                {
                    await fixture.SendAsync(HttpMethod.Delete, path, null, null);
                }
            }
        }

        // Hostile headers on a PUT: giant metadata, bad digests, bad ranges, hostile copy sources.
        var hostileHeaders = new (string Name, string Value, bool MustFail)[]
        {
            ("x-amz-meta-big", new string('m', 3_000), true),
            ("x-amz-meta-many", string.Join(',', Enumerable.Repeat("v", 2_000)), true),
            ("Content-MD5", "not-base64!", true),
            ("Content-MD5", Convert.ToBase64String(new byte[16]), true),
            ("x-amz-checksum-crc32", "%%%", true),
            ("x-amz-checksum-sha256", Convert.ToBase64String(new byte[5]), true),
            ("x-amz-copy-source", $"/{bucket}/../../{marker}", true),
            ("x-amz-copy-source", "%FF%FE/%00", true),
            ("x-amz-copy-source", "/nonexistent-bucket/key", true),
            ("x-amz-copy-source", new string('/', 5_000), true),
            ("x-amz-metadata-directive", "EVIL", false),
            ("x-amz-decoded-content-length", "-1", false),
            ("x-amz-meta-", "v", false),
            ("x-amz-storage-class", "GLACIER_OF_DOOM", false),
            ("Expires", "not a date", false),
            ("x-fuzz-giant", new string('g', 16_000), false),
        };
        foreach (var (name, value, mustFail) in hostileHeaders)
        {
            var result = await fixture.SendAsync(HttpMethod.Put, $"/{bucket}/hdr-{input.Token()}", "body"u8.ToArray(), "text/plain", new Dictionary<string, string> { [name] = value });
            AssertAnswer(Surface.S3, result, $"PUT with {name}: {Shown(value)}", mustFail);
        }

        var put2 = await fixture.SendAsync(HttpMethod.Put, $"/{bucket}/range-target", "0123456789"u8.ToArray(), "text/plain");
        Assert.Equal(200, put2.StatusCode);
        foreach (var range in new[] { "bytes=5-2", "bytes=-0", "bytes=99-", "bytes=0-99999999999999999999999", "bytes=a-b", "bytes=" + string.Join(',', Enumerable.Repeat("0-1", 2_000)), "chars=0-1", "bytes=--1" })
        {
            var result = await fixture.SendAsync(HttpMethod.Get, $"/{bucket}/range-target", null, null, new Dictionary<string, string> { ["Range"] = range });
            AssertAnswer(Surface.S3, result, $"GET with Range {Shown(range)}", mustFail: false);
        }

        foreach (var (name, value) in new[] { ("If-Modified-Since", "garbage"), ("If-Match", "\"" + new string('e', 9_000) + "\""), ("If-None-Match", "*"), ("If-Unmodified-Since", "Mon, 99 Foo 9999 99:99:99 GMT") })
        {
            var result = await fixture.SendAsync(HttpMethod.Get, $"/{bucket}/range-target", null, null, new Dictionary<string, string> { [name] = value });
            AssertAnswer(Surface.S3, result, $"GET with {name}", mustFail: false);
        }

        // Kestrel itself refuses headers over its 32 KB total: a 4xx, before any service code runs.
        var giant = await fixture.SendAsync(HttpMethod.Get, $"/{bucket}/range-target", null, null, new Dictionary<string, string> { ["x-fuzz-giant"] = new string('g', 64_000) });
        Assert.True(giant.StatusCode is 431 or 400, giant.ToString());
    });

    [Fact]
    public Task S3_XML_bodies_for_DeleteObjects_CompleteMultipartUpload_and_notifications_are_refused_with_S3_errors() => RunAsync("s3-xml", async input =>
    {
        var bucket = HostileServerFixture.Bucket;
        var initiated = await fixture.SendAsync(HttpMethod.Post, $"/{bucket}/mpu?uploads", null, null);
        Assert.True(initiated.StatusCode == 200, initiated.ToString());
        var uploadId = System.Xml.Linq.XDocument.Parse(initiated.Text).Descendants().First(e => e.Name.LocalName == "UploadId").Value;
        var part = await fixture.SendAsync(HttpMethod.Put, $"/{bucket}/mpu?partNumber=1&uploadId={uploadId}", "part one"u8.ToArray(), null);
        Assert.True(part.StatusCode == 200, part.ToString());
        var etag = part.Header("ETag")!;

        (string Kind, string Path, HttpMethod Method, string Xml)[] templates =
        [
            ("DeleteObjects", $"/{bucket}?delete", HttpMethod.Post,
                """<Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Object><Key>a</Key></Object><Object><Key>b</Key><VersionId>v</VersionId></Object><Quiet>false</Quiet></Delete>"""),
            ("CompleteMultipartUpload", $"/{bucket}/mpu?uploadId={uploadId}", HttpMethod.Post,
                $"""<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>{System.Security.SecurityElement.Escape(etag)}</ETag></Part></CompleteMultipartUpload>"""),
            ("PutBucketNotificationConfiguration", $"/{bucket}?notification", HttpMethod.Put,
                $$"""<NotificationConfiguration><CloudFunctionConfiguration><Id>n1</Id><CloudFunction>arn:aws:lambda:us-east-1:000000000000:function:fz-none</CloudFunction><Event>s3:ObjectCreated:*</Event><Filter><S3Key><FilterRule><Name>prefix</Name><Value>in/</Value></FilterRule></S3Key></Filter></CloudFunctionConfiguration></NotificationConfiguration>"""),
            ("CreateBucket", $"/fz-{input.Token()}", HttpMethod.Put,
                """<CreateBucketConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><LocationConstraint>eu-west-1</LocationConstraint></CreateBucketConfiguration>"""),
        ];

        foreach (var (kind, path, method, xml) in templates)
        {
            foreach (var hostile in XmlMutations(input, xml, Mutations / 2 + 1))
            {
                var result = await fixture.SendAsync(method, path, hostile.Bytes, "application/xml");

                AssertAnswer(Surface.S3, result, $"{kind} with {hostile.Describe()}", hostile.MustFail);
                Assert.DoesNotContain("root:", result.Text, StringComparison.Ordinal);
            }
        }

        // CreateBucket reads its body as S3 does: MalformedXML, and the location constraints S3 refuses on a us-east-1 endpoint.
        foreach (var (body, code) in new[]
        {
            ("<CreateBucketConfiguration><LocationConstraint>eu-west-1</LocationConstraint>", "MalformedXML"),
            ("<CreateBucket/>", "MalformedXML"),
            ("<CreateBucketConfiguration><LocationConstraint>eu-west-1</LocationConstraint><LocationConstraint>eu-west-1</LocationConstraint></CreateBucketConfiguration>", "MalformedXML"),
            ("<CreateBucketConfiguration><LocationConstraint>us-east-1</LocationConstraint></CreateBucketConfiguration>", "InvalidLocationConstraint"),
            ("<CreateBucketConfiguration><LocationConstraint>../fuzzescape</LocationConstraint></CreateBucketConfiguration>", "InvalidLocationConstraint"),
        })
        {
            var name = $"fz-{input.Token()}";
            var refused = await fixture.SendAsync(HttpMethod.Put, "/" + name, Encoding.UTF8.GetBytes(body), "application/xml");
            AssertAnswer(Surface.S3, refused, $"CreateBucket with {body}", mustFail: true);
            Assert.True(HostileServerFixture.S3Code(refused) == code, $"CreateBucket with {body} should be {code}: {refused}");
            Assert.Equal(404, (await fixture.SendAsync(HttpMethod.Head, "/" + name, null, null)).StatusCode);
        }

        var tooMany = "<Delete>" + string.Concat(Enumerable.Range(0, 1_001).Select(i => $"<Object><Key>k{i}</Key></Object>")) + "</Delete>";
        AssertAnswer(Surface.S3, await fixture.SendAsync(HttpMethod.Post, $"/{bucket}?delete", Encoding.UTF8.GetBytes(tooMany), "application/xml"), "DeleteObjects with 1,001 keys", mustFail: true);
        var overLong = "<Delete><Object><Key>" + new string('k', 1025) + "</Key></Object></Delete>";
        var deleteLong = await fixture.SendAsync(HttpMethod.Post, $"/{bucket}?delete", Encoding.UTF8.GetBytes(overLong), "application/xml");
        AssertAnswer(Surface.S3, deleteLong, "DeleteObjects with a key over 1,024 bytes", mustFail: false);
        var giantXml = "<Delete><Object><Key>" + new string('k', 30 * 1024 * 1024) + "</Key></Object></Delete>";
        AssertAnswer(Surface.S3, await fixture.SendAsync(HttpMethod.Post, $"/{bucket}?delete", Encoding.UTF8.GetBytes(giantXml), "application/xml"), "DeleteObjects with a 30 MB body", mustFail: true);

        var stillThere = await fixture.SendAsync(HttpMethod.Get, $"/{bucket}/mpu?uploadId={uploadId}", null, null);
        AssertAnswer(Surface.S3, stillThere, "ListParts after the hostile completes", mustFail: false);
        await fixture.SendAsync(HttpMethod.Delete, $"/{bucket}/mpu?uploadId={uploadId}", null, null);
        await fixture.SendAsync(HttpMethod.Delete, $"/{bucket}/mpu", null, null);
        await fixture.SendAsync(HttpMethod.Delete, $"/{bucket}?notification", null, null);
        var reset = await fixture.SendAsync(HttpMethod.Put, $"/{bucket}?notification", "<NotificationConfiguration/>"u8.ToArray(), "application/xml");
        Assert.True(reset.StatusCode == 200, reset.ToString());
    });

    [Fact]
    public Task Logs_CloudWatch_and_Scheduler_answer_hostile_JSON_with_their_own_errors() => RunAsync("logs-metrics-scheduler", async input =>
    {
        var group = HostileServerFixture.LogGroup;
        var stream = HostileServerFixture.LogStream;
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        (string Operation, string Body)[] logs =
        [
            ("PutLogEvents", $$"""{"logGroupName":"{{group}}","logStreamName":"{{stream}}","logEvents":[{"timestamp":{{now}},"message":"m"}]}"""),
            ("CreateLogGroup", $$$"""{"logGroupName":"/fz/{{{input.Token()}}}","tags":{"k":"v"}}"""),
            ("CreateLogStream", $$"""{"logGroupName":"{{group}}","logStreamName":"s-{{input.Token()}}"}"""),
            ("GetLogEvents", $$"""{"logGroupName":"{{group}}","logStreamName":"{{stream}}","startFromHead":true,"limit":10,"nextToken":"f/123"}"""),
            ("FilterLogEvents", $$"""{"logGroupName":"{{group}}","filterPattern":"{ $.level = \"ERROR\" && $.n > 5 }","startTime":0,"limit":5}"""),
            ("FilterLogEvents", $$"""{"logGroupName":"{{group}}","filterPattern":"[ip, user, status=5*, size > 10]","interleaved":true}"""),
            ("DescribeLogGroups", """{"logGroupNamePrefix":"/","limit":5,"nextToken":"abc"}"""),
            ("DescribeLogStreams", $$"""{"logGroupName":"{{group}}","orderBy":"LastEventTime","descending":true}"""),
            ("PutRetentionPolicy", """{"logGroupName":"/fz/none","retentionInDays":7}"""),
        ];
        foreach (var (operation, body) in logs)
        {
            foreach (var hostile in input.Mutations(body, Mutations / 4 + 1))
            {
                var result = await fixture.SendAsync(HttpMethod.Post, "/", hostile.Bytes, LogsType, new Dictionary<string, string> { ["X-Amz-Target"] = "Logs_20140328." + operation });
                AssertAnswer(Surface.Logs, result, $"{operation} with {hostile.Describe()}", hostile.MustFail);
            }
        }

        foreach (var pattern in HostileFilterPatterns)
        {
            var body = JsonSerializer.Serialize(new { logGroupName = group, filterPattern = pattern });
            var result = await fixture.SendAsync(HttpMethod.Post, "/", Encoding.UTF8.GetBytes(body), LogsType, new Dictionary<string, string> { ["X-Amz-Target"] = "Logs_20140328.FilterLogEvents" });
            AssertAnswer(Surface.Logs, result, $"FilterLogEvents with pattern {Shown(pattern)}", mustFail: false);
        }

        var overLogs = await fixture.SendAsync(HttpMethod.Post, "/", Encoding.UTF8.GetBytes($$"""{"logGroupName":"{{group}}","logStreamName":"{{stream}}","logEvents":[{"timestamp":{{now}},"message":"{{new string('m', 2 * 1024 * 1024)}}"}]}"""),
            LogsType, new Dictionary<string, string> { ["X-Amz-Target"] = "Logs_20140328.PutLogEvents" });
        AssertAnswer(Surface.Logs, overLogs, "PutLogEvents over the 1 MB batch limit", mustFail: true);

        var start = DateTimeOffset.UtcNow.AddHours(-1).ToUnixTimeSeconds();
        var end = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        (string Operation, string Body)[] metrics =
        [
            ("GetMetricStatistics", $$"""{"Namespace":"AWS/Lambda","MetricName":"Invocations","Dimensions":[{"Name":"FunctionName","Value":"x"}],"StartTime":{{start}},"EndTime":{{end}},"Period":60,"Statistics":["Sum","Average"]}"""),
            ("GetMetricData", $$"""{"MetricDataQueries":[{"Id":"q1","MetricStat":{"Metric":{"Namespace":"AWS/Lambda","MetricName":"Errors"},"Period":60,"Stat":"Sum"},"ReturnData":true}],"StartTime":{{start}},"EndTime":{{end}},"MaxDatapoints":100}"""),
            ("ListMetrics", """{"Namespace":"AWS/Lambda","MetricName":"Duration","Dimensions":[{"Name":"FunctionName"}],"RecentlyActive":"PT3H"}"""),
            ("PutMetricData", """{"Namespace":"Fuzz","MetricData":[{"MetricName":"m","Value":1}]}"""),
        ];
        foreach (var (operation, body) in metrics)
        {
            foreach (var hostile in input.Mutations(body, Mutations / 4 + 1))
            {
                var result = await fixture.SendAsync(HttpMethod.Post, "/", hostile.Bytes, SqsJsonType, new Dictionary<string, string> { ["X-Amz-Target"] = "GraniteServiceVersion20100801." + operation });
                AssertAnswer(Surface.CloudWatchJson, result, $"CloudWatch {operation} with {hostile.Describe()}", hostile.MustFail);
            }
        }

        foreach (var i in Enumerable.Range(0, Mutations / 2))
        {
            var form = $"Action=GetMetricStatistics&Version=2010-08-01&Namespace={Uri.EscapeDataString(input.Pick(HostileStrings))}&MetricName=Invocations"
                + $"&StartTime={Uri.EscapeDataString(input.Pick(HostileStrings))}&EndTime=2030-01-01T00:00:00Z&Period={Uri.EscapeDataString(input.Pick(HostileStrings))}"
                + $"&Statistics.member.{input.Pick(HostileStrings)}=Sum&Dimensions.member.1.Name=FunctionName&Dimensions.member.1.Value={Uri.EscapeDataString(input.Pick(HostileStrings))}";
            var request = new HttpRequestMessage(HttpMethod.Post, new Uri(fixture.Server.Endpoint + "/")) { Content = new ByteArrayContent(Encoding.UTF8.GetBytes(form)) };
            request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue(Form);
            var body = Encoding.UTF8.GetBytes(form);
            SigV4SigningHandler.Sign(request, body, "monitoring", NimbusServer.RootAccessKeyId, NimbusServer.RootSecretAccessKey, Aws.Region, DateTime.UtcNow);
            var headers = request.Headers.ToDictionary(h => h.Key, h => string.Join(",", h.Value));
            request.Dispose();
            // Signed here as CloudWatch, so sent as it is: the hostile values reach the query parser, not the signature check.
            var result = await fixture.SendAsync(HttpMethod.Post, "/", body, Form, headers, signed: false);
            AssertAnswer(Surface.CloudWatchQuery, result, $"CloudWatch query {form}", mustFail: false);
            Assert.True(result.StatusCode != 403, $"The CloudWatch query request did not reach the parser: {result}");
        }

        (HttpMethod Method, string Path, string Body)[] scheduler =
        [
            (HttpMethod.Post, $"/schedules/fz-{input.Token()}", """{"ScheduleExpression":"rate(1 day)","FlexibleTimeWindow":{"Mode":"OFF"},"Target":{"Arn":"arn:aws:lambda:us-east-1:000000000000:function:fz-none","RoleArn":"arn:aws:iam::000000000000:role/r","Input":"{}","RetryPolicy":{"MaximumRetryAttempts":1}},"State":"DISABLED"}"""),
            (HttpMethod.Put, "/schedules/fz-none", """{"ScheduleExpression":"cron(0 12 * * ? *)","ScheduleExpressionTimezone":"Europe/Berlin","FlexibleTimeWindow":{"Mode":"FLEXIBLE","MaximumWindowInMinutes":5},"Target":{"Arn":"arn:aws:lambda:us-east-1:000000000000:function:fz-none","RoleArn":"arn:aws:iam::000000000000:role/r"}}"""),
            (HttpMethod.Post, $"/schedule-groups/fz-{input.Token()}", """{"Tags":[{"Key":"k","Value":"v"}]}"""),
        ];
        foreach (var (method, path, body) in scheduler)
        {
            foreach (var hostile in input.Mutations(body, Mutations / 3 + 1))
            {
                var result = await fixture.SendAsync(method, path, hostile.Bytes, Json);
                AssertAnswer(Surface.Scheduler, result, $"{method} {path} with {hostile.Describe()}", hostile.MustFail);
            }
        }

        foreach (var expression in new[] { "rate(0 minutes)", "rate(-1 days)", "rate(99999999999999999999 days)", "cron(* * * * * * * *)", "cron(0/0 * * * ? *)", "at(9999-99-99T99:99:99)", "cron(" + new string('*', 5_000) + ")", "rate(1 fortnight)" })
        {
            var body = JsonSerializer.Serialize(new { ScheduleExpression = expression, FlexibleTimeWindow = new { Mode = "OFF" }, Target = new { Arn = "arn:aws:lambda:us-east-1:000000000000:function:fz-none", RoleArn = "arn:aws:iam::000000000000:role/r" } });
            var result = await fixture.SendAsync(HttpMethod.Post, $"/schedules/fz-{input.Token()}", Encoding.UTF8.GetBytes(body), Json);
            AssertAnswer(Surface.Scheduler, result, $"CreateSchedule with {Shown(expression)}", mustFail: true);
        }

        foreach (var path in new[] { "/schedules?MaxResults=-1", "/schedules?MaxResults=abc", "/schedules?NextToken=%FF%00", "/schedules/%00", "/schedules/" + new string('n', 500), "/schedule-groups/" + new string('g', 300), "/schedules/a/b/c" })
        {
            AssertAnswer(Surface.Scheduler, await fixture.SendAsync(HttpMethod.Get, path, null, null), $"GET {Shown(path)}", mustFail: true);
        }
    });

    [Fact]
    public Task Function_URLs_pass_hostile_requests_to_the_function_intact_or_refuse_them() => RunAsync("function-url", async input =>
    {
        var basePath = $"/lambda-url/{fixture.UrlId}";
        foreach (var i in Enumerable.Range(0, Mutations))
        {
            var hostile = input.Mutate("""{"hello":"world","n":[1,2,3]}""");
            var result = await fixture.SendAsync(HttpMethod.Post, basePath + "/fuzz", hostile.Bytes, input.Pick(new[] { Json, "application/octet-stream", "text/plain; charset=utf-8", "multipart/form-data; boundary=x" }), signed: false);
            AssertAnswer(Surface.FunctionUrl, result, $"POST with {hostile.Describe()}", mustFail: false);
            Assert.True(result.StatusCode == 200, $"The function should have received {hostile.Describe()}: {result}");
            var answer = result.Json();
            Assert.True(answer.GetProperty("length").GetInt32() == hostile.Bytes.Length && answer.GetProperty("md5").GetString() == S3Md5.Hex(hostile.Bytes),
                $"The function received another body than {hostile.Describe()}: {result}");
        }

        var random = new byte[64 * 1024];
        new Random(input.Seed).NextBytes(random);
        var binary = await fixture.SendAsync(HttpMethod.Put, basePath + "/binary", random, "application/octet-stream", signed: false);
        Assert.True(binary.StatusCode == 200 && binary.Json().GetProperty("md5").GetString() == S3Md5.Hex(random), binary.ToString());

        var tooLarge = await fixture.SendAsync(HttpMethod.Post, basePath + "/big", new byte[6_300_000], "application/octet-stream", signed: false);
        AssertAnswer(Surface.FunctionUrl, tooLarge, "a body over 6 MB", mustFail: true);
        Assert.Equal(413, tooLarge.StatusCode);

        foreach (var (name, value) in new[] { ("x-fuzz", new string('h', 16_000)), ("x-fuzz", "%FF%FE\t"), ("Cookie", string.Join("; ", Enumerable.Range(0, 500).Select(i => $"c{i}=v"))), ("Content-Type", "%%%/%%%"), ("Host", fixture.UrlId + ".lambda-url.us-east-1.localhost:1") })
        {
            var result = await fixture.SendAsync(HttpMethod.Get, basePath + "/h", null, null, new Dictionary<string, string> { [name] = value }, signed: false);
            AssertAnswer(Surface.FunctionUrl, result, $"a hostile {name} header", mustFail: false);
        }

        foreach (var path in new[] { "/%00", "/%FF%FE", "/a/../../2015-03-31/functions", "/..%2F..%2F2015-03-31%2Ffunctions", "?x=%ZZ&" + new string('q', 5_000) + "=1", "/" + string.Concat(Enumerable.Repeat("%2e%2e/", 200)) })
        {
            var result = await fixture.SendAsync(HttpMethod.Get, basePath + path, null, null, signed: false);
            Assert.True(result.StatusCode < 500, $"GET {basePath}{Shown(path)}: {result}");
            Assert.True(result.StatusCode != 200 || result.Text.Contains("md5", StringComparison.Ordinal) || result.Text.Contains("ok", StringComparison.Ordinal),
                $"A function URL path reached something else than its function: {result}");
        }

        var unknown = await fixture.SendAsync(HttpMethod.Get, "/lambda-url/" + new string('z', 32) + "/", null, null, signed: false);
        Assert.True(unknown.StatusCode is >= 400 and < 500, unknown.ToString());
    });

    [Fact]
    public Task Runtime_API_answers_hostile_requests_from_inside_a_function_with_runtime_errors() => RunAsync("runtime-api", async input =>
    {
        var requests = new List<object>();
        string[] paths =
        [
            "/2018-06-01/runtime/invocation/next", "/2018-06-01/runtime/invocation/{id}/response", "/2018-06-01/runtime/invocation/{id}/error",
            "/2018-06-01/runtime/init/error", "/2018-06-01/runtime/invocation/%00/response", "/2018-06-01/runtime/invocation/../../../etc/passwd",
            "/2018-06-01/runtime/invocation/" + new string('i', 4_000) + "/response", "/2020-01-01/extension/register", "/2020-01-01/extension/event/next",
            "/2020-08-15/logs", "/2022-07-01/telemetry", "/nimbus/2018-06-01/runtime/assignment", "/", "/%FF",
        ];
        foreach (var i in Enumerable.Range(0, Mutations))
        {
            var path = input.Pick(paths).Replace("{id}", Guid.NewGuid().ToString(), StringComparison.Ordinal);
            var hostile = input.Mutate("""{"errorMessage":"m","errorType":"T","stackTrace":["a"]}""");
            var headers = new Dictionary<string, string>();
            switch (input.Next(4))
            {
                case 0:
                    headers["Lambda-Runtime-Function-Error-Type"] = new string('E', 10_000);
                    break;
                case 1:
                    headers["Lambda-Extension-Name"] = input.Pick(HostileStrings.Where(v => v.All(c => c is >= ' ' and <= '~')).ToList());
                    break;
                case 2:
                    headers["Lambda-Runtime-Function-Response-Mode"] = "streaming";
                    break;
            }

            requests.Add(new { method = path.EndsWith("/next", StringComparison.Ordinal) || path.EndsWith("/assignment", StringComparison.Ordinal) ? "GET" : "POST", path, headers, body = path.EndsWith("/next", StringComparison.Ordinal) ? null : Convert.ToBase64String(hostile.Bytes) });
        }

        requests.Add(new { method = "POST", path = $"/2018-06-01/runtime/invocation/{Guid.NewGuid()}/response", headers = new Dictionary<string, string>(), zeros = 6_400_000 });
        var payload = JsonSerializer.Serialize(new { requests });
        var result = await fixture.SendAsync(HttpMethod.Post, $"/2015-03-31/functions/{HostileServerFixture.ProbeFunction}/invocations", Encoding.UTF8.GetBytes(payload), Json);
        Assert.True(result.StatusCode == 200 && result.Header("X-Amz-Function-Error") is null, $"The probe function failed: {result}");
        var answers = result.Json().EnumerateArray().ToList();
        Assert.Equal(requests.Count, answers.Count);
        var reached = 0;
        for (var i = 0; i < answers.Count; i++)
        {
            var answer = answers[i];
            if (answer.TryGetProperty("clientRefused", out _))
            {
                continue;
            }

            reached++;
            var status = answer.GetProperty("status").GetInt32();
            var request = JsonSerializer.Serialize(requests[i]);
            var what = $"request {Shown(request)} -> {status} {Shown(answer.GetProperty("body").GetString() ?? "")}";
            Assert.True(status is >= 200 and < 500, $"The Runtime API answered {what}");
            var body = answer.GetProperty("body").GetString() ?? "";
            if (status >= 400 && !(status == 400 && body.Length == 0))
            {
                // (A bare 400 is Kestrel refusing a request line it cannot parse, before the Runtime API sees it.)
                using var error = JsonDocument.Parse(body.Length == 0 ? "null" : body);
                Assert.True(error.RootElement.ValueKind == JsonValueKind.Object && error.RootElement.TryGetProperty("errorType", out _) && error.RootElement.TryGetProperty("errorMessage", out _),
                    $"Not a Runtime API error shape: {what}");
            }
        }

        Assert.True(reached > requests.Count / 2, $"Only {reached} of {requests.Count} requests reached the Runtime API.");
        var echo = await fixture.SendTextAsync(HttpMethod.Post, $"/2015-03-31/functions/{HostileServerFixture.EchoFunction}/invocations", """{"after":"runtime"}""", Json);
        Assert.True(echo.StatusCode == 200 && echo.Json().GetProperty("echo").GetProperty("after").GetString() == "runtime", echo.ToString());
    });

    [Fact]
    public Task Headers_over_the_limits_get_each_services_error_and_what_Kestrel_still_refuses_is_a_bare_4xx() => RunAsync("request-limits", async input =>
    {
        var queueUrl = fixture.QueueUrl;
        (Surface Surface, HttpMethod Method, string Path, string? Body, string? ContentType, Dictionary<string, string> Headers)[] requests =
        [
            (Surface.Lambda, HttpMethod.Get, "/2015-03-31/functions", null, null, new()),
            (Surface.SqsJson, HttpMethod.Post, "/", $$"""{"QueueUrl":"{{queueUrl}}"}""", SqsJsonType, new() { ["X-Amz-Target"] = "AmazonSQS.GetQueueAttributes" }),
            (Surface.SqsQuery, HttpMethod.Post, "/", $"Action=GetQueueAttributes&QueueUrl={Uri.EscapeDataString(queueUrl)}", Form, new()),
            (Surface.S3, HttpMethod.Get, $"/{HostileServerFixture.Bucket}/{HostileServerFixture.Sentinel}", null, null, new()),
            (Surface.Logs, HttpMethod.Post, "/", """{"limit":1}""", LogsType, new() { ["X-Amz-Target"] = "Logs_20140328.DescribeLogGroups" }),
            (Surface.Scheduler, HttpMethod.Get, "/schedules", null, null, new()),
            (Surface.FunctionUrl, HttpMethod.Get, $"/lambda-url/{fixture.UrlId}/h", null, null, new()),
        ];

        foreach (var (surface, method, path, body, contentType, headers) in requests)
        {
            var bytes = body is null ? null : Encoding.UTF8.GetBytes(body);
            var signed = surface != Surface.FunctionUrl;

            // Under the limits the request is served (or refused for its own reasons), not for its headers.
            var normal = await fixture.SendAsync(method, path, bytes, contentType, new Dictionary<string, string>(headers) { ["x-fuzz"] = new string('h', 16_000) }, signed);
            Assert.True(normal.StatusCode < 400, $"{surface}: a 16 KB header is within the limits: {normal}");

            // One 40 KB header, or 150 small ones: the service's own error, RequestHeaderSectionTooLarge.
            var big = await fixture.SendAsync(method, path, bytes, contentType, new Dictionary<string, string>(headers) { ["x-fuzz"] = new string('h', 40_000) }, signed);
            var many = new Dictionary<string, string>(headers);
            foreach (var i in Enumerable.Range(0, 150))
            {
                many[$"x-fuzz-{i}"] = input.Token();
            }

            foreach (var (what, result) in new[] { ("a 40 KB header", big), ("150 headers", await fixture.SendAsync(method, path, bytes, contentType, many, signed)) })
            {
                AssertAnswer(surface, result, what, mustFail: true);
                Assert.True(result.StatusCode == (surface == Surface.S3 ? 400 : 431), $"{surface}, {what}: {result}");
                Assert.True(result.Text.Contains("RequestHeaderSectionTooLarge", StringComparison.Ordinal) || result.Header("x-amzn-ErrorType") == "RequestHeaderSectionTooLarge",
                    $"{surface}, {what}: not RequestHeaderSectionTooLarge: {result}");
            }
        }

        // Past Kestrel's ceiling (256 KB), and a NUL decoded into the path: Kestrel answers alone, a bare 4xx, and the server goes on.
        // (Kestrel closes the connection with the rest of the headers unread: the client sees the 431 or a reset.)
        try
        {
            var huge = await fixture.SendAsync(HttpMethod.Get, "/2015-03-31/functions", null, null, new Dictionary<string, string> { ["x-fuzz"] = new string('h', 300_000) });
            Assert.Equal(431, huge.StatusCode);
        }
        catch (HttpRequestException e) when (e.InnerException is IOException)
        {
            output.WriteLine($"A 300 KB header: the connection was reset before the 431 was read ({e.InnerException.Message}).");
        }

        var nul = await fixture.SendAsync(HttpMethod.Get, $"/{HostileServerFixture.Bucket}/a%00b", null, null);
        Assert.Equal(400, nul.StatusCode);

        // Request lines over Kestrel's old 8 KiB reach the service (up to 64 KiB) and get its own answer: an S3 key of
        // 3,000 two-byte characters (18 KB percent-encoded) is KeyTooLongError, a 12 KB function name a Lambda error.
        var longKey = await fixture.SendAsync(HttpMethod.Get, $"/{HostileServerFixture.Bucket}/{Uri.EscapeDataString(new string('\u00e9', 3_000))}", null, null);
        AssertAnswer(Surface.S3, longKey, "an 18 KB request line", mustFail: true);
        Assert.True(longKey.StatusCode == 400 && HostileServerFixture.S3Code(longKey) == "KeyTooLongError", $"an 18 KB S3 key: {longKey}");
        var longName = await fixture.SendAsync(HttpMethod.Get, $"/2015-03-31/functions/{new string('f', 12_000)}", null, null);
        AssertAnswer(Surface.Lambda, longName, "a 12 KB function name", mustFail: true);
        var longUrlPath = await fixture.SendAsync(HttpMethod.Get, $"/lambda-url/{fixture.UrlId}/{new string('p', 12_000)}", null, null, signed: false);
        AssertAnswer(Surface.FunctionUrl, longUrlPath, "a 12 KB function URL path", mustFail: false);

        // What only Kestrel sees, on a raw socket: a request line past 64 KiB (414) and one that is not HTTP (400), bare.
        Assert.StartsWith("HTTP/1.1 414 ", await RawStatusLineAsync($"GET /2015-03-31/functions/{new string('f', 70_000)} HTTP/1.1\r\nHost: x\r\n\r\n"), StringComparison.Ordinal);
        Assert.StartsWith("HTTP/1.1 400 ", await RawStatusLineAsync("NOT AN HTTP REQUEST\r\n\r\n"), StringComparison.Ordinal);
        await fixture.AssertHealthyAsync();
    });

    /// <summary>Sends <paramref name="request"/> as it is on a new connection; the status line of the answer.</summary>
    private async Task<string> RawStatusLineAsync(string request)
    {
        using var client = new System.Net.Sockets.TcpClient();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await client.ConnectAsync(fixture.Server.EndpointUri.Host, fixture.Server.EndpointUri.Port, timeout.Token);
        var stream = client.GetStream();
        try
        {
            await stream.WriteAsync(Encoding.ASCII.GetBytes(request), timeout.Token);
        }
        catch (IOException)
        {
            // Kestrel may answer and close before it has read everything; the answer is still there to read.
        }

        var buffer = new byte[4096];
        var read = 0;
        while (read < buffer.Length && !Encoding.ASCII.GetString(buffer, 0, read).Contains("\r\n", StringComparison.Ordinal))
        {
            var n = await stream.ReadAsync(buffer.AsMemory(read), timeout.Token);
            if (n == 0)
            {
                break;
            }

            read += n;
        }

        var text = Encoding.ASCII.GetString(buffer, 0, read);
        return text.Contains("\r\n", StringComparison.Ordinal) ? text[..text.IndexOf("\r\n", StringComparison.Ordinal)] : text;
    }

    /// <summary>Strings that break naive parsers: empty, huge, negative, overflowing, control characters, escapes, paths.</summary>
    private static readonly string[] HostileStrings =
    [
        "", "-1", "0", "99999999999999999999", "1.5", "NaN", "abc", "\u0000", "\u0001\u001f", "\uFFFE", "%ZZ", "../../fuzzescape", "\r\nX: y",
        new string('s', 3_000), "true", "[]", "{}", "<x/>", "]]>", "&amp;", "1e400", " ", "\u202e",
    ];

    private static readonly string[] HostileFilterPatterns =
    [
        "{", "}", "{ $.a = ", "{ $. = 1 }", "{ $.a[99999999999] = 1 }", "[", "[a,b,c", "[a=", "\"unterminated", "%[", "%(((((%", "%a{99999}%",
        "{ $.a = \"" + new string('x', 10_000) + "\" }", string.Concat(Enumerable.Repeat("(", 5_000)), "{ ($.a = 1) && (" + string.Concat(Enumerable.Repeat("($.b = 1) || ", 500)) + "$.c = 1) }",
        "-", "?", "??", "*", "\u0000", "{ $.a IS NULL }", "{ $.a NOT EXISTS }", "{ $.* = 1 }", "[w1, w2=" + new string('*', 500) + "]",
    ];

    private Task RunAsync(string surface, Func<HostileInput, Task> test)
    {
        output.WriteLine($"Hostile-input surface {surface}: NIMBUS_FUZZ_SEED={HostileInput.RunSeed}, {Mutations} mutations per template (NIMBUS_FUZZ_COUNT).");
        return fixture.RunAsync(surface, test);
    }

    private static void AssertAnswer(Surface surface, HttpResult result, string what, bool mustFail, bool head = false) =>
        HostileServerFixture.AssertAnswer(surface, result, what, mustFail, head);

    private static string Shown(string value) => value.Length > 120 ? value[..120] + $"... ({value.Length} chars)" : value;

    private static byte[] SmallZip() => FunctionZips.FromSource("index.js", "exports.echo = async (e) => e;");

    private static byte[] CreateBody(string name, byte[] zip) => Encoding.UTF8.GetBytes(JsonSerializer.Serialize(new
    {
        FunctionName = name,
        Runtime = "nodejs20.x",
        Role = Aws.Role,
        Handler = "index.echo",
        Code = new { ZipFile = Convert.ToBase64String(zip) },
    }));

    /// <summary>Mutations of an XML body: truncation, invalid UTF-8, DTDs and entities (external and exponential), deep nesting, wrong values.</summary>
    private static IEnumerable<HostileBody> XmlMutations(HostileInput input, string xml, int count)
    {
        var bytes = Encoding.UTF8.GetBytes(xml);
        for (var i = 0; i < count; i++)
        {
            yield return input.Next(10) switch
            {
                0 => new("truncated XML", bytes[..(1 + input.Next(bytes.Length - 1))], true),
                1 => new("invalid UTF-8 in XML", [.. bytes[..(bytes.Length / 2)], .. input.Pick(HostileInput.InvalidUtf8), .. bytes[(bytes.Length / 2)..]], true),
                2 => new("external entity", Encoding.UTF8.GetBytes($"<?xml version=\"1.0\"?><!DOCTYPE d [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]>{xml.Replace("<Key>a</Key>", "<Key>&xxe;</Key>", StringComparison.Ordinal).Replace("<Id>n1</Id>", "<Id>&xxe;</Id>", StringComparison.Ordinal).Replace("<PartNumber>1</PartNumber>", "<PartNumber>&xxe;</PartNumber>", StringComparison.Ordinal)}"), true),
                3 => new("billion laughs", Encoding.UTF8.GetBytes("<?xml version=\"1.0\"?><!DOCTYPE l [<!ENTITY l0 \"lol\">" + string.Concat(Enumerable.Range(1, 9).Select(n => $"<!ENTITY l{n} \"{string.Concat(Enumerable.Repeat($"&l{n - 1};", 10))}\">")) + "]>" + xml.Replace("<Key>a</Key>", "<Key>&l9;</Key>", StringComparison.Ordinal)), true),
                4 => new("deep nesting", Encoding.UTF8.GetBytes(xml.Insert(xml.IndexOf('>', StringComparison.Ordinal) + 1, string.Concat(Enumerable.Repeat("<x>", HostileInput.DeepNesting)) + string.Concat(Enumerable.Repeat("</x>", HostileInput.DeepNesting)))), false),
                5 => new("wrong value", Encoding.UTF8.GetBytes(System.Text.RegularExpressions.Regex.Replace(xml, ">([^<]+)<", m => input.Next(3) == 0 ? ">" + System.Security.SecurityElement.Escape(input.Pick(HostileStrings)) + "<" : m.Value)), false),
                6 => new("unknown element", Encoding.UTF8.GetBytes(xml.Insert(xml.IndexOf('>', StringComparison.Ordinal) + 1, "<Fuzz><Deeper a=\"1\">x</Deeper></Fuzz>")), false),
                7 => new("not XML", Encoding.UTF8.GetBytes(input.Pick(new[] { "", "{}", "<", "<a>", "</a>", "<?xml version=\"9.9\"?><a/>", "\u0000", "<a></b>" })), false),
                8 => new("duplicate elements", Encoding.UTF8.GetBytes(System.Text.RegularExpressions.Regex.Replace(xml, "(<(Key|PartNumber|Id|Quiet|LocationConstraint)>[^<]*</\\2>)", "$1$1")), false),
                _ => new("trailing garbage", [.. bytes, .. "<extra/>"u8.ToArray()], true),
            };
        }
    }
}
