using System.Diagnostics;
using System.Text.Json;
using System.Text.RegularExpressions;
using static Nimbus.IntegrationTests.Boto3Logs;

namespace Nimbus.IntegrationTests;

/// <summary>
/// Functions' logs through the CloudWatch Logs API: /aws/lambda/&lt;name&gt; groups created on first write,
/// <c>aws logs tail --follow</c> with Debian's CLI v2, and LoggingConfig (JSON records, log levels, custom group).
/// </summary>
[Collection(LogsCollectionDefinition.Name)]
public sealed partial class LogsLambdaTests(LogsServerFixture fixture)
{
    private const string NodeLevels = "node-levels";
    private const string PythonLevels = "python-levels";

    [Fact]
    public Task An_invocations_lines_are_in_its_aws_lambda_group_and_logs_tail_follow_prints_new_ones_exactly_once() => fixture.RunAsync(async scope =>
    {
        var name = scope.NewFunctionName();
        var group = $"/aws/lambda/{name}";
        await scope.Lambda.CreateFunctionAsync(name, FunctionZips.Build(FunctionZips.NodeCjs), "nodejs20.x", "index.handler");
        var first = await InvokeAsync(scope, name, """{"name":"first"}""");

        // Lambda's group and the instance's stream appear on the first write, as on AWS.
        var answers = await LogsCli.WaitForAsync(
            () => RunAsync(scope,
                Call("describe_log_groups", new { logGroupNamePrefix = group }),
                Call("describe_log_streams", new { logGroupName = group }),
                Call("filter_log_events", new { logGroupName = group })),
            a => a[2].TryGetProperty("events", out var e) && e.Strings("message").Any(m => m.StartsWith("REPORT RequestId: " + first, StringComparison.Ordinal)),
            TimeSpan.FromSeconds(20), "the first invocation's REPORT line");
        Assert.Equal([group], answers[0].GetProperty("logGroups").Strings("logGroupName"));
        var stream = Assert.Single(answers[1].GetProperty("logStreams").Strings("logStreamName"));
        Assert.Matches(StreamName(), stream);
        var messages = answers[2].GetProperty("events").Strings("message");
        Assert.Contains($"START RequestId: {first} Version: $LATEST", messages);
        Assert.Contains(messages, m => m.Contains($"\t{first}\tINFO\thello from node first", StringComparison.Ordinal));
        Assert.Contains($"END RequestId: {first}", messages);
        var got = (await RunAsync(scope, Call("get_log_events", new { logGroupName = group, logStreamName = stream, startFromHead = true })))[0];
        Assert.Equal(messages, got.GetProperty("events").Strings("message"));

        // tail --follow polls FilterLogEvents every 5 s from the newest timestamp and de-duplicates by eventId.
        using var tail = StartTail(scope, group);
        await tail.WaitForAsync(lines => lines.Any(l => l.Contains("REPORT RequestId: " + first, StringComparison.Ordinal)), "the first REPORT line");
        var second = await InvokeAsync(scope, name, """{"name":"second"}""");
        var third = await InvokeAsync(scope, name, """{"name":"third"}""");
        await tail.WaitForAsync(
            lines => lines.Any(l => l.Contains("REPORT RequestId: " + third, StringComparison.Ordinal))
                && lines.Any(l => l.Contains("REPORT RequestId: " + second, StringComparison.Ordinal)),
            "the REPORT lines of two new invocations");

        // Polls after those (proven by a fourth invocation's lines arriving) must not print anything twice.
        var fourth = await InvokeAsync(scope, name, """{"name":"fourth"}""");
        var printed = await tail.WaitForAsync(lines => lines.Any(l => l.Contains("REPORT RequestId: " + fourth, StringComparison.Ordinal)), "the fourth REPORT line");
        foreach (var requestId in new[] { first, second, third, fourth })
        {
            Assert.Equal(1, printed.Count(l => l.Contains($"START RequestId: {requestId}", StringComparison.Ordinal)));
            Assert.Equal(1, printed.Count(l => l.Contains($"REPORT RequestId: {requestId}", StringComparison.Ordinal)));
        }

        Assert.Matches(TailLine(), printed.First(l => l.Contains("START RequestId: " + second, StringComparison.Ordinal)));
    });

