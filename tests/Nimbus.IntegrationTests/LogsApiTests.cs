using System.Globalization;
using System.Text.Json;
using static Nimbus.IntegrationTests.Boto3Logs;

namespace Nimbus.IntegrationTests;

/// <summary>
/// The CloudWatch Logs-compatible API: a round trip with AWS CLI v1 and v2, then the details (paging tokens, filter
/// patterns, AWS's limits and errors, retention enforced) through boto3, many calls per Python process.
/// </summary>
[Collection(LogsCollectionDefinition.Name)]
public sealed class LogsApiTests(LogsServerFixture fixture)
{
    [Theory]
    [InlineData(AwsCli.V1)]
    [InlineData(AwsCli.V2)]
    public Task Create_describe_put_get_filter_and_delete_round_trip_through_the_AWS_CLI(string version) => fixture.RunAsync(async scope =>
    {
        var cli = scope.Cli(version);
        var group = LogsCli.NewGroupName();
        (await cli.LogsAsync("create-log-group", "--log-group-name", group)).ShouldSucceed();
        Assert.Equal("The specified log group already exists",
            (await cli.LogsAsync("create-log-group", "--log-group-name", group)).ShouldFailWith("ResourceAlreadyExistsException"));
        (await cli.LogsAsync("create-log-stream", "--log-group-name", group, "--log-stream-name", "app")).ShouldSucceed();
        var now = LogsCli.NowMs();
        (await cli.LogsAsync("put-log-events", "--log-group-name", group, "--log-stream-name", "app", "--log-events",
            LogsCli.EventsFile(scope, (now - 2, "starting"), (now - 1, """{"level":"ERROR","latency":250}"""), (now, "done")))).ShouldSucceed();

        var groups = (await cli.LogsAsync("describe-log-groups", "--log-group-name-prefix", group)).Json().GetProperty("logGroups");
        Assert.Equal([group], groups.Strings("logGroupName"));
        Assert.Equal($"arn:aws:logs:{Aws.Region}:{Aws.AccountId}:log-group:{group}:*", groups[0].GetProperty("arn").GetString());
        var streams = (await cli.LogsAsync("describe-log-streams", "--log-group-name", group, "--order-by", "LastEventTime", "--descending")).Json().GetProperty("logStreams");
        Assert.Equal(["app"], streams.Strings("logStreamName"));
        Assert.Equal(now - 2, streams[0].GetProperty("firstEventTimestamp").GetInt64());
        Assert.Equal(now, streams[0].GetProperty("lastEventTimestamp").GetInt64());

        var head = (await cli.LogsAsync("get-log-events", "--log-group-name", group, "--log-stream-name", "app", "--start-from-head", "--limit", "2")).Json();
        Assert.Equal(["starting", """{"level":"ERROR","latency":250}"""], head.GetProperty("events").Strings("message"));
        Assert.StartsWith("f/", head.GetProperty("nextForwardToken").GetString(), StringComparison.Ordinal);

        var filtered = (await cli.LogsAsync("filter-log-events", "--log-group-name", group, "--filter-pattern", "{ $.latency > 100 }")).Json().GetProperty("events");
        Assert.Equal(["""{"level":"ERROR","latency":250}"""], filtered.Strings("message"));
        Assert.Equal("app", filtered[0].GetProperty("logStreamName").GetString());
        Assert.True(long.TryParse(filtered[0].GetProperty("eventId").GetString(), out _), filtered.ToString());

        (await cli.LogsAsync("delete-log-group", "--log-group-name", group)).ShouldSucceed();
        Assert.Equal("The specified log group does not exist.",
            (await cli.LogsAsync("describe-log-streams", "--log-group-name", group)).ShouldFailWith("ResourceNotFoundException"));
    });

