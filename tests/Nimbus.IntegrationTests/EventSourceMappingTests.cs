using System.Text.Json;

namespace Nimbus.IntegrationTests;

/// <summary>
/// Event source mappings from SQS queues to functions, driven with the real AWS CLIs (v1 speaks SQS's JSON protocol,
/// v2 the query protocol): the control plane with AWS's errors, batches delivered and deleted, partial batch
/// failures ending in the dead-letter queue, FIFO order, and disable/delete stopping delivery.
/// </summary>
public sealed class EventSourceMappingTests(AsyncServerFixture fixture) : IClassFixture<AsyncServerFixture>
{
    /// <summary>Reports each batch to the recorder; fails the records whose JSON body says "fail", throws for "throw".</summary>
    internal const string SqsFunctionSource = """
        const http = require('node:http');
        function report(body) {
          return new Promise((resolve, reject) => {
            const request = http.request(process.env.RECORDER_URL, { method: 'POST', headers: { 'content-type': 'application/json' } }, (response) => {
              response.resume();
              response.on('end', resolve);
            });
            request.on('error', reject);
            request.end(JSON.stringify(body));
          });
        }
        exports.handler = async (event, context) => {
          await report({ function: context.functionName, requestId: context.awsRequestId, event });
          const batchItemFailures = [];
          for (const record of event.Records || []) {
            let body = {};
            try { body = JSON.parse(record.body); } catch (e) { }
            if (body.throw) { throw new Error('batch failure'); }
            if (body.fail) { batchItemFailures.push({ itemIdentifier: record.messageId }); }
          }
          return { batchItemFailures };
        };
        """;