    [Fact]
    public Task LoggingConfig_JSON_writes_JSON_platform_and_application_records_filtered_by_level_to_a_custom_group() => fixture.RunAsync(async scope =>
    {
        var cli = scope.Cli(AwsCli.V1);
        var node = scope.NewFunctionName();
        var python = scope.NewFunctionName();
        var group = LogsCli.NewGroupName("/custom/");
        (await cli.CreateFunctionAsync(node, FunctionZips.Build(NodeLevels), "nodejs20.x", "index.handler",
            "--logging-config", $"LogFormat=JSON,ApplicationLogLevel=WARN,LogGroup={group}")).ShouldSucceed();
        (await cli.CreateFunctionAsync(python, FunctionZips.Build(PythonLevels), "python3.12", "lambda_function.lambda_handler",
            "--logging-config", "LogFormat=JSON,ApplicationLogLevel=DEBUG,SystemLogLevel=WARN")).ShouldSucceed();

        var config = (await cli.LambdaAsync("get-function-configuration", "--function-name", node)).Json().GetProperty("LoggingConfig");
        Assert.Equal("JSON", config.GetProperty("LogFormat").GetString());
        Assert.Equal("WARN", config.GetProperty("ApplicationLogLevel").GetString());
        Assert.Equal("INFO", config.GetProperty("SystemLogLevel").GetString());
        Assert.Equal(group, config.GetProperty("LogGroup").GetString());

        var nodeRequest = await InvokeAsync(scope, node, """{"tag":"n1"}""");
        var pythonRequest = await InvokeAsync(scope, python, """{"tag":"p1"}""");

        // Node, application level WARN, system level INFO: platform.start/report and the WARN and ERROR lines, all JSON.
        var nodeLines = await WaitForMessagesAsync(scope, group, m => m.Any(l => l.Contains("platform.report", StringComparison.Ordinal)));
        var records = nodeLines.Select(l => JsonAssert.Parse(l, "a log line of a LoggingConfig JSON function")).ToList();
        var start = Assert.Single(records, r => r.TryGetProperty("type", out var t) && t.GetString() == "platform.start");
        Assert.Equal(nodeRequest, start.GetProperty("record").GetProperty("requestId").GetString());
        Assert.Matches(IsoTime(), start.GetProperty("time").GetString()!);
        var report = Assert.Single(records, r => r.TryGetProperty("type", out var t) && t.GetString() == "platform.report").GetProperty("record");
        Assert.Equal(nodeRequest, report.GetProperty("requestId").GetString());
        Assert.Equal("success", report.GetProperty("status").GetString());
        Assert.Equal(128, report.GetProperty("metrics").GetProperty("memorySizeMB").GetInt32());
        Assert.True(report.GetProperty("metrics").GetProperty("billedDurationMs").GetInt64() >= 1);
        Assert.True(report.GetProperty("metrics").TryGetProperty("initDurationMs", out _), report.ToString());
        var application = records.Where(r => r.TryGetProperty("level", out _)).ToList();
        Assert.Equal(["WARN", "ERROR"], application.Select(r => r.GetProperty("level").GetString()));
        Assert.Equal(["warn line n1", "error line n1"], application.Select(r => r.GetProperty("message").GetString()));
        Assert.All(application, r => Assert.Equal(nodeRequest, r.GetProperty("requestId").GetString()));
        Assert.All(application, r => Assert.Matches(IsoTime(), r.GetProperty("timestamp").GetString()!));
        Assert.Empty(await MessagesAsync(scope, $"/aws/lambda/{node}"));

        // Python, application level DEBUG, system level WARN: no platform records; every logging record as JSON; print stays text.
        var pythonLines = await WaitForMessagesAsync(scope, $"/aws/lambda/{python}", m => m.Any(l => l.Contains("printed line p1", StringComparison.Ordinal)));
        Assert.DoesNotContain(pythonLines, l => l.Contains("platform.", StringComparison.Ordinal) || l.StartsWith("START", StringComparison.Ordinal) || l.StartsWith("REPORT", StringComparison.Ordinal));
        var logged = pythonLines.Where(l => l.StartsWith('{')).Select(l => JsonAssert.Parse(l, "a Python JSON log record")).ToList();
        Assert.Equal(["DEBUG", "INFO", "WARNING", "ERROR"], logged.Select(r => r.GetProperty("level").GetString()));
        Assert.Equal(["debug line p1", "info line p1", "warn line p1", "error line p1"], logged.Select(r => r.GetProperty("message").GetString()));
        Assert.All(logged, r => Assert.Equal(pythonRequest, r.GetProperty("requestId").GetString()));

        // The JSON records are what JSON filter patterns are for.
        var errors = (await RunAsync(scope, Call("filter_log_events", new { logGroupName = group, filterPattern = """{ $.level = "ERROR" }""" })))[0];
        Assert.Equal(["error line n1"], errors.GetProperty("events").Strings("message").Select(m => JsonDocument.Parse(m).RootElement.GetProperty("message").GetString()!));

        // Back to Text: the levels go, the lines are Lambda's text again.
        var text = (await cli.LambdaAsync("update-function-configuration", "--function-name", node, "--logging-config", "LogFormat=Text")).Json().GetProperty("LoggingConfig");
        Assert.Equal("Text", text.GetProperty("LogFormat").GetString());
        Assert.False(text.TryGetProperty("ApplicationLogLevel", out _), text.ToString());
        var textRequest = await InvokeAsync(scope, node, """{"tag":"n2"}""");
        var textLines = await WaitForMessagesAsync(scope, group, m => m.Any(l => l.StartsWith("REPORT RequestId: " + textRequest, StringComparison.Ordinal)));
        Assert.Contains(textLines, l => l.Contains($"\t{textRequest}\tDEBUG\tdebug line n2", StringComparison.Ordinal));
    });