    [Fact]
    public Task Log_groups_and_streams_page_in_name_and_last_event_order_with_AWS_errors() => fixture.RunAsync(async scope =>
    {
        var prefix = LogsCli.NewGroupName();
        var (a, b, c) = (prefix + "/a", prefix + "/b", prefix + "/c");
        var now = LogsCli.NowMs();
        var answers = await RunAsync(scope,
            Call("create_log_group", new { logGroupName = c }),
            Call("create_log_group", new { logGroupName = a }),
            Call("create_log_group", new { logGroupName = b }),
            Call("create_log_group", new { logGroupName = "bad name!" }),
            Paginate("describe_log_groups", new { logGroupNamePrefix = prefix, PaginationConfig = new { PageSize = 1 } }),
            Call("describe_log_groups", new { logGroupNamePrefix = prefix, limit = 2 }),
            Call("create_log_stream", new { logGroupName = a, logStreamName = "s-1" }),
            Call("create_log_stream", new { logGroupName = a, logStreamName = "s-2" }),
            Call("create_log_stream", new { logGroupName = a, logStreamName = "s-3" }),
            Call("put_log_events", new { logGroupName = a, logStreamName = "s-1", logEvents = new[] { new { timestamp = now + 300, message = "x" } } }),
            Call("put_log_events", new { logGroupName = a, logStreamName = "s-2", logEvents = new[] { new { timestamp = now + 100, message = "x" } } }),
            Call("put_log_events", new { logGroupName = a, logStreamName = "s-3", logEvents = new[] { new { timestamp = now + 200, message = "x" } } }),
            Call("create_log_stream", new { logGroupName = a, logStreamName = "s-1" }),
            Call("create_log_stream", new { logGroupName = prefix + "/none", logStreamName = "s" }),
            Call("create_log_stream", new { logGroupName = a, logStreamName = "bad:name" }),
            Paginate("describe_log_streams", new { logGroupName = a, PaginationConfig = new { PageSize = 1 } }),
            Paginate("describe_log_streams", new { logGroupName = a, orderBy = "LastEventTime", descending = true, PaginationConfig = new { PageSize = 1 } }),
            Call("describe_log_streams", new { logGroupName = a, logStreamNamePrefix = "s-2" }),
            Call("describe_log_streams", new { logGroupName = a, orderBy = "LastEventTime", logStreamNamePrefix = "s" }),
            Call("describe_log_streams", new { logGroupIdentifier = $"arn:aws:logs:{Aws.Region}:{Aws.AccountId}:log-group:{a}" }),
            Call("delete_log_stream", new { logGroupName = a, logStreamName = "s-2" }),
            Call("delete_log_stream", new { logGroupName = a, logStreamName = "s-2" }),
            Call("describe_log_streams", new { logGroupName = a }),
            Call("delete_log_group", new { logGroupName = a }),
            Call("delete_log_group", new { logGroupName = a }),
            Call("describe_log_streams", new { logGroupName = a }),
            Call("describe_log_groups", new { logGroupNamePrefix = prefix }),
            Call("describe_log_groups", new { logGroupNamePrefix = prefix, logGroupNamePattern = "x" }));

        Assert.Equal("The specified log group already exists", RunAsyncError(await RunAsync(scope, Call("create_log_group", new { logGroupName = b })), "ResourceAlreadyExistsException"));
        Assert.Contains("failed to satisfy constraint", answers[3].ErrorOf("InvalidParameterException"), StringComparison.Ordinal);
        Assert.Equal([a, b, c], answers[4].AcrossPages("logGroups", "logGroupName"));
        Assert.Equal(3, answers[4].GetArrayLength());
        Assert.Equal(2, answers[5].GetProperty("logGroups").GetArrayLength());
        Assert.True(answers[5].TryGetProperty("nextToken", out _), answers[5].ToString());
        Assert.Equal("The specified log stream already exists", answers[12].ErrorOf("ResourceAlreadyExistsException"));
        Assert.Equal("The specified log group does not exist.", answers[13].ErrorOf("ResourceNotFoundException"));
        Assert.Contains("[^:*]*", answers[14].ErrorOf("InvalidParameterException"), StringComparison.Ordinal);
        Assert.Equal(["s-1", "s-2", "s-3"], answers[15].AcrossPages("logStreams", "logStreamName"));
        Assert.Equal(["s-1", "s-3", "s-2"], answers[16].AcrossPages("logStreams", "logStreamName"));
        Assert.Equal(["s-2"], answers[17].GetProperty("logStreams").Strings("logStreamName"));
        Assert.Equal("Cannot order by LastEventTime with a logStreamNamePrefix.", answers[18].ErrorOf("InvalidParameterException"));
        Assert.Equal(3, answers[19].GetProperty("logStreams").GetArrayLength());
        answers[20].Ok();
        Assert.Equal("The specified log stream does not exist.", answers[21].ErrorOf("ResourceNotFoundException"));
        Assert.Equal(["s-1", "s-3"], answers[22].GetProperty("logStreams").Strings("logStreamName"));
        answers[23].Ok();
        Assert.Equal("The specified log group does not exist.", answers[24].ErrorOf("ResourceNotFoundException"));
        Assert.Equal("The specified log group does not exist.", answers[25].ErrorOf("ResourceNotFoundException"));
        Assert.Equal([b, c], answers[26].GetProperty("logGroups").Strings("logGroupName"));
        Assert.Contains("mutually exclusive", answers[27].ErrorOf("InvalidParameterException"), StringComparison.Ordinal);
    });

