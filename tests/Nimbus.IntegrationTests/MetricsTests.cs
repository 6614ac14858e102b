using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Nimbus.IntegrationTests;

/// <summary>
/// Monitoring as a user checks it: /metrics in Prometheus's format with exact counts, `aws cloudwatch` (CLI v1 over
/// JSON 1.0, CLI v2 over the query protocol) answering the same numbers, metering that adds up to the REPORT lines,
/// `./nimbus usage`, and the caller's trace header reaching the function.
/// </summary>
public sealed partial class MetricsTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private const string NodeRuntime = "nodejs20.x";
    private const string Latest = "$LATEST";
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    [Fact]
    public Task Metrics_endpoint_counts_a_known_mix_of_successes_errors_and_throttles_exactly() => fixture.RunAsync(async scope =>
    {
        var name = scope.NewFunctionName();
        await scope.Lambda.CreateFunctionAsync(name, FunctionZips.Build(FunctionZips.NodeBehaviours), NodeRuntime, "dispatch.handler", timeout: 30);
        await InvokeMixAsync(scope, name, successes: 3, errors: 2, throttles: 2);

        using var response = await scope.Server.Http.GetAsync(new Uri("/metrics", UriKind.Relative));
        var text = await response.Content.ReadAsStringAsync();

        Assert.True(response.IsSuccessStatusCode, text);
        Assert.Equal("text/plain; version=0.0.4; charset=utf-8", response.Content.Headers.ContentType?.ToString());
        var metrics = PrometheusText.Parse(text);
        (string, string)[] series = [("function", name), ("version", Latest)];
        Assert.Equal(5, metrics.Value("nimbus_lambda_invocations_total", series));
        Assert.Equal(2, metrics.Value("nimbus_lambda_errors_total", series));
        Assert.Equal(0, metrics.Value("nimbus_lambda_timeouts_total", series));
        Assert.Equal(2, metrics.Value("nimbus_lambda_throttles_total", series));
        Assert.Equal(1, metrics.Value("nimbus_lambda_cold_starts_total", series));
        Assert.Equal(1, metrics.Value("nimbus_lambda_init_duration_milliseconds_count", series));
        Assert.Equal(5, metrics.Value("nimbus_lambda_duration_milliseconds_count", series));
        Assert.Equal(5, metrics.Value("nimbus_lambda_duration_milliseconds_bucket", [.. series, ("le", "+Inf")]));
        var buckets = metrics.Samples("nimbus_lambda_duration_milliseconds_bucket", series).Select(b => b.Value).ToList();
        Assert.True(buckets.SequenceEqual(buckets.Order()), $"Histogram buckets must be cumulative.{Environment.NewLine}{text}");
        Assert.True(metrics.Value("nimbus_lambda_duration_milliseconds_sum", series) > 0, text);
        Assert.Equal(0, metrics.Value("nimbus_lambda_concurrent_executions", series));
        Assert.Equal("histogram", metrics.Types["nimbus_lambda_duration_milliseconds"]);
        Assert.Equal("counter", metrics.Types["nimbus_lambda_invocations_total"]);
        Assert.True(metrics.Samples("nimbus_http_requests_total", ("code", "429")).Sum(s => s.Value) >= 2, text);
        Assert.True(metrics.Value("nimbus_instances", ("state", "idle")) >= 1, text);
        Assert.True(metrics.Value("nimbus_memory_committed_megabytes") >= 128, text);
        Assert.Contains("nimbus_async_queue_depth", metrics.Types.Keys);
    });

    [Fact]
    public Task Invocation_whose_caller_hung_up_is_counted_once_it_ends() => fixture.RunAsync(async scope =>
    {
        // Metrics and metering are told after the caller's answer is written: an answer nobody reads any more (the caller
        // gave up while the handler slept) must still count, with the REPORT's duration.
        var name = scope.NewFunctionName();
        await scope.Lambda.CreateFunctionAsync(name, FunctionZips.Build(FunctionZips.NodeBehaviours), NodeRuntime, "pid.handler", timeout: 30);

        // Warm first: a caller that hangs up during a cold start gives its place up and its invocation never runs (on a
        // loaded machine the init alone can outlast the 1.5 s below).
        var warm = await scope.Lambda.InvokeAsync(name, """{"ms":0}""");
        Assert.True(warm.StatusCode == 200, warm.ToString());
        using (var gone = new CancellationTokenSource(TimeSpan.FromMilliseconds(1500)))
        {
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => scope.Server.Http.PostAsync(
                $"/2015-03-31/functions/{name}/invocations", new StringContent("""{"ms":3000}""", Encoding.UTF8, "application/json"), gone.Token));
        }

        (string, string)[] series = [("function", name), ("version", Latest)];
        PrometheusText? metrics = null;
        for (var deadline = DateTime.UtcNow + Deadline; DateTime.UtcNow < deadline; await Task.Delay(100))
        {
            metrics = await MetricsAsync(scope);
            if (metrics.Samples("nimbus_lambda_invocations_total", series).Count == 1 && metrics.Value("nimbus_lambda_invocations_total", series) == 2)
            {
                break;
            }
        }

        // The warm-up and the invocation whose caller hung up.
        Assert.NotNull(metrics);
        Assert.Equal(2, metrics.Value("nimbus_lambda_invocations_total", series));
        Assert.Equal(0, metrics.Value("nimbus_lambda_errors_total", series));
        Assert.Equal(2, metrics.Value("nimbus_lambda_duration_milliseconds_count", series));
        Assert.InRange(metrics.Value("nimbus_lambda_duration_milliseconds_sum", series), 2900, 30_000);
    });

    [Fact]
    public Task Metrics_endpoint_reports_the_servers_garbage_collections_and_allocations() => fixture.RunAsync(async scope =>
    {
        var name = scope.NewFunctionName();
        await scope.Lambda.CreateFunctionAsync(name, FunctionZips.Build(FunctionZips.NodeCjs), NodeRuntime, "index.handler");
        var before = await MetricsAsync(scope);
        for (var i = 0; i < 5; i++)
        {
            var invoked = await scope.Lambda.InvokeAsync(name, $$"""{"name":"gc{{i}}"}""");
            Assert.True(invoked.StatusCode == 200, invoked.ToString());
        }

        var after = await MetricsAsync(scope);

        Assert.Equal("counter", after.Types["nimbus_dotnet_gc_collections_total"]);
        Assert.Equal("counter", after.Types["nimbus_dotnet_gc_pause_seconds_total"]);
        Assert.Equal("counter", after.Types["nimbus_dotnet_allocated_bytes_total"]);
        var collections = Enumerable.Range(0, 3).Select(g => after.Value("nimbus_dotnet_gc_collections_total", ("generation", g.ToString(CultureInfo.InvariantCulture)))).ToList();
        Assert.True(collections[0] >= collections[1] && collections[1] >= collections[2] && collections[2] >= 0, string.Join(", ", collections));
        Assert.True(after.Value("nimbus_dotnet_gc_pause_seconds_total") >= before.Value("nimbus_dotnet_gc_pause_seconds_total"));
        Assert.True(after.Value("nimbus_dotnet_allocated_bytes_total") > before.Value("nimbus_dotnet_allocated_bytes_total"));
    });

    private static async Task<PrometheusText> MetricsAsync(TestScope scope)
    {
        using var response = await scope.Server.Http.GetAsync(new Uri("/metrics", UriKind.Relative));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, text);
        return PrometheusText.Parse(text);
    }

    [Fact]
    public Task Requests_refused_by_authentication_are_counted_by_API_and_status() => fixture.RunAsync(async scope =>
    {
        // A wrong secret (403 InvalidSignatureException) and no signature at all (403 MissingAuthenticationToken).
        using var badSecret = new HttpClient(new SigV4SigningHandler(NimbusServer.RootAccessKeyId, "not-the-secret", Aws.Region)) { BaseAddress = scope.Server.Http.BaseAddress };
        var before = await RequestCountsAsync(scope);
        for (var i = 0; i < 3; i++)
        {
            using var refused = await badSecret.GetAsync(new Uri("/2015-03-31/functions", UriKind.Relative));
            Assert.Equal(403, (int)refused.StatusCode);
        }

        int unsignedCode;
        using (var unsigned = await scope.Server.UnsignedHttp.GetAsync(new Uri("/2015-03-31/functions", UriKind.Relative)))
        {
            unsignedCode = (int)unsigned.StatusCode;
            Assert.InRange(unsignedCode, 400, 403);
        }

        var after = await RequestCountsAsync(scope);
        Assert.Equal(3, after.GetValueOrDefault(("lambda", 403)) - before.GetValueOrDefault(("lambda", 403)));
        Assert.Equal(1, after.GetValueOrDefault(("unsigned", unsignedCode)) - before.GetValueOrDefault(("unsigned", unsignedCode)));
    });

    private static async Task<Dictionary<(string Api, int Code), double>> RequestCountsAsync(TestScope scope)
    {
        using var response = await scope.Server.Http.GetAsync(new Uri("/metrics", UriKind.Relative));
        var metrics = PrometheusText.Parse(await response.Content.ReadAsStringAsync());
        return metrics.Samples("nimbus_http_requests_total").ToDictionary(
            s => (s.Labels["api"], int.Parse(s.Labels["code"], CultureInfo.InvariantCulture)), s => s.Value);
    }

    [Theory]
    [InlineData(AwsCli.V1)]
    [InlineData(AwsCli.V2)]
    public Task Get_metric_statistics_with_the_CLI_answers_the_real_numbers(string cli) => fixture.RunAsync(async scope =>
    {
        var aws = scope.Cli(cli);
        var name = scope.NewFunctionName();
        await scope.Lambda.CreateFunctionAsync(name, FunctionZips.Build(FunctionZips.NodeBehaviours), NodeRuntime, "dispatch.handler", timeout: 30);
        await InvokeMixAsync(scope, name, successes: 2, errors: 1, throttles: 1);
        var window = Window();

        var invocations = await WaitForStatisticAsync(aws, name, "Invocations", "Sum", 3, window);
        var errors = Single(await StatisticsAsync(aws, name, "Errors", window, "--statistics", "Sum", "SampleCount", "Average"));
        var throttles = Single(await StatisticsAsync(aws, name, "Throttles", window, "--statistics", "Sum"));
        var duration = Single(await StatisticsAsync(aws, name, "Duration", window, "--statistics", "SampleCount", "Minimum", "Maximum", "Average"));
        var p100 = Single(await StatisticsAsync(aws, name, "Duration", window, "--extended-statistics", "p100", "p50"));
        var concurrency = Single(await StatisticsAsync(aws, name, "ConcurrentExecutions", window, "--statistics", "Maximum"));
        var data = (await aws.RunAsync(
        [
            "cloudwatch", "get-metric-data", "--start-time", window.Start, "--end-time", window.End, "--metric-data-queries",
            $$$"""[{"Id":"inv","MetricStat":{"Metric":{"Namespace":"AWS/Lambda","MetricName":"Invocations","Dimensions":[{"Name":"FunctionName","Value":"{{{name}}}"}]},"Period":600,"Stat":"Sum"}},{"Id":"err","Label":"errors","MetricStat":{"Metric":{"Namespace":"AWS/Lambda","MetricName":"Errors","Dimensions":[{"Name":"FunctionName","Value":"{{{name}}}"}]},"Period":600,"Stat":"Sum"}}]""",
        ])).Json();
        var listed = (await aws.RunAsync(["cloudwatch", "list-metrics", "--namespace", "AWS/Lambda", "--dimensions", $"Name=FunctionName,Value={name}"])).Json();

        Assert.Equal("Count", invocations.Str("Unit"));
        Assert.Equal(1, errors.At("Sum").GetDouble());
        Assert.Equal(3, errors.At("SampleCount").GetDouble());
        Assert.Equal(1.0 / 3, errors.At("Average").GetDouble(), 6);
        Assert.Equal(1, throttles.At("Sum").GetDouble());
        Assert.Equal(3, duration.At("SampleCount").GetDouble());
        Assert.Equal("Milliseconds", duration.Str("Unit"));
        Assert.InRange(duration.At("Average").GetDouble(), duration.At("Minimum").GetDouble(), duration.At("Maximum").GetDouble());
        Assert.Equal(duration.At("Maximum").GetDouble(), p100.At("ExtendedStatistics.p100").GetDouble());
        Assert.Equal(1, concurrency.At("Maximum").GetDouble());
        var results = data.Array("MetricDataResults");
        Assert.Equal(["inv", "err"], results.Select(r => r.Str("Id")));
        Assert.Equal([3.0], results[0].Array("Values").Select(v => v.GetDouble()));
        Assert.Equal([1.0], results[1].Array("Values").Select(v => v.GetDouble()));
        Assert.Equal("errors", results[1].Str("Label"));
        Assert.Equal("Complete", results[0].Str("StatusCode"));
        Assert.Equal(
            ["ConcurrentExecutions", "Duration", "Errors", "Invocations", "Throttles"],
            listed.Array("Metrics").Select(m => m.Str("MetricName")).Order(StringComparer.Ordinal));
    });

    [Theory]
    [InlineData(AwsCli.V1)]
    [InlineData(AwsCli.V2)]
    public Task Get_metric_statistics_rejects_bad_input_with_CloudWatchs_errors(string cli) => fixture.RunAsync(async scope =>
    {
        var aws = scope.Cli(cli);
        var window = Window();
        string[] common = ["cloudwatch", "get-metric-statistics", "--namespace", "AWS/Lambda", "--metric-name", "Invocations", "--start-time", window.Start];

        var period = await aws.RunAsync([.. common, "--end-time", window.End, "--period", "61", "--statistics", "Sum"]);
        var both = await aws.RunAsync([.. common, "--end-time", window.End, "--period", "60", "--statistics", "Sum", "--extended-statistics", "p99"]);
        var tooMany = await aws.RunAsync([.. common, "--end-time", DateTime.UtcNow.AddDays(3).ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture), "--period", "60", "--statistics", "Sum"]);
        var backwards = await aws.RunAsync(["cloudwatch", "get-metric-statistics", "--namespace", "AWS/Lambda", "--metric-name", "Invocations", "--start-time", window.End, "--end-time", window.Start, "--period", "60", "--statistics", "Sum"]);
        var unsupported = await aws.RunAsync(["cloudwatch", "describe-alarms"]);

        Assert.Contains("must be a multiple of 60", period.ShouldFailWith("InvalidParameterValue"), StringComparison.Ordinal);
        Assert.Equal("Must specify either Statistics or ExtendedStatistics, but not both.", both.ShouldFailWith("InvalidParameterCombination"));
        Assert.Contains("exceeds the limit of 1,440", tooMany.ShouldFailWith("InvalidParameterCombination"), StringComparison.Ordinal);
        Assert.Equal("The parameter StartTime must be less than the parameter EndTime.", backwards.ShouldFailWith("InvalidParameterValue"));
        Assert.Contains("DescribeAlarms", unsupported.ShouldFailWith("InvalidAction"), StringComparison.Ordinal);
    });

    [Fact]
    public Task CloudWatch_JSON_errors_carry_the_query_error_header_and_the_shape_type() => fixture.RunAsync(async scope =>
    {
        var headers = new Dictionary<string, string> { ["X-Amz-Target"] = "GraniteServiceVersion20100801.GetMetricStatistics" };
        var content = new StringContent("""{"MetricName":"Invocations","StartTime":1,"EndTime":2,"Period":60,"Statistics":["Sum"]}""", Encoding.UTF8);
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/x-amz-json-1.0");

        var missing = await scope.Lambda.SendAsync(HttpMethod.Post, "/", content, headers);

        Assert.True(missing.StatusCode == 400, missing.ToString());
        Assert.Equal("MissingParameter;Sender", missing.Header("x-amzn-query-error"));
        Assert.Equal("com.amazonaws.cloudwatch#MissingRequiredParameterException", missing.Json().Str("__type"));
        Assert.Equal("The parameter Namespace is required.", missing.Json().Str("message"));
    });

    [Fact]
    public Task Metering_sums_equal_the_REPORT_lines_and_nimbus_usage_prints_them() => fixture.RunAsync(async scope =>
    {
        var name = scope.NewFunctionName();
        await scope.Lambda.CreateFunctionAsync(name, FunctionZips.Build(FunctionZips.NodeCjs), NodeRuntime, "index.handler");
        long billedFromReports = 0;
        for (var i = 0; i < 4; i++)
        {
            var invoked = await scope.Lambda.InvokeAsync(name, $$"""{"name":"m{{i}}"}""", logType: "Tail");
            Assert.True(invoked.StatusCode == 200, invoked.ToString());
            var log = Encoding.UTF8.GetString(Convert.FromBase64String(invoked.Header("X-Amz-Log-Result") ?? ""));
            var billed = BilledDuration().Match(log);
            Assert.True(billed.Success, $"No REPORT line with a Billed Duration in the log tail:{Environment.NewLine}{log}");
            billedFromReports += long.Parse(billed.Groups[1].Value, CultureInfo.InvariantCulture);
        }

        var usage = await WaitForUsageAsync(scope, name, requests: 4);
        var cli = await RunUsageCommandAsync(scope.Server.Endpoint, name);

        Assert.Equal(billedFromReports, usage.Num("BilledDurationMs"));
        var gbSeconds = billedFromReports * 128m / 1_024_000m;
        Assert.Equal(Math.Round(gbSeconds, 10), usage.At("GbSeconds").GetDecimal());
        Assert.Equal(Math.Round((4 * 0.20m / 1_000_000m) + (gbSeconds * 0.0000166667m), 10), usage.At("Cost").GetDecimal());
        Assert.Equal(0, usage.Num("Errors"));
        Assert.Matches(new Regex($@"(?m)^\d{{4}}-\d\d-\d\d\s+{name}\s+4\s+{billedFromReports}\s+{gbSeconds.ToString("0.000000", CultureInfo.InvariantCulture)}\s+\d+\.\d{{6}}$"), cli);
        Assert.Contains("$0.20 per 1M requests", cli, StringComparison.Ordinal);
    });

    [Fact]
    public Task Usage_API_rejects_bad_dates() => fixture.RunAsync(async scope =>
    {
        var bad = await scope.Lambda.SendAsync(HttpMethod.Get, "/nimbus/usage?from=yesterday");
        var backwards = await scope.Lambda.SendAsync(HttpMethod.Get, "/nimbus/usage?from=2026-12-03&to=2026-12-01");

        Assert.True(bad.StatusCode == 400, bad.ToString());
        Assert.Contains("dates such as", bad.Json().Str("message"), StringComparison.Ordinal);
        Assert.True(backwards.StatusCode == 400, backwards.ToString());
    });

    [Fact]
    public Task The_callers_X_Amzn_Trace_Id_reaches_the_function_with_its_root() => fixture.RunAsync(async scope =>
    {
        var name = scope.NewFunctionName();
        var zip = FunctionZips.FromSource("index.js", "exports.handler = async () => ({ trace: process.env._X_AMZN_TRACE_ID ?? null });");
        await scope.Lambda.CreateFunctionAsync(name, zip, NodeRuntime, "index.handler");
        const string root = "1-5759e988-bd862e3fe1be46a994272793";
        var content = new StringContent("{}", Encoding.UTF8, "application/json");

        var traced = await scope.Lambda.SendAsync(HttpMethod.Post, $"{LambdaHttp.FunctionsPath}/{name}/invocations", content,
            new Dictionary<string, string> { ["X-Amzn-Trace-Id"] = $"Root={root};Sampled=1" });
        var untraced = await scope.Lambda.InvokeAsync(name, "{}");

        Assert.Matches($@"^Root={root};Parent=[0-9a-f]{{16}};Sampled=1$", traced.Json().Str("trace"));
        Assert.Matches(@"^Root=1-[0-9a-f]{8}-[0-9a-f]{24};Parent=[0-9a-f]{16};Sampled=0$", untraced.Json().Str("trace"));
        Assert.DoesNotContain(root, untraced.Json().Str("trace"), StringComparison.Ordinal);
    });

    [Fact]
    public Task Async_event_metrics_count_received_and_dropped_events_and_the_dead_letter_continues_the_callers_trace() => fixture.RunAsync(async scope =>
    {
        var aws = scope.Cli(AwsCli.V1);
        var queues = new EventSourceMappingQueues(aws, scope.ScratchDirectory);
        var (dlqUrl, dlqArn) = await queues.CreateAsync($"dlq-{Guid.NewGuid():N}");
        var name = scope.NewFunctionName();
        (await aws.CreateFunctionAsync(name, FunctionZips.Build(FunctionZips.NodeBehaviours), NodeRuntime, "dispatch.handler",
            "--dead-letter-config", $"TargetArn={dlqArn}")).ShouldSucceed();
        (await aws.LambdaAsync("put-function-event-invoke-config", "--function-name", name, "--maximum-retry-attempts", "0")).ShouldSucceed();
        const string root = "1-5759e988-bd862e3fe1be46a994272794";

        // Two events that succeed and one that fails (no retries), the failing one sent with a trace header.
        foreach (var (payload, trace) in new[] { ("""{"action":"sleep","ms":1}""", (string?)null), ("""{"action":"sleep","ms":1}""", null), ("""{"action":"error"}""", $"Root={root};Sampled=1") })
        {
            var headers = new Dictionary<string, string> { ["X-Amz-Invocation-Type"] = "Event" };
            if (trace is not null)
            {
                headers["X-Amzn-Trace-Id"] = trace;
            }

            var accepted = await scope.Lambda.SendAsync(HttpMethod.Post, $"{LambdaHttp.FunctionsPath}/{name}/invocations",
                new StringContent(payload, Encoding.UTF8, "application/json"), headers);
            Assert.True(accepted.StatusCode == 202, accepted.ToString());
        }

        var dead = Assert.Single(await queues.ReceiveAtLeastAsync(dlqUrl, 1, Deadline));
        var window = Window();
        await WaitForStatisticAsync(aws, name, "AsyncEventsReceived", "Sum", 3, window);
        await WaitForStatisticAsync(aws, name, "AsyncEventsDropped", "Sum", 1, window);
        var age = await WaitForStatisticAsync(aws, name, "AsyncEventAge", "SampleCount", 3, window);
        var ageRange = Single(await StatisticsAsync(aws, name, "AsyncEventAge", window, "--statistics", "Minimum", "Maximum", "Average"));
        var agePercentiles = Single(await StatisticsAsync(aws, name, "AsyncEventAge", window, "--extended-statistics", "p1", "p100"));
        var ageData = (await aws.RunAsync(
        [
            "cloudwatch", "get-metric-data", "--start-time", window.Start, "--end-time", window.End, "--metric-data-queries",
            $$$"""[{"Id":"age","MetricStat":{"Metric":{"Namespace":"AWS/Lambda","MetricName":"AsyncEventAge","Dimensions":[{"Name":"FunctionName","Value":"{{{name}}}"}]},"Period":600,"Stat":"p99"}}]""",
        ])).Json();
        var listed = (await aws.RunAsync(["cloudwatch", "list-metrics", "--namespace", "AWS/Lambda", "--dimensions", $"Name=FunctionName,Value={name}"])).Json();
        using var response = await scope.Server.Http.GetAsync(new Uri("/metrics", UriKind.Relative));
        var metrics = PrometheusText.Parse(await response.Content.ReadAsStringAsync());

        Assert.Matches($@"^Root={root};Parent=[0-9a-f]{{16}};Sampled=1$", dead.Str("Attributes.AWSTraceHeader"));
        Assert.Equal("Milliseconds", age.Str("Unit"));
        (string, string)[] series = [("function", name), ("version", Latest)];
        Assert.Equal(3, metrics.Value("nimbus_lambda_async_events_received_total", series));
        Assert.Equal(1, metrics.Value("nimbus_lambda_async_events_dropped_total", series));
        Assert.Equal(0, metrics.Value("nimbus_lambda_dead_letter_errors_total", series));
        Assert.Equal(3, metrics.Value("nimbus_lambda_async_event_age_milliseconds_count", series));

        // Percentiles of the age are the nearest-rank values of the three attempts (not the average): the smallest
        // and the largest for p1 and p100 (and p99 of three samples), as CloudWatch answers them.
        Assert.Equal(ageRange.At("Minimum").GetDouble(), agePercentiles.At("ExtendedStatistics.p1").GetDouble());
        Assert.Equal(ageRange.At("Maximum").GetDouble(), agePercentiles.At("ExtendedStatistics.p100").GetDouble());
        Assert.Equal([ageRange.At("Maximum").GetDouble()], ageData.Array("MetricDataResults")[0].Array("Values").Select(v => v.GetDouble()));

        // ListMetrics lists the async metrics this function has data for, by FunctionName.
        var names = listed.Array("Metrics").Select(m => m.Str("MetricName")).Distinct().Order(StringComparer.Ordinal).ToList();
        Assert.Equal(["AsyncEventAge", "AsyncEventsDropped", "AsyncEventsReceived", "ConcurrentExecutions", "Duration", "Errors", "Invocations", "Throttles"], names);
        Assert.All(listed.Array("Metrics").Where(m => m.Str("MetricName").StartsWith("Async", StringComparison.Ordinal)), m =>
            Assert.Equal([$"FunctionName={name}"], m.Array("Dimensions").Select(d => $"{d.Str("Name")}={d.Str("Value")}")));
    });

    [Fact]
    public Task Provisioned_and_unreserved_concurrency_gauges_answer_the_maximum_running_during_an_invoke() => fixture.RunAsync(async scope =>
    {
        var aws = scope.Cli(AwsCli.V2);
        var name = scope.NewFunctionName();
        await scope.Lambda.CreateFunctionAsync(name, FunctionZips.Build(FunctionZips.NodeBehaviours), NodeRuntime, "dispatch.handler", timeout: 30);
        Assert.Equal("1", (await aws.LambdaAsync("publish-version", "--function-name", name)).ShouldSucceed().Json().Str("Version"));
        (await aws.LambdaAsync("create-alias", "--function-name", name, "--name", "live", "--function-version", "1")).ShouldSucceed();
        (await aws.LambdaAsync("put-provisioned-concurrency-config", "--function-name", name, "--qualifier", "live", "--provisioned-concurrent-executions", "1")).ShouldSucceed();
        var deleted = false;
        try
        {
            await ProvisionedConcurrencyTests.WaitForReadyAsync(aws, name, "live");

            // The gauges are sampled every second: an invocation running for 3 s on the provisioned instance is seen.
            var window = Window();
            (await aws.InvokeAsync(name, """{"action":"sleep","ms":3000}""", "--qualifier", "live")).ShouldReturn();

            var running = await WaitForStatisticAsync(aws, name, "ProvisionedConcurrentExecutions", "Maximum", 1, window);
            var utilization = await WaitForStatisticAsync(aws, name, "ProvisionedConcurrencyUtilization", "Maximum", 1, window);
            async Task<JsonElement> ByResourceAsync(string metric, string resource) => (await aws.RunAsync(
            [
                "cloudwatch", "get-metric-statistics", "--namespace", "AWS/Lambda", "--metric-name", metric,
                "--dimensions", $"Name=FunctionName,Value={name}", $"Name=Resource,Value={resource}", "--start-time", window.Start, "--end-time", window.End,
                "--period", "600", "--statistics", "Maximum",
            ])).Json();
            var unreserved = (await aws.RunAsync(
            [
                "cloudwatch", "get-metric-statistics", "--namespace", "AWS/Lambda", "--metric-name", "UnreservedConcurrentExecutions",
                "--start-time", window.Start, "--end-time", window.End, "--period", "600", "--statistics", "Maximum",
            ])).Json();
            var unreservedOfFunction = await StatisticsAsync(aws, name, "UnreservedConcurrentExecutions", window, "--statistics", "Maximum");

            Assert.Equal("Count", running.Str("Unit"));
            Assert.Equal("None", utilization.Str("Unit"));

            // Published under the alias the configuration was put on (as Application Auto Scaling reads it) and under its version.
            Assert.Equal(1, Single(await ByResourceAsync("ProvisionedConcurrentExecutions", $"{name}:live")).At("Maximum").GetDouble());
            Assert.Equal(1, Single(await ByResourceAsync("ProvisionedConcurrencyUtilization", $"{name}:live")).At("Maximum").GetDouble());
            Assert.Equal(1, Single(await ByResourceAsync("ProvisionedConcurrentExecutions", $"{name}:1")).At("Maximum").GetDouble());
            Assert.True(Single(unreserved).At("Maximum").GetDouble() >= 1, unreserved.ToString());
            Assert.Empty(unreservedOfFunction.Array("Datapoints"));

            // ListMetrics lists the gauges with the dimensions they are published under.
            var listed = (await aws.RunAsync(["cloudwatch", "list-metrics", "--namespace", "AWS/Lambda", "--dimensions", $"Name=FunctionName,Value={name}"])).Json();
            var provisioned = listed.Array("Metrics").Where(m => m.Str("MetricName") == "ProvisionedConcurrencyUtilization")
                .Select(m => string.Join(",", m.Array("Dimensions").Select(d => $"{d.Str("Name")}={d.Str("Value")}"))).Order(StringComparer.Ordinal).ToList();
            Assert.Equal([$"FunctionName={name}", $"FunctionName={name},Resource={name}:1", $"FunctionName={name},Resource={name}:live"], provisioned);
            Assert.DoesNotContain(listed.Array("Metrics"), m => m.Str("MetricName") == "UnreservedConcurrentExecutions");
            var account = (await aws.RunAsync(["cloudwatch", "list-metrics", "--namespace", "AWS/Lambda", "--metric-name", "UnreservedConcurrentExecutions"])).Json();
            Assert.Contains(account.Array("Metrics"), m => m.Array("Dimensions").Count == 0);
            Assert.All(account.Array("Metrics"), m => Assert.Equal("UnreservedConcurrentExecutions", m.Str("MetricName")));

            // By FunctionName alone each instance counts once, though the alias's series repeats the version's: the
            // same SampleCount and Sum as Resource name:1. Sampling stops with the configuration, so the figures settle.
            (await aws.LambdaAsync("delete-provisioned-concurrency-config", "--function-name", name, "--qualifier", "live")).ShouldSucceed();
            deleted = true;
            // (ProvisionedConcurrencyUtilization is read through the same query.)
            foreach (var metric in new[] { "ProvisionedConcurrentExecutions" })
            {
                async Task<string> PointsAsync(params string[] dimensions) => string.Join(";", (await aws.RunAsync(
                [
                    "cloudwatch", "get-metric-statistics", "--namespace", "AWS/Lambda", "--metric-name", metric, "--dimensions", .. dimensions,
                    "--start-time", window.Start, "--end-time", window.End, "--period", "600", "--statistics", "SampleCount", "Sum",
                ])).Json().Array("Datapoints").Select(p => $"{p.At("SampleCount").GetDouble()}/{p.At("Sum").GetDouble():F3}"));
                var (seen, settled) = ("", false);
                for (var attempt = 0; attempt < 15 && !settled; attempt++)
                {
                    var version = await PointsAsync($"Name=FunctionName,Value={name}", $"Name=Resource,Value={name}:1");
                    var byName = await PointsAsync($"Name=FunctionName,Value={name}");
                    var again = await PointsAsync($"Name=FunctionName,Value={name}", $"Name=Resource,Value={name}:1");
                    seen = $"{metric}: Resource {name}:1 {version} then {again}, FunctionName alone {byName}";
                    settled = version.Length > 0 && version == again && byName == version;
                    if (!settled)
                    {
                        await Task.Delay(1000);
                    }
                }

                Assert.True(settled, seen);
            }
        }
        finally
        {
            if (!deleted)
            {
                (await aws.LambdaAsync("delete-provisioned-concurrency-config", "--function-name", name, "--qualifier", "live")).ShouldSucceed();
            }
        }
    });

    internal static async Task InvokeMixAsync(TestScope scope, string name, int successes, int errors, int throttles)
    {
        for (var i = 0; i < successes; i++)
        {
            var ok = await scope.Lambda.InvokeAsync(name, """{"action":"sleep","ms":1}""");
            Assert.True(ok.StatusCode == 200 && ok.Header("X-Amz-Function-Error") is null, ok.ToString());
        }

        for (var i = 0; i < errors; i++)
        {
            var failed = await scope.Lambda.InvokeAsync(name, """{"action":"error"}""");
            Assert.True(failed.StatusCode == 200 && failed.Header("X-Amz-Function-Error") == "Unhandled", failed.ToString());
        }

        if (throttles > 0)
        {
            await scope.Lambda.PutFunctionConcurrencyAsync(name, 0);
            for (var i = 0; i < throttles; i++)
            {
                (await scope.Lambda.InvokeAsync(name, "{}")).ShouldBeError(429, "TooManyRequestsException");
            }
        }
    }

    internal static (string Start, string End) Window()
    {
        // One 600 s period from five minutes ago (floored to the minute) holds every sample of the test.
        var now = DateTime.UtcNow;
        var start = new DateTime(now.Year, now.Month, now.Day, now.Hour, now.Minute, 0, DateTimeKind.Utc).AddMinutes(-5);
        return (start.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture), start.AddMinutes(10).ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture));
    }

    internal static async Task<JsonElement> StatisticsAsync(AwsCli aws, string name, string metric, (string Start, string End) window, params string[] statistics) =>
        (await aws.RunAsync(
        [
            "cloudwatch", "get-metric-statistics", "--namespace", "AWS/Lambda", "--metric-name", metric,
            "--dimensions", $"Name=FunctionName,Value={name}", "--start-time", window.Start, "--end-time", window.End, "--period", "600", .. statistics,
        ])).Json();

    private static JsonElement Single(JsonElement result)
    {
        var points = result.Array("Datapoints");
        Assert.True(points.Count == 1, $"Expected one data point: {result}");
        return points[0];
    }

    /// <summary>Metering commits in batches; waits (with a deadline) until the statistic reaches the expected value.</summary>
    internal static async Task<JsonElement> WaitForStatisticAsync(AwsCli aws, string name, string metric, string statistic, double expected, (string Start, string End) window)
    {
        var watch = Stopwatch.StartNew();
        while (true)
        {
            var result = await StatisticsAsync(aws, name, metric, window, "--statistics", statistic);
            var points = result.Array("Datapoints");
            if (points.Count == 1 && points[0].At(statistic).GetDouble() == expected)
            {
                return points[0];
            }

            Assert.True(watch.Elapsed < Deadline, $"{metric} {statistic} did not reach {expected} within {Deadline.TotalSeconds} s: {result}");
            await Task.Delay(200);
        }
    }

    private static async Task<JsonElement> WaitForUsageAsync(TestScope scope, string name, long requests)
    {
        var watch = Stopwatch.StartNew();
        while (true)
        {
            var result = await scope.Lambda.SendAsync(HttpMethod.Get, $"/nimbus/usage?function={name}");
            Assert.True(result.StatusCode == 200, result.ToString());
            var rows = result.Json().Array("Usage");
            if (rows.Count == 1 && rows[0].Num("Requests") == requests)
            {
                Assert.Equal(name, rows[0].Str("FunctionName"));
                return rows[0];
            }

            Assert.True(watch.Elapsed < Deadline, $"The usage of {name} did not reach {requests} requests within {Deadline.TotalSeconds} s: {result}");
            await Task.Delay(200);
        }
    }

    private static async Task<string> RunUsageCommandAsync(string endpoint, string name)
    {
        var startInfo = new ProcessStartInfo(NimbusServer.FindLauncher())
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[] { "usage", "--function", name, "--endpoint", endpoint })
        {
            startInfo.ArgumentList.Add(argument);
        }

        startInfo.Environment["NIMBUS_ROOT_ACCESS_KEY_ID"] = NimbusServer.RootAccessKeyId;
        startInfo.Environment["NIMBUS_ROOT_SECRET_ACCESS_KEY"] = NimbusServer.RootSecretAccessKey;

        using var process = Process.Start(startInfo)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(1));
        Assert.True(process.ExitCode == 0, $"./nimbus usage exited with {process.ExitCode}: {await stderr}");
        return await stdout;
    }

    [GeneratedRegex(@"Billed Duration: (\d+) ms")]
    private static partial Regex BilledDuration();
}