    [Fact]
    public Task LoggingConfig_JSON_makes_the_dotnet_and_java_runtimes_write_AWS_records_at_or_above_the_level() => fixture.RunAsync(async scope =>
    {
        var cli = scope.Cli(AwsCli.V1);
        var dotnet = scope.NewFunctionName();
        var java = scope.NewFunctionName();
        (await cli.CreateFunctionAsync(dotnet, FunctionZips.Build(FunctionZips.DotnetFunction), "dotnet8", "DotnetFunction::DotnetFunction.Functions::Log",
            "--logging-config", "LogFormat=JSON,ApplicationLogLevel=WARN")).ShouldSucceed();
        (await cli.CreateFunctionAsync(java, FunctionZips.Build(FunctionZips.JavaFunction), "java17", "example.Levels::handle",
            "--logging-config", "LogFormat=JSON,ApplicationLogLevel=WARN")).ShouldSucceed();

        var dotnetRequest = await InvokeAsync(scope, dotnet, "\"d1\"");
        var javaRequest = await InvokeAsync(scope, java, "\"j1\"");

        // .NET: AWS's records (timestamp, level, requestId, traceId, message); Console.Error is Error; below WARN dropped.
        var dotnetLines = await WaitForMessagesAsync(scope, $"/aws/lambda/{dotnet}", m => m.Any(l => l.Contains("platform.report", StringComparison.Ordinal)));
        var dotnetRecords = dotnetLines.Where(l => l.StartsWith('{')).Select(l => JsonAssert.Parse(l, "a log line of a .NET function with LogFormat JSON"))
            .Where(r => r.TryGetProperty("level", out _)).ToList();
        Assert.Equal(["Warning", "Error"], dotnetRecords.Select(r => r.GetProperty("level").GetString()));
        Assert.Equal(["warning says d1", "stderr says d1"], dotnetRecords.Select(r => r.GetProperty("message").GetString()));
        Assert.All(dotnetRecords, r => Assert.Equal(dotnetRequest, r.GetProperty("requestId").GetString()));
        Assert.All(dotnetRecords, r => Assert.Matches(IsoTime(), r.GetProperty("timestamp").GetString()!));
        Assert.All(dotnetRecords, r => Assert.StartsWith("Root=", r.GetProperty("traceId").GetString(), StringComparison.Ordinal));

        // Java: AWS's records (timestamp, level, message, AWSRequestId); a message without a level (UNDEFINED) is kept.
        var javaLines = await WaitForMessagesAsync(scope, $"/aws/lambda/{java}", m => m.Any(l => l.Contains("platform.report", StringComparison.Ordinal)));
        var javaRecords = javaLines.Where(l => l.StartsWith('{')).Select(l => JsonAssert.Parse(l, "a log line of a Java function with LogFormat JSON"))
            .Where(r => r.TryGetProperty("AWSRequestId", out _)).ToList();
        Assert.Equal(["WARN", "ERROR", "UNDEFINED"], javaRecords.Select(r => r.GetProperty("level").GetString()));
        Assert.Equal(["warn line j1", "error line j1", "plain line j1"], javaRecords.Select(r => r.GetProperty("message").GetString()));
        Assert.All(javaRecords, r => Assert.Equal(javaRequest, r.GetProperty("AWSRequestId").GetString()));
        Assert.All(javaRecords, r => Assert.Matches(IsoTime(), r.GetProperty("timestamp").GetString()!));
    });