    [Fact]
    public Task Get_log_events_pages_forward_and_backward_and_put_log_events_rejects_too_old_too_new_and_oversized_batches() => fixture.RunAsync(async scope =>
    {
        var group = LogsCli.NewGroupName();
        var now = LogsCli.NowMs();
        var events = Enumerable.Range(0, 5).Select(i => new { timestamp = now - 5000 + (i * 1000), message = $"line {i}" }).ToArray();
        const long Day = 86_400_000;
        var big = new string('x', 600_000);
        var answers = await RunAsync(scope,
            Call("create_log_group", new { logGroupName = group }),
            Call("create_log_stream", new { logGroupName = group, logStreamName = "app" }),
            Call("put_log_events", new { logGroupName = group, logStreamName = "app", logEvents = events }),
            Follow("get_log_events", "nextForwardToken", new { logGroupName = group, logStreamName = "app", startFromHead = true, limit = 2 }),
            Call("get_log_events", new { logGroupName = group, logStreamName = "app", limit = 2 }),
            Follow("get_log_events", "nextBackwardToken", new { logGroupName = group, logStreamName = "app", limit = 2 }),
            Call("get_log_events", new { logGroupName = group, logStreamName = "app", startFromHead = true, startTime = now - 4000, endTime = now - 2000 }),
            Call("put_log_events", new { logGroupName = group, logStreamName = "app", logEvents = new[] { new { timestamp = now - (15 * Day), message = "ancient" }, new { timestamp = now - (15 * Day) + 1, message = "ancient too" } } }),
            Call("put_log_events", new { logGroupName = group, logStreamName = "app", logEvents = new[] { new { timestamp = now, message = "present" }, new { timestamp = now + (3 * 3_600_000), message = "future" } } }),
            Call("get_log_events", new { logGroupName = group, logStreamName = "app", startFromHead = true }),
            Call("put_log_events", new { logGroupName = group, logStreamName = "app", logEvents = new[] { new { timestamp = now - (2 * Day), message = "a" }, new { timestamp = now, message = "b" } } }),
            Call("put_log_events", new { logGroupName = group, logStreamName = "app", logEvents = new[] { new { timestamp = now, message = big }, new { timestamp = now, message = big } } }),
            Call("put_log_events", new { logGroupName = group, logStreamName = "none", logEvents = new[] { new { timestamp = now, message = "x" } } }),
            Call("put_log_events", new { logGroupName = group + "-none", logStreamName = "app", logEvents = new[] { new { timestamp = now, message = "x" } } }),
            Call("get_log_events", new { logGroupName = group, logStreamName = "none" }),
            Call("get_log_events", new { logGroupName = group, logStreamName = "app", nextToken = "f/nonsense" }));

        Assert.False(answers[2].TryGetProperty("rejectedLogEventsInfo", out _), answers[2].ToString());
        Assert.True(answers[2].TryGetProperty("nextSequenceToken", out _), answers[2].ToString());

        // Forward from the head two at a time until the token repeats: every event once, in order.
        Assert.Equal(events.Select(e => e.message), answers[3].AcrossPages("events", "message"));
        Assert.All(answers[3].EnumerateArray(), page => Assert.StartsWith("f/", page.GetProperty("nextForwardToken").GetString(), StringComparison.Ordinal));

        // Without startFromHead the newest come first; backward tokens page towards the oldest.
        Assert.Equal(["line 3", "line 4"], answers[4].GetProperty("events").Strings("message"));
        var backward = answers[5].EnumerateArray().Select(p => p.GetProperty("events").Strings("message")).ToList();
        Assert.Equal(["line 3", "line 4"], backward[0]);
        Assert.Equal(["line 1", "line 2"], backward[1]);
        Assert.Equal(["line 0"], backward[2]);

        // startTime inclusive, endTime exclusive.
        Assert.Equal(["line 1", "line 2"], answers[6].GetProperty("events").Strings("message"));
        Assert.True(answers[6].GetProperty("events")[0].GetProperty("ingestionTime").GetInt64() >= now - 60_000);

        Assert.Equal(2, answers[7].GetProperty("rejectedLogEventsInfo").GetProperty("tooOldLogEventEndIndex").GetInt32());
        Assert.Equal(1, answers[8].GetProperty("rejectedLogEventsInfo").GetProperty("tooNewLogEventStartIndex").GetInt32());
        Assert.Equal([.. events.Select(e => e.message), "present"], answers[9].GetProperty("events").Strings("message"));
        Assert.Contains("cannot span more than 24 hours", answers[10].ErrorOf("InvalidParameterException"), StringComparison.Ordinal);
        Assert.Contains("Upload too large", answers[11].ErrorOf("InvalidParameterException"), StringComparison.Ordinal);
        Assert.Equal("The specified log stream does not exist.", answers[12].ErrorOf("ResourceNotFoundException"));
        Assert.Equal("The specified log group does not exist.", answers[13].ErrorOf("ResourceNotFoundException"));
        Assert.Equal("The specified log stream does not exist.", answers[14].ErrorOf("ResourceNotFoundException"));
        Assert.Equal("The specified nextToken is invalid.", answers[15].ErrorOf("InvalidParameterException"));
    });