    private const string NodeRuntime = "nodejs20.x";
    private const string MappingsPath = "/2015-03-31/event-source-mappings";
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);

    [Theory]
    [InlineData(AwsCli.V1)]
    [InlineData(AwsCli.V2)]
    public Task Mapping_lifecycle_create_get_list_update_disable_delete(string cli) => fixture.RunAsync(async scope =>
    {
        var aws = scope.Cli(cli);
        var queues = new EventSourceMappingQueues(aws, scope.ScratchDirectory);
        var function = scope.NewFunctionName();
        await CreateSqsFunctionAsync(aws, function);
        var (_, queueArn) = await queues.CreateAsync($"q-{Guid.NewGuid():N}");

        var created = (await aws.LambdaAsync("create-event-source-mapping", "--function-name", function, "--event-source-arn", queueArn, "--batch-size", "5")).Json();
        var uuid = created.Str("UUID");
        Assert.True(Guid.TryParse(uuid, out _), created.ToString());
        Assert.Equal("Creating", created.Str("State"));
        Assert.Equal(queueArn, created.Str("EventSourceArn"));
        Assert.Equal(Aws.FunctionArn(function), created.Str("FunctionArn"));
        Assert.Equal(5, created.Num("BatchSize"));
        Assert.Equal(0, created.Num("MaximumBatchingWindowInSeconds"));
        Assert.Equal("USER_INITIATED", created.Str("StateTransitionReason"));
        Assert.True(created.Has("LastModified"), created.ToString());
        if (cli == AwsCli.V1)
        {
            // Debian's CLI v2 (2.9) predates EventSourceMappingArn in the model and drops it.
            Assert.Equal($"arn:aws:lambda:{Aws.Region}:{Aws.AccountId}:event-source-mapping:{uuid}", created.Str("EventSourceMappingArn"));
        }

        await WaitForStateAsync(scope.Lambda, uuid, "Enabled");

        var listed = (await aws.LambdaAsync("list-event-source-mappings", "--function-name", function)).Json();
        Assert.Equal(uuid, Assert.Single(listed.GetProperty("EventSourceMappings").EnumerateArray()).Str("UUID"));

        // Update: batching, partial batch responses, scaling; then disable.
        var updated = (await aws.LambdaAsync(
            "update-event-source-mapping", "--uuid", uuid, "--batch-size", "100", "--maximum-batching-window-in-seconds", "1",
            "--function-response-types", "ReportBatchItemFailures", "--scaling-config", "MaximumConcurrency=3")).Json();
        Assert.Equal("Updating", updated.Str("State"));
        Assert.Equal(100, updated.Num("BatchSize"));
        Assert.Equal(1, updated.Num("MaximumBatchingWindowInSeconds"));
        Assert.Equal("ReportBatchItemFailures", Assert.Single(updated.GetProperty("FunctionResponseTypes").EnumerateArray()).GetString());
        Assert.Equal(3, updated.Num("ScalingConfig.MaximumConcurrency"));
        await WaitForStateAsync(scope.Lambda, uuid, "Enabled");
        Assert.Equal("Disabling", (await aws.LambdaAsync("update-event-source-mapping", "--uuid", uuid, "--no-enabled")).Json().Str("State"));
        var disabled = await WaitForStateAsync(scope.Lambda, uuid, "Disabled");
        Assert.Equal(100, disabled.Num("BatchSize"));

        Assert.Equal("Deleting", (await aws.LambdaAsync("delete-event-source-mapping", "--uuid", uuid)).Json().Str("State"));
        await WaitForGoneAsync(scope.Lambda, uuid);
    });

    [Fact]
    public Task Mapping_requests_get_AWS_errors_and_lists_page() => fixture.RunAsync(async scope =>
    {
        var aws = scope.Cli(AwsCli.V1);
        var queues = new EventSourceMappingQueues(aws, scope.ScratchDirectory);
        var function = scope.NewFunctionName();
        var other = scope.NewFunctionName();
        await CreateSqsFunctionAsync(aws, function);
        await CreateSqsFunctionAsync(aws, other);
        var (_, queueArn) = await queues.CreateAsync($"q-{Guid.NewGuid():N}");
        var (_, fifoArn) = await queues.CreateAsync($"q-{Guid.NewGuid():N}.fifo", new Dictionary<string, string> { ["FifoQueue"] = "true" });
        var lambda = scope.Lambda;
        Task<HttpResult> Create(string body) => lambda.SendAsync(HttpMethod.Post, MappingsPath + "/", Json(body));

        var created = await Create($$"""{"FunctionName":"{{function}}","EventSourceArn":"{{queueArn}}"}""");
        Assert.True(created.StatusCode == 202, created.ToString());
        var uuid = created.Json().Str("UUID");
        Assert.Equal(10, created.Json().Num("BatchSize"));
        var second = await Create($$"""{"FunctionName":"{{other}}","EventSourceArn":"{{queueArn}}","Enabled":false}""");
        Assert.True(second.StatusCode == 202, second.ToString());

        Assert.Contains(uuid, (await Create($$"""{"FunctionName":"{{function}}","EventSourceArn":"{{queueArn}}"}""")).ShouldBeError(409, "ResourceConflictException").Str("message"));
        Assert.Equal(Aws.FunctionNotFound("nope-" + function),
            (await Create($$"""{"FunctionName":"nope-{{function}}","EventSourceArn":"{{queueArn}}"}""")).ShouldBeError(404, "ResourceNotFoundException").Str("Message"));
        (await Create($$"""{"FunctionName":"{{function}}","EventSourceArn":"{{queueArn}}-missing"}""")).ShouldBeError(404, "ResourceNotFoundException");
        (await Create($$"""{"FunctionName":"{{function}}","EventSourceArn":"arn:aws:kinesis:us-east-1:000000000000:stream/s"}""")).ShouldBeError(400, "InvalidParameterValueException");
        (await Create($$"""{"FunctionName":"{{function}}","EventSourceArn":"{{fifoArn}}","BatchSize":11,"MaximumBatchingWindowInSeconds":1}""")).ShouldBeError(400, "InvalidParameterValueException");
        (await Create($$"""{"FunctionName":"{{function}}","EventSourceArn":"{{fifoArn}}","MaximumBatchingWindowInSeconds":1}""")).ShouldBeError(400, "InvalidParameterValueException");
        (await Create($$$"""{"FunctionName":"{{{function}}}","EventSourceArn":"{{{queueArn}}}","FilterCriteria":{"Filters":[{"Pattern":"[1]"}]}}""")).ShouldBeError(400, "InvalidParameterValueException");
        (await Create("""{"EventSourceArn":"arn:aws:sqs:us-east-1:000000000000:q"}""")).ShouldBeError(400, "ValidationException");

        Task<HttpResult> Update(string body) => lambda.SendAsync(HttpMethod.Put, $"{MappingsPath}/{uuid}", Json(body));
        Assert.Equal("Maximum batch window in seconds must be greater than 0 if maximum batch size is greater than 10",
            (await Update("""{"BatchSize":11}""")).ShouldBeError(400, "InvalidParameterValueException").Str("message"));
        Assert.Contains("Member must have value less than or equal to 10000", (await Update("""{"BatchSize":10001}""")).ShouldBeError(400, "ValidationException").Str("message"));
        Assert.Contains("Member must have value greater than or equal to 1", (await Update("""{"BatchSize":0}""")).ShouldBeError(400, "ValidationException").Str("message"));
        Assert.Contains("scalingConfig.maximumConcurrency", (await Update("""{"ScalingConfig":{"MaximumConcurrency":1}}""")).ShouldBeError(400, "ValidationException").Str("message"));
        Assert.Contains("maximumBatchingWindowInSeconds", (await Update("""{"MaximumBatchingWindowInSeconds":301}""")).ShouldBeError(400, "ValidationException").Str("message"));
        Assert.Contains("functionResponseTypes", (await Update("""{"FunctionResponseTypes":["Nope"]}""")).ShouldBeError(400, "ValidationException").Str("message"));

        var missing = $"{MappingsPath}/{Guid.NewGuid()}";
        foreach (var method in new[] { HttpMethod.Get, HttpMethod.Delete })
        {
            Assert.Equal("The resource you requested does not exist.", (await lambda.SendAsync(method, missing)).ShouldBeError(404, "ResourceNotFoundException").Str("Message"));
        }

        (await lambda.SendAsync(HttpMethod.Put, missing, Json("{}"))).ShouldBeError(404, "ResourceNotFoundException");

        // Paging over the two mappings of the queue, one at a time.
        var first = (await lambda.SendAsync(HttpMethod.Get, $"{MappingsPath}/?EventSourceArn={Uri.EscapeDataString(queueArn)}&MaxItems=1")).Json();
        var next = first.Str("NextMarker");
        var last = (await lambda.SendAsync(HttpMethod.Get, $"{MappingsPath}/?EventSourceArn={Uri.EscapeDataString(queueArn)}&MaxItems=1&Marker={Uri.EscapeDataString(next)}")).Json();
        Assert.False(last.Has("NextMarker"), last.ToString());
        var uuids = first.GetProperty("EventSourceMappings").EnumerateArray().Concat(last.GetProperty("EventSourceMappings").EnumerateArray()).Select(m => m.Str("UUID")).ToHashSet();
        Assert.Equal(new[] { uuid, second.Json().Str("UUID") }.Order(StringComparer.Ordinal), uuids.Order(StringComparer.Ordinal));
        (await lambda.SendAsync(HttpMethod.Get, $"{MappingsPath}/?Marker=bogus")).ShouldBeError(400, "InvalidParameterValueException");

        // A mapping belongs to its function: deleting the function deletes it.
        Assert.True((await lambda.DeleteFunctionAsync(other)).StatusCode is 200 or 204);
        await WaitForGoneAsync(scope.Lambda, second.Json().Str("UUID"));
    });

    [Fact]
    public Task A_queue_mapping_delivers_batches_in_Lambda_shape_and_deletes_them() => fixture.RunAsync(async scope =>
    {
        var aws = scope.Cli(AwsCli.V1);
        var queues = new EventSourceMappingQueues(aws, scope.ScratchDirectory);
        var function = scope.NewFunctionName();
        await CreateSqsFunctionAsync(aws, function);
        var (url, arn) = await queues.CreateAsync($"q-{Guid.NewGuid():N}");
        var bodies = Enumerable.Range(0, 25).Select(i => $$"""{"n":{{i}}}""").ToList();
        await queues.SendAsync(url, bodies);

        var uuid = (await aws.LambdaAsync("create-event-source-mapping", "--function-name", function, "--event-source-arn", arn, "--batch-size", "10")).Json().Str("UUID");
        var records = await WaitForRecordsAsync(function, records => records.Select(r => r.Str("body")).ToHashSet().IsSupersetOf(bodies));
        await queues.WaitForCountAsync(url, 0, Deadline);

        Assert.All(fixture.Recorder.ReportsOf(function), r => Assert.InRange(r.GetProperty("event").GetProperty("Records").GetArrayLength(), 1, 10));
        var record = records[0];
        Assert.Equal("aws:sqs", record.Str("eventSource"));
        Assert.Equal(arn, record.Str("eventSourceARN"));
        Assert.Equal(Aws.Region, record.Str("awsRegion"));
        Assert.Equal("1", record.Str("attributes.ApproximateReceiveCount"));
        Assert.True(long.Parse(record.Str("attributes.SentTimestamp"), System.Globalization.CultureInfo.InvariantCulture) > 0);
        Assert.True(record.Has("attributes.SenderId") && record.Has("attributes.ApproximateFirstReceiveTimestamp"), record.ToString());
        Assert.Equal(Md5(record.Str("body")), record.Str("md5OfBody"));
        Assert.Equal("test", record.Str("messageAttributes.kind.stringValue"));
        Assert.Equal("String", record.Str("messageAttributes.kind.dataType"));
        Assert.Equal(JsonValueKind.Array, record.At("messageAttributes.kind.stringListValues").ValueKind);
        Assert.True(record.Has("md5OfMessageAttributes") && record.Has("receiptHandle") && record.Has("messageId"), record.ToString());
        var metrics = await scope.Lambda.SendAsync(HttpMethod.Get, "/metrics");
        Assert.Contains($"nimbus_event_source_mapping_backlog{{uuid=\"{uuid}\",function_name=\"{function}\"", metrics.Text, StringComparison.Ordinal);

        (await aws.LambdaAsync("delete-event-source-mapping", "--uuid", uuid)).ShouldSucceed();
        await WaitForGoneAsync(scope.Lambda, uuid);
    });

    [Fact]
    public Task Partial_batch_failures_return_only_the_failed_item_which_ends_in_the_dead_letter_queue() => fixture.RunAsync(async scope =>
    {
        var aws = scope.Cli(AwsCli.V2);
        var queues = new EventSourceMappingQueues(aws, scope.ScratchDirectory);
        var function = scope.NewFunctionName();
        await CreateSqsFunctionAsync(aws, function);
        var (dlqUrl, dlqArn) = await queues.CreateAsync($"dlq-{Guid.NewGuid():N}");
        var (url, arn) = await queues.CreateAsync($"q-{Guid.NewGuid():N}", new Dictionary<string, string>
        {
            ["VisibilityTimeout"] = "2",
            ["RedrivePolicy"] = $$"""{"deadLetterTargetArn":"{{dlqArn}}","maxReceiveCount":"3"}""",
        });
        var tag = Guid.NewGuid().ToString("N");
        List<string> bodies = [$$"""{"ok":1,"tag":"{{tag}}"}""", $$"""{"fail":true,"tag":"{{tag}}"}""", $$"""{"ok":2,"tag":"{{tag}}"}"""];
        await queues.SendAsync(url, bodies);

        var uuid = (await aws.LambdaAsync(
            "create-event-source-mapping", "--function-name", function, "--event-source-arn", arn, "--batch-size", "10",
            "--function-response-types", "ReportBatchItemFailures")).Json().Str("UUID");

        // The failed message comes back after each visibility timeout with a growing receive count, three times in all.
        var records = await WaitForRecordsAsync(function, records => records.Count(r => r.Str("body") == bodies[1]) >= 3);
        var failedCounts = records.Where(r => r.Str("body") == bodies[1]).Select(r => r.Str("attributes.ApproximateReceiveCount")).ToList();
        Assert.Equal(["1", "2", "3"], failedCounts.Take(3));
        Assert.Single(records, r => r.Str("body") == bodies[0]);
        Assert.Single(records, r => r.Str("body") == bodies[2]);

        var dead = Assert.Single(await queues.ReceiveAtLeastAsync(dlqUrl, 1, Deadline));
        Assert.Equal(bodies[1], dead.Str("Body"));
        await queues.WaitForCountAsync(url, 0, Deadline);
        (await aws.LambdaAsync("delete-event-source-mapping", "--uuid", uuid)).ShouldSucceed();
        await WaitForGoneAsync(scope.Lambda, uuid);
    });

    [Fact]
    public Task A_FIFO_queue_keeps_order_within_each_message_group() => fixture.RunAsync(async scope =>
    {
        var aws = scope.Cli(AwsCli.V1);
        var queues = new EventSourceMappingQueues(aws, scope.ScratchDirectory);
        var function = scope.NewFunctionName();
        await CreateSqsFunctionAsync(aws, function);
        var (url, arn) = await queues.CreateAsync($"q-{Guid.NewGuid():N}.fifo", new Dictionary<string, string> { ["FifoQueue"] = "true" });
        const int Groups = 3;
        const int PerGroup = 12;
        var bodies = Enumerable.Range(0, Groups * PerGroup).Select(i => $$"""{"group":"g{{i % Groups}}","seq":{{i / Groups}}}""").ToList();
        await queues.SendAsync(url, bodies, i => $"g{i % Groups}");

        var uuid = (await aws.LambdaAsync("create-event-source-mapping", "--function-name", function, "--event-source-arn", arn, "--batch-size", "4")).Json().Str("UUID");
        var records = await WaitForRecordsAsync(function, records => records.Count >= bodies.Count);

        Assert.Equal(bodies.Count, records.Count);
        foreach (var group in records.GroupBy(r => r.Str("attributes.MessageGroupId")))
        {
            var sequence = group.Select(r => JsonDocument.Parse(r.Str("body")).RootElement.GetProperty("seq").GetInt32()).ToList();
            Assert.Equal(Enumerable.Range(0, PerGroup), sequence);
        }

        await queues.WaitForCountAsync(url, 0, Deadline);
        (await aws.LambdaAsync("delete-event-source-mapping", "--uuid", uuid)).ShouldSucceed();
        await WaitForGoneAsync(scope.Lambda, uuid);
    });

    [Fact]
    public Task Disabling_or_deleting_a_mapping_stops_delivery_and_leaves_messages_unreceived() => fixture.RunAsync(async scope =>
    {
        var aws = scope.Cli(AwsCli.V2);
        var queues = new EventSourceMappingQueues(aws, scope.ScratchDirectory);
        var function = scope.NewFunctionName();
        await CreateSqsFunctionAsync(aws, function);
        var (url, arn) = await queues.CreateAsync($"q-{Guid.NewGuid():N}");
        var uuid = (await aws.LambdaAsync("create-event-source-mapping", "--function-name", function, "--event-source-arn", arn, "--batch-size", "1")).Json().Str("UUID");
        await WaitForStateAsync(scope.Lambda, uuid, "Enabled");
        await queues.SendAsync(url, ["""{"phase":"enabled"}"""]);
        await WaitForRecordsAsync(function, records => records.Any(r => r.Str("body").Contains("enabled", StringComparison.Ordinal)));

        (await aws.LambdaAsync("update-event-source-mapping", "--uuid", uuid, "--no-enabled")).ShouldSucceed();
        await WaitForStateAsync(scope.Lambda, uuid, "Disabled");
        await queues.SendAsync(url, ["""{"phase":"disabled"}"""]);

        // Re-enabled, the mapping gets the message with a receive count of 1: no poller touched it while disabled.
        (await aws.LambdaAsync("update-event-source-mapping", "--uuid", uuid, "--enabled")).ShouldSucceed();
        var records = await WaitForRecordsAsync(function, records => records.Any(r => r.Str("body").Contains("disabled", StringComparison.Ordinal)));
        Assert.Equal("1", records.Single(r => r.Str("body").Contains("disabled", StringComparison.Ordinal)).Str("attributes.ApproximateReceiveCount"));

        (await aws.LambdaAsync("delete-event-source-mapping", "--uuid", uuid)).ShouldSucceed();
        await WaitForGoneAsync(scope.Lambda, uuid);
        await queues.WaitForCountAsync(url, 0, Deadline);
        await queues.SendAsync(url, ["""{"phase":"deleted"}"""]);
        var left = Assert.Single(await queues.ReceiveAtLeastAsync(url, 1, Deadline));
        Assert.Equal("""{"phase":"deleted"}""", left.Str("Body"));
        Assert.Equal("1", left.Str("Attributes.ApproximateReceiveCount"));
        Assert.DoesNotContain(fixture.Recorder.ReportsOf(function).SelectMany(Records), r => r.Str("body").Contains("deleted", StringComparison.Ordinal));
    });

    internal static async Task CreateSqsFunctionAsync(AwsCli aws, string name, string recorderEnvironment, params string[] options) =>
        (await aws.CreateFunctionAsync(name, FunctionZips.FromSource("index.js", SqsFunctionSource), NodeRuntime, "index.handler",
            ["--environment", recorderEnvironment, "--timeout", "10", .. options])).ShouldSucceed();

    private Task CreateSqsFunctionAsync(AwsCli aws, string name) => CreateSqsFunctionAsync(aws, name, fixture.Recorder.EnvironmentJson);

    private static StringContent Json(string body) => new(body, System.Text.Encoding.UTF8, "application/json");

    private static IEnumerable<JsonElement> Records(JsonElement report) => report.GetProperty("event").GetProperty("Records").EnumerateArray();

    private async Task<IReadOnlyList<JsonElement>> WaitForRecordsAsync(string function, Func<IReadOnlyList<JsonElement>, bool> done)
    {
        IReadOnlyList<JsonElement> records = [];
        await fixture.Recorder.WaitForAsync($"the records {function} got", _ =>
        {
            records = [.. fixture.Recorder.ReportsOf(function).SelectMany(Records)];
            return done(records);
        }, Deadline);
        return records;
    }

    internal static async Task<JsonElement> WaitForStateAsync(LambdaHttp lambda, string uuid, string state)
    {
        var deadline = DateTime.UtcNow + Deadline;
        while (true)
        {
            var mapping = (await lambda.SendAsync(HttpMethod.Get, $"{MappingsPath}/{uuid}")).Json();
            if (mapping.Str("State") == state)
            {
                return mapping;
            }

            Assert.True(DateTime.UtcNow < deadline, $"Mapping {uuid} should reach {state}: {mapping}");
            await Task.Delay(TimeSpan.FromMilliseconds(50));
        }
    }

    internal static async Task WaitForGoneAsync(LambdaHttp lambda, string uuid)
    {
        var deadline = DateTime.UtcNow + Deadline;
        while (true)
        {
            var result = await lambda.SendAsync(HttpMethod.Get, $"{MappingsPath}/{uuid}");
            if (result.StatusCode == 404)
            {
                result.ShouldBeError(404, "ResourceNotFoundException");
                return;
            }

            Assert.True(DateTime.UtcNow < deadline, $"Mapping {uuid} should be deleted: {result}");
            await Task.Delay(TimeSpan.FromMilliseconds(50));
        }
    }

#pragma warning disable CA5351 // SQS's md5OfBody is MD5 by definition.
    private static string Md5(string text) =>
        Convert.ToHexStringLower(System.Security.Cryptography.MD5.HashData(System.Text.Encoding.UTF8.GetBytes(text)));
#pragma warning restore CA5351
}