    [Fact]
    public Task LoggingConfig_is_validated_as_Lambda_validates_it() => fixture.RunAsync(async scope =>
    {
        // Debian's CLI v2 (2.9) predates LoggingConfig; v1 (botocore 1.43) knows it.
        var cli = scope.Cli(AwsCli.V1);
        var name = scope.NewFunctionName();
        var zip = FunctionZips.Build(FunctionZips.NodeCjs);
        var message = (await cli.CreateFunctionAsync(name, zip, "nodejs20.x", "index.handler", "--logging-config", "LogFormat=Text,ApplicationLogLevel=DEBUG"))
            .ShouldFailWith("InvalidParameterValueException");
        Assert.Contains("only be set when LogFormat is JSON", message, StringComparison.Ordinal);
        Assert.Contains("applicationLogLevel", (await cli.CreateFunctionAsync(name, zip, "nodejs20.x", "index.handler", "--logging-config", "LogFormat=JSON,ApplicationLogLevel=LOUD"))
            .ShouldFailWith("ValidationException"), StringComparison.Ordinal);
        Assert.Contains("logGroup", (await cli.CreateFunctionAsync(name, zip, "nodejs20.x", "index.handler", "--logging-config", "LogGroup=bad group"))
            .ShouldFailWith("ValidationException"), StringComparison.Ordinal);
    });

    [Fact]
    public Task Back_to_back_invocations_without_a_log_tail_keep_START_their_lines_END_and_REPORT_in_order() => fixture.RunAsync(async scope =>
    {
        var name = scope.NewFunctionName();
        var group = $"/aws/lambda/{name}";
        await scope.Lambda.CreateFunctionAsync(name, FunctionZips.Build(FunctionZips.NodeCjs), "nodejs20.x", "index.handler");
        var ids = new List<string>();
        for (var i = 0; i < 10; i++)
        {
            ids.Add(await InvokeAsync(scope, name, $$"""{"name":"n{{i}}"}"""));
        }

        // END and REPORT of a caller that did not ask for the log's tail are written after its answer: still before the
        // next invocation's START, after the lines the function wrote, and with a measured Max Memory Used.
        await WaitForMessagesAsync(scope, group, m => m.Any(l => l.StartsWith("REPORT RequestId: " + ids[^1], StringComparison.Ordinal)));
        var stream = Assert.Single((await RunAsync(scope, Call("describe_log_streams", new { logGroupName = group })))[0].GetProperty("logStreams").Strings("logStreamName"));
        var lines = (await RunAsync(scope, Call("get_log_events", new { logGroupName = group, logStreamName = stream, startFromHead = true })))[0]
            .GetProperty("events").Strings("message").Where(l => ids.Any(id => l.Contains(id, StringComparison.Ordinal))).ToList();
        var expected = ids.SelectMany((id, i) => new[] { $"START RequestId: {id}", $"\t{id}\tINFO\thello from node n{i}", $"END RequestId: {id}", $"REPORT RequestId: {id}" }).ToList();
        Assert.True(lines.Count == expected.Count && lines.Zip(expected).All(p => p.First.Contains(p.Second, StringComparison.Ordinal)),
            $"Expected each invocation's START, line, END and REPORT in turn:{Environment.NewLine}{string.Join(Environment.NewLine, lines)}");
        Assert.All(lines.Where(l => l.StartsWith("REPORT", StringComparison.Ordinal)), l => Assert.Matches(@"Max Memory Used: [1-9][0-9]* MB", l));
    });