    [Fact]
    public Task Filter_log_events_selects_streams_and_times_pages_with_nextToken_and_applies_each_filter_pattern_kind() => fixture.RunAsync(async scope =>
    {
        var group = LogsCli.NewGroupName();
        var now = LogsCli.NowMs();
        string[] api =
        [
            """{"level":"ERROR","latency":250,"msg":"payment failed"}""",
            """{"level":"INFO","latency":40,"msg":"payment ok"}""",
            """{"level":"WARN","latency":120,"msg":"payment slow"}""",
        ];
        string[] worker = ["ERROR Task timed out", "INFO job done", "WARN disk almost full"];

        // api-1 at now-3000, -2000, -1000; worker-1 one millisecond after each.
        object Put(string stream, string[] messages, int offset) => new
        {
            logGroupName = group,
            logStreamName = stream,
            logEvents = messages.Select((m, i) => new { timestamp = now - 3000 + (i * 1000) + offset, message = m }).ToArray(),
        };
        object Filter(object extra) => new Dictionary<string, object>(
            new[] { new KeyValuePair<string, object>("logGroupName", group) }.Concat(
                JsonSerializer.SerializeToElement(extra).EnumerateObject().Select(p => new KeyValuePair<string, object>(p.Name, p.Value))));

        var patterns = new (string Pattern, string[] Expected)[]
        {
            ("ERROR", [api[0], worker[0]]),
            ("\"Task timed out\"", [worker[0]]),
            ("?timed ?WARN ?slow", [worker[0], api[2], worker[2]]),
            ("payment -failed", [api[1], api[2]]),
            ("""{ $.level = "ERROR" }""", [api[0]]),
            ("{ $.latency > 100 }", [api[0], api[2]]),
            ("""{ $.latency > 100 && $.level != "ERROR" }""", [api[2]]),
            ("""{ $.level = "INFO" || $.msg = "*failed" }""", [api[0], api[1]]),
        };
        var answers = await RunAsync(scope,
        [
            Call("create_log_group", new { logGroupName = group }),
            Call("create_log_stream", new { logGroupName = group, logStreamName = "api-1" }),
            Call("create_log_stream", new { logGroupName = group, logStreamName = "worker-1" }),
            Call("put_log_events", Put("api-1", api, 0)),
            Call("put_log_events", Put("worker-1", worker, 1)),
            Paginate("filter_log_events", Filter(new { interleaved = true, PaginationConfig = new { PageSize = 2 } })),
            Call("filter_log_events", Filter(new { logStreamNames = new[] { "worker-1" } })),
            Call("filter_log_events", Filter(new { logStreamNamePrefix = "api" })),
            Call("filter_log_events", Filter(new { startTime = now - 2000, endTime = now - 1999 })),
            Paginate("filter_log_events", Filter(new { filterPattern = "{ $.latency > 100 }", PaginationConfig = new { PageSize = 1 } })),
            Call("filter_log_events", Filter(new { filterPattern = "{ $.latency > }" })),
            Call("filter_log_events", new { logGroupName = group + "-none" }),
            Call("filter_log_events", Filter(new { logStreamNames = new[] { "api-1" }, logStreamNamePrefix = "api" })),
            .. patterns.Select(p => Call("filter_log_events", Filter(new { filterPattern = p.Pattern }))),
        ]);

        Assert.Equal([api[0], worker[0], api[1], worker[1], api[2], worker[2]], answers[5].AcrossPages("events", "message"));
        Assert.Equal(3, answers[5].GetArrayLength());
        var ids = answers[5].EnumerateArray().SelectMany(p => p.GetProperty("events").EnumerateArray()).Select(e => e.GetProperty("eventId").GetString()!).ToList();
        Assert.All(ids, id => Assert.True(long.TryParse(id, NumberStyles.None, CultureInfo.InvariantCulture, out _), id));
        Assert.Equal(ids.Count, ids.Distinct().Count());
        Assert.Equal(worker, answers[6].GetProperty("events").Strings("message"));
        Assert.Equal(api, answers[7].GetProperty("events").Strings("message"));
        Assert.Equal([api[1], worker[1]], answers[8].GetProperty("events").Strings("message"));
        Assert.Equal([api[0], api[2]], answers[9].AcrossPages("events", "message"));
        Assert.Contains("Invalid filter pattern", answers[10].ErrorOf("InvalidParameterException"), StringComparison.Ordinal);
        Assert.Equal("The specified log group does not exist.", answers[11].ErrorOf("ResourceNotFoundException"));
        answers[12].ErrorOf("InvalidParameterException");
        for (var i = 0; i < patterns.Length; i++)
        {
            Assert.True(patterns[i].Expected.SequenceEqual(answers[13 + i].GetProperty("events").Strings("message")),
                $"Pattern {patterns[i].Pattern}: expected [{string.Join(" | ", patterns[i].Expected)}], got {answers[13 + i]}");
        }

        // The same events, the same ids on a second read: clients de-duplicate by them.
        var again = await RunAsync(scope, Paginate("filter_log_events", Filter(new { interleaved = true })));
        Assert.Equal(ids, again[0].EnumerateArray().SelectMany(p => p.GetProperty("events").EnumerateArray()).Select(e => e.GetProperty("eventId").GetString()!));
    });

    [Fact]
    public Task Filter_log_events_through_the_CLI_applies_space_delimited_patterns() => fixture.RunAsync(async scope =>
    {
        var cli = scope.Cli(AwsCli.V1);
        var group = LogsCli.NewGroupName();
        string[] lines =
        [
            """127.0.0.1 - frank [10/Oct/2000:13:25:15 -0700] "GET /apache_pb.gif HTTP/1.0" 404 1534""",
            """127.0.0.1 - frank [10/Oct/2000:13:25:16 -0700] "GET /missing.png HTTP/1.0" 404 20""",
            """10.0.0.2 - ada [10/Oct/2000:13:25:17 -0700] "GET /index.html HTTP/1.0" 200 5120""",
        ];
        var now = LogsCli.NowMs();
        (await cli.LogsAsync("create-log-group", "--log-group-name", group)).ShouldSucceed();
        (await cli.LogsAsync("create-log-stream", "--log-group-name", group, "--log-stream-name", "access")).ShouldSucceed();
        (await cli.LogsAsync("put-log-events", "--log-group-name", group, "--log-stream-name", "access", "--log-events",
            LogsCli.EventsFile(scope, [.. lines.Select((l, i) => (now - 3 + i, l))]))).ShouldSucceed();

        async Task<List<string>> FilterAsync(string pattern) =>
            (await cli.LogsAsync("filter-log-events", "--log-group-name", group, "--filter-pattern", pattern)).Json().GetProperty("events").Strings("message");

        Assert.Equal([lines[0]], await FilterAsync("[ip, user, username, timestamp, request, status_code = 404, bytes > 1000]"));
        Assert.Equal([lines[0], lines[1]], await FilterAsync("[ip, user, username = frank, ...]"));
        Assert.Equal([lines[2]], await FilterAsync("[..., request = \"*index*\", status_code = 2*, bytes]"));
        Assert.Contains("Invalid filter pattern", (await cli.LogsAsync("filter-log-events", "--log-group-name", group, "--filter-pattern", "[ip, code > abc]"))
            .ShouldFailWith("InvalidParameterException"), StringComparison.Ordinal);
    });