    private static async Task<string> InvokeAsync(TestScope scope, string name, string payload)
    {
        var response = await scope.Lambda.InvokeAsync(name, payload);
        Assert.True(response.StatusCode == 200 && response.Header("X-Amz-Function-Error") is null, response.ToString());
        return response.Header("x-amzn-RequestId")!;
    }

    private static async Task<List<string>> MessagesAsync(TestScope scope, string group)
    {
        var answer = (await RunAsync(scope, Call("filter_log_events", new { logGroupName = group })))[0];
        return answer.TryGetProperty("events", out var events) ? events.Strings("message") : [];
    }

    private static Task<List<string>> WaitForMessagesAsync(TestScope scope, string group, Func<List<string>, bool> done) =>
        LogsCli.WaitForAsync(() => MessagesAsync(scope, group), done, TimeSpan.FromSeconds(20), $"lines in {group}");

    /// <summary>Starts <c>/usr/bin/aws logs tail GROUP --follow --since 5m</c> and collects what it prints.</summary>
    private static TailProcess StartTail(TestScope scope, string group)
    {
        var start = new ProcessStartInfo("/usr/bin/aws") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in new[] { "logs", "tail", group, "--follow", "--since", "5m", "--endpoint-url", scope.Server.Endpoint })
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var key in start.Environment.Keys.Where(k => k.StartsWith("AWS_", StringComparison.Ordinal)).ToList())
        {
            start.Environment.Remove(key);
        }

        start.Environment["AWS_ACCESS_KEY_ID"] = "test";
        start.Environment["AWS_SECRET_ACCESS_KEY"] = "test";
        start.Environment["AWS_DEFAULT_REGION"] = Aws.Region;
        start.Environment["AWS_PAGER"] = "";
        start.Environment["AWS_CONFIG_FILE"] = Path.Combine(scope.ScratchDirectory, "no-aws-config");
        start.Environment["AWS_SHARED_CREDENTIALS_FILE"] = Path.Combine(scope.ScratchDirectory, "no-aws-credentials");
        return new TailProcess(Process.Start(start) ?? throw new InvalidOperationException("Could not start /usr/bin/aws."));
    }

    private sealed class TailProcess : IDisposable
    {
        private readonly Process _process;
        private readonly List<string> _lines = [];
        private readonly List<string> _errors = [];

        public TailProcess(Process process)
        {
            _process = process;
            process.OutputDataReceived += (_, e) => Add(_lines, e.Data);
            process.ErrorDataReceived += (_, e) => Add(_errors, e.Data);
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
        }

        public List<string> Lines
        {
            get
            {
                lock (_lines)
                {
                    return [.. _lines];
                }
            }
        }

        public async Task<List<string>> WaitForAsync(Func<List<string>, bool> done, string what)
        {
            var deadline = DateTime.UtcNow.AddSeconds(45);
            while (true)
            {
                var lines = Lines;
                if (done(lines))
                {
                    return lines;
                }

                Assert.False(_process.HasExited, $"aws logs tail exited with {(_process.HasExited ? _process.ExitCode : 0)}: {string.Join('\n', _errors)}");
                Assert.True(DateTime.UtcNow < deadline, $"aws logs tail --follow did not print {what} within 45 s; it printed:\n{string.Join('\n', lines)}\nstderr: {string.Join('\n', _errors)}");
                await Task.Delay(200);
            }
        }

        public void Dispose()
        {
            try
            {
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit(10_000);
            }
            catch (InvalidOperationException)
            {
                // Already gone.
            }

            _process.Dispose();
        }

        private static void Add(List<string> list, string? line)
        {
            if (line is null)
            {
                return;
            }

            lock (list)
            {
                list.Add(line);
            }
        }
    }

    [GeneratedRegex(@"^\d{4}/\d{2}/\d{2}/\[\$LATEST\][0-9a-f]{32}$")]
    private static partial Regex StreamName();

    // <ISO time with microseconds> <stream> <message>, as the CLI prints it.
    [GeneratedRegex(@"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}\+00:00 \d{4}/\d{2}/\d{2}/\[\$LATEST\][0-9a-f]{32} START RequestId: ")]
    private static partial Regex TailLine();

    [GeneratedRegex(@"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")]
    private static partial Regex IsoTime();
}