    [Fact]
    public Task A_retention_policy_deletes_events_older_than_it_and_only_takes_AWS_day_values() => fixture.RunAsync(async scope =>
    {
        var group = LogsCli.NewGroupName();
        var now = LogsCli.NowMs();
        const long Day = 86_400_000;
        var answers = await RunAsync(scope,
            Call("create_log_group", new { logGroupName = group }),
            Call("create_log_stream", new { logGroupName = group, logStreamName = "s" }),
            Call("put_log_events", new { logGroupName = group, logStreamName = "s", logEvents = new[] { new { timestamp = now - (3 * Day), message = "three days old" }, new { timestamp = now - (3 * Day) + 1, message = "also old" } } }),
            Call("put_log_events", new { logGroupName = group, logStreamName = "s", logEvents = new[] { new { timestamp = now, message = "fresh" } } }),
            Call("put_retention_policy", new { logGroupName = group, retentionInDays = 2 }),
            Call("put_retention_policy", new { logGroupName = group + "-none", retentionInDays = 1 }),
            Call("put_retention_policy", new { logGroupName = group, retentionInDays = 1 }),
            Call("describe_log_groups", new { logGroupNamePrefix = group }));
        Assert.Contains("Member must satisfy enum value set: [1, 3, 5, 7, 14", answers[4].ErrorOf("InvalidParameterException"), StringComparison.Ordinal);
        Assert.Equal("The specified log group does not exist.", answers[5].ErrorOf("ResourceNotFoundException"));
        Assert.Equal(1, answers[7].GetProperty("logGroups")[0].GetProperty("retentionInDays").GetInt32());

        // This server sweeps every second: only the fresh event stays.
        var left = await LogsCli.WaitForAsync(
            async () => string.Join(",", (await RunAsync(scope, Call("filter_log_events", new { logGroupName = group })))[0].GetProperty("events").Strings("message")),
            messages => messages == "fresh", TimeSpan.FromSeconds(30), "the retention sweeper to delete the 3-day-old events");
        Assert.Equal("fresh", left);

        answers = await RunAsync(scope,
            Call("put_log_events", new { logGroupName = group, logStreamName = "s", logEvents = new[] { new { timestamp = now - (2 * Day), message = "too late" }, new { timestamp = now - (2 * Day) + 5, message = "too late too" } } }),
            Call("delete_retention_policy", new { logGroupName = group }),
            Call("describe_log_groups", new { logGroupNamePrefix = group }),
            Call("describe_log_streams", new { logGroupName = group }));
        Assert.Equal(2, answers[0].GetProperty("rejectedLogEventsInfo").GetProperty("expiredLogEventEndIndex").GetInt32());
        answers[1].Ok();
        Assert.False(answers[2].GetProperty("logGroups")[0].TryGetProperty("retentionInDays", out _), answers[2].ToString());
        Assert.Equal(now, answers[3].GetProperty("logStreams")[0].GetProperty("firstEventTimestamp").GetInt64());
    });

    [Fact]
    public Task Unknown_operations_and_malformed_bodies_get_AWS_shaped_400s() => fixture.RunAsync(async scope =>
    {
        foreach (var (operation, body, type) in new[]
        {
            ("StartQuery", "{}", "UnknownOperationException"),
            ("CreateLogGroup", "{not json", "SerializationException"),
            ("CreateLogGroup", """{"logGroupName": 5}""", "SerializationException"),
            ("CreateLogGroup", "{}", "InvalidParameterException"),
            ("DescribeLogGroups", """{"limit": 51}""", "InvalidParameterException"),
        })
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/") { Content = new StringContent(body) };
            request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/x-amz-json-1.1");
            request.Headers.Add("X-Amz-Target", "Logs_20140328." + operation);
            using var response = await scope.Server.Http.SendAsync(request);
            var text = await response.Content.ReadAsStringAsync();
            Assert.True((int)response.StatusCode == 400, $"{operation} {body}: {(int)response.StatusCode} {text}");
            using var error = JsonDocument.Parse(text);
            Assert.Equal(type, error.RootElement.GetProperty("__type").GetString());
            Assert.False(string.IsNullOrEmpty(error.RootElement.GetProperty("message").GetString()));
        }
    });

    private static string RunAsyncError(JsonElement[] answers, string code) => answers[0].ErrorOf(code);
}
