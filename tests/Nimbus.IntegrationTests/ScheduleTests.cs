using System.Globalization;
using System.Text.Json;

namespace Nimbus.IntegrationTests;

/// <summary>
/// EventBridge Scheduler: the API through both AWS CLIs (`aws scheduler ...`), and real schedules firing a
/// node-recorder function on the real clock.
/// </summary>
public sealed class ScheduleTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private const string Role = "arn:aws:iam::000000000000:role/scheduler";

    [Fact]
    public Task Schedule_lifecycle_groups_listing_and_AWS_errors_through_the_CLI() => fixture.RunAsync(async scope =>
    {
        var aws = scope.Cli(AwsCli.V1);
        var prefix = $"s{Guid.NewGuid():N}"[..12];
        var group = prefix + "-group";
        var target = Target("arn:aws:lambda:us-east-1:000000000000:function:nightly", """{"job":"nightly"}""");

        var created = (await Scheduler(aws, "create-schedule", "--name", prefix + "-a", "--schedule-expression", "cron(0/5 8-17 ? * MON-FRI *)",
            "--schedule-expression-timezone", "Europe/Berlin", "--flexible-time-window", "Mode=FLEXIBLE,MaximumWindowInMinutes=10",
            "--target", target, "--description", "weekday runs")).Json();
        Assert.Equal($"arn:aws:scheduler:us-east-1:000000000000:schedule/default/{prefix}-a", created.Str("ScheduleArn"));

        var fetched = (await Scheduler(aws, "get-schedule", "--name", prefix + "-a")).Json();
        Assert.Equal("cron(0/5 8-17 ? * MON-FRI *)", fetched.Str("ScheduleExpression"));
        Assert.Equal("Europe/Berlin", fetched.Str("ScheduleExpressionTimezone"));
        Assert.Equal("FLEXIBLE", fetched.Str("FlexibleTimeWindow.Mode"));
        Assert.Equal(10, fetched.Num("FlexibleTimeWindow.MaximumWindowInMinutes"));
        Assert.Equal("ENABLED", fetched.Str("State"));
        Assert.Equal("NONE", fetched.Str("ActionAfterCompletion"));
        Assert.Equal("default", fetched.Str("GroupName"));
        Assert.Equal("weekday runs", fetched.Str("Description"));
        Assert.Equal("""{"job":"nightly"}""", fetched.Str("Target.Input"));
        Assert.Equal(Role, fetched.Str("Target.RoleArn"));
        Assert.Equal(86400, fetched.Num("Target.RetryPolicy.MaximumEventAgeInSeconds"));
        var creation = Date(fetched.At("CreationDate"));
        Assert.InRange(creation, DateTimeOffset.UtcNow.AddMinutes(-2), DateTimeOffset.UtcNow.AddMinutes(1));

        var duplicate = await Scheduler(aws, "create-schedule", "--name", prefix + "-a", "--schedule-expression", "rate(1 hour)",
            "--flexible-time-window", "Mode=OFF", "--target", target);
        Assert.Equal($"Schedule {prefix}-a already exists.", duplicate.ShouldFailWith("ConflictException"));

        (await Scheduler(aws, "create-schedule-group", "--name", group)).ShouldSucceed();
        Assert.Equal("ACTIVE", (await Scheduler(aws, "get-schedule-group", "--name", group)).Json().Str("State"));
        Assert.Equal("ConflictException", (await Scheduler(aws, "create-schedule-group", "--name", group)).ShouldFail().Code);
        foreach (var (name, state) in new[] { ("-b", "DISABLED"), ("-c", "ENABLED"), ("-d", "ENABLED") })
        {
            (await Scheduler(aws, "create-schedule", "--name", prefix + name, "--group-name", group, "--schedule-expression", "rate(7 days)",
                "--flexible-time-window", "Mode=OFF", "--target", target, "--state", state,
                "--start-date", DateTimeOffset.UtcNow.AddDays(1).ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture))).ShouldSucceed();
        }

        var inGroup = (await Scheduler(aws, "list-schedules", "--group-name", group)).Json().Array("Schedules");
        Assert.Equal([prefix + "-b", prefix + "-c", prefix + "-d"], inGroup.Select(s => s.Str("Name")));
        Assert.All(inGroup, s => Assert.Equal(group, s.Str("GroupName")));
        Assert.All(inGroup, s => Assert.Equal("arn:aws:lambda:us-east-1:000000000000:function:nightly", s.Str("Target.Arn")));
        var disabled = (await Scheduler(aws, "list-schedules", "--name-prefix", prefix, "--state", "DISABLED")).Json().Array("Schedules");
        Assert.Equal(prefix + "-b", Assert.Single(disabled).Str("Name"));

        // Paging: the CLI follows NextToken itself; one page of two shows the token.
        var page = (await Scheduler(aws, "list-schedules", "--name-prefix", prefix, "--max-items", "2")).Json();
        Assert.Equal(2, page.Array("Schedules").Count);
        Assert.True(page.Has("NextToken"));
        var all = (await Scheduler(aws, "list-schedules", "--name-prefix", prefix, "--page-size", "1")).Json().Array("Schedules");
        Assert.Equal(4, all.Count);

        (await Scheduler(aws, "update-schedule", "--name", prefix + "-c", "--group-name", group, "--schedule-expression", "at(2099-01-01T00:00:00)",
            "--flexible-time-window", "Mode=OFF", "--target", target, "--state", "DISABLED")).ShouldSucceed();
        var updated = (await Scheduler(aws, "get-schedule", "--name", prefix + "-c", "--group-name", group)).Json();
        Assert.Equal("at(2099-01-01T00:00:00)", updated.Str("ScheduleExpression"));
        Assert.Equal("DISABLED", updated.Str("State"));
        Assert.True(Date(updated.At("LastModificationDate")) >= Date(updated.At("CreationDate")));

        var missing = await Scheduler(aws, "get-schedule", "--name", prefix + "-zz");
        Assert.Equal($"Schedule {prefix}-zz does not exist.", missing.ShouldFailWith("ResourceNotFoundException"));
        Assert.Equal("ResourceNotFoundException", (await Scheduler(aws, "get-schedule", "--name", prefix + "-b")).ShouldFail().Code);
        Assert.Equal("ResourceNotFoundException", (await Scheduler(aws, "update-schedule", "--name", prefix + "-zz", "--schedule-expression", "rate(1 hour)",
            "--flexible-time-window", "Mode=OFF", "--target", target)).ShouldFail().Code);
        Assert.Equal("ResourceNotFoundException", (await Scheduler(aws, "create-schedule", "--name", prefix + "-e", "--group-name", prefix + "-nogroup",
            "--schedule-expression", "rate(1 hour)", "--flexible-time-window", "Mode=OFF", "--target", target)).ShouldFail().Code);

        (await Scheduler(aws, "delete-schedule", "--name", prefix + "-a")).ShouldSucceed();
        Assert.Equal("ResourceNotFoundException", (await Scheduler(aws, "delete-schedule", "--name", prefix + "-a")).ShouldFail().Code);

        // Deleting a group deletes its schedules; the default group stays.
        (await Scheduler(aws, "delete-schedule-group", "--name", group)).ShouldSucceed();
        Assert.Empty((await Scheduler(aws, "list-schedules", "--name-prefix", prefix)).Json().Array("Schedules"));
        Assert.Equal("ValidationException", (await Scheduler(aws, "delete-schedule-group", "--name", "default")).ShouldFail().Code);
        var groups = (await Scheduler(aws, "list-schedule-groups")).Json().Array("ScheduleGroups").Select(g => g.Str("Name")).ToList();
        Assert.Contains("default", groups);
        Assert.DoesNotContain(group, groups);
    });

    /// <summary>
    /// The AWS CLI v2 speaks the Scheduler's rest-json as v1 does (the lifecycle above runs on v1): one short pass for
    /// v2's own request building (its older model, without ActionAfterCompletion), its ISO 8601 dates, paging and errors.
    /// </summary>
    [Fact]
    public Task Cli_v2_creates_gets_lists_and_deletes_a_schedule_with_AWS_errors() => fixture.RunAsync(async scope =>
    {
        var aws = scope.Cli(AwsCli.V2);
        var prefix = $"v{Guid.NewGuid():N}"[..12];
        var target = Target("arn:aws:lambda:us-east-1:000000000000:function:nightly", """{"job":"nightly"}""");
        foreach (var name in new[] { "-a", "-b" })
        {
            (await Scheduler(aws, "create-schedule", "--name", prefix + name, "--schedule-expression", "cron(0/5 8-17 ? * MON-FRI *)",
                "--schedule-expression-timezone", "Europe/Berlin", "--flexible-time-window", "Mode=FLEXIBLE,MaximumWindowInMinutes=10", "--target", target)).ShouldSucceed();
        }

        var fetched = (await Scheduler(aws, "get-schedule", "--name", prefix + "-a")).Json();
        Assert.Equal(10, fetched.Num("FlexibleTimeWindow.MaximumWindowInMinutes"));
        Assert.Equal("""{"job":"nightly"}""", fetched.Str("Target.Input"));
        Assert.Equal(JsonValueKind.String, fetched.At("CreationDate").ValueKind);
        Assert.InRange(Date(fetched.At("CreationDate")), DateTimeOffset.UtcNow.AddMinutes(-2), DateTimeOffset.UtcNow.AddMinutes(1));

        var page = (await Scheduler(aws, "list-schedules", "--name-prefix", prefix, "--max-items", "1")).Json();
        Assert.Equal(prefix + "-a", Assert.Single(page.Array("Schedules")).Str("Name"));
        Assert.True(page.Has("NextToken"));
        Assert.Equal($"Schedule {prefix}-a already exists.", (await Scheduler(aws, "create-schedule", "--name", prefix + "-a", "--schedule-expression", "rate(1 hour)",
            "--flexible-time-window", "Mode=OFF", "--target", target)).ShouldFailWith("ConflictException"));

        (await Scheduler(aws, "delete-schedule", "--name", prefix + "-a")).ShouldSucceed();
        (await Scheduler(aws, "delete-schedule", "--name", prefix + "-b")).ShouldSucceed();
        Assert.Equal($"Schedule {prefix}-a does not exist.", (await Scheduler(aws, "get-schedule", "--name", prefix + "-a")).ShouldFailWith("ResourceNotFoundException"));
    });

    [Theory]
    [InlineData("cron(0 12 * * * *)", null, null, "Invalid Schedule Expression cron(0 12 * * * *): exactly one of day-of-month and day-of-week must be ?")]
    [InlineData("rate(5 weeks)", null, null, "Invalid Schedule Expression rate(5 weeks)")]
    [InlineData("at(2030-02-30T00:00:00)", null, null, "Invalid Schedule Expression at(2030-02-30T00:00:00)")]
    [InlineData("rate(1 hour)", "Mars/Olympus_Mons", null, "Invalid time zone Mars/Olympus_Mons")]
    [InlineData("rate(1 hour)", null, "{\"Mode\":\"FLEXIBLE\"}", "MaximumWindowInMinutes is required")]
    [InlineData("rate(1 hour)", null, "{\"Mode\":\"FLEXIBLE\",\"MaximumWindowInMinutes\":1441}", "at 'flexibleTimeWindow.maximumWindowInMinutes' failed to satisfy constraint")]
    [InlineData("rate(1 hour)", null, "{\"Mode\":\"SOMETIMES\"}", "Member must satisfy enum value set: [OFF, FLEXIBLE]")]
    public Task Create_schedule_refuses_bad_expressions_time_zones_and_windows_with_ValidationException(string expression, string? zone, string? window, string message) =>
        fixture.RunAsync(async scope =>
        {
            var zoneMember = zone is null ? "" : $",\"ScheduleExpressionTimezone\":\"{zone}\"";
            var body = $$"""{"ScheduleExpression":"{{expression}}","FlexibleTimeWindow":{{window ?? "{\"Mode\":\"OFF\"}"}},"Target":{{Target("arn:aws:lambda:us-east-1:000000000000:function:f", null)}}{{zoneMember}}}""";
            await AssertRefusedAsync(scope, body, message);
        });

    [Fact]
    public Task Create_schedule_refuses_targets_that_are_not_functions_and_bad_roles_dates_and_inputs() => fixture.RunAsync(async scope =>
    {
        Task RefusedAsync(string target, string message, string extra = "") =>
            AssertRefusedAsync(scope, $$"""{"ScheduleExpression":"rate(1 hour)","FlexibleTimeWindow":{"Mode":"OFF"},"Target":{{target}}{{extra}}}""", message);

        await RefusedAsync(Target("arn:aws:sqs:us-east-1:000000000000:queue", null), "Nimbus schedules invoke Lambda functions only");
        await RefusedAsync("""{"Arn":"arn:aws:lambda:us-east-1:000000000000:function:f","RoleArn":"role"}""", "at 'target.roleArn' failed to satisfy constraint");
        await RefusedAsync("""{"Arn":"arn:aws:lambda:us-east-1:000000000000:function:f"}""", "at 'target.roleArn' failed to satisfy constraint: Member must not be null");
        await RefusedAsync(Target("arn:aws:lambda:us-east-1:000000000000:function:f", "not json"), "must be well-formed JSON");
        await RefusedAsync("""{"Arn":"arn:aws:lambda:us-east-1:000000000000:function:f","RoleArn":"arn:aws:iam::000000000000:role/r","RetryPolicy":{"MaximumEventAgeInSeconds":30}}""",
            "at 'target.retryPolicy.maximumEventAgeInSeconds'");
        await RefusedAsync(Target("arn:aws:lambda:us-east-1:000000000000:function:f", null), "EndDate you specify cannot be earlier than the current time", ",\"EndDate\":1577836800");
        await RefusedAsync(Target("arn:aws:lambda:us-east-1:000000000000:function:f", null), "StartDate you specify cannot be earlier than 5 minutes", ",\"StartDate\":1577836800");
        await AssertRefusedAsync(scope, "{not json", "not valid JSON");
    });

    [Fact]
    public Task An_at_schedule_fires_its_function_within_a_second_of_its_time_with_the_input_and_deletes_itself() => fixture.RunAsync(async scope =>
    {
        using var recorder = new EventRecorder();
        var aws = scope.Cli(AwsCli.V1);
        var function = scope.NewFunctionName();
        (await aws.CreateFunctionAsync(function, FunctionZips.Build(FunctionZips.NodeRecorder), "nodejs20.x", "index.handler",
            "--environment", recorder.EnvironmentJson)).ShouldSucceed();

        // Warm the function first, so the measured delay is the scheduler's, not a cold start's.
        (await aws.InvokeAsync(function, """{"warm":true}""")).ShouldReturn();
        await recorder.WaitForAsync("the warm-up invoke", r => r.Count == 1, TimeSpan.FromSeconds(30));

        // at() has second precision and is local to the time zone: 06:00 UTC is 01:00 in New York (EST/EDT differ).
        // A CLI process can take seconds to start on a loaded machine: a schedule whose time had already passed when
        // it was created measures nothing (a one-time schedule has no run left), so try again further ahead.
        var zone = TimeZoneInfo.FindSystemTimeZoneById("America/New_York");
        var name = $"at{Guid.NewGuid():N}"[..12];
        var withoutInput = name + "-empty";
        var due = DateTimeOffset.MinValue;
        var measurable = false;
        foreach (var lead in new[] { 8, 20, 45 })
        {
            due = DateTimeOffset.FromUnixTimeSeconds(DateTimeOffset.UtcNow.ToUnixTimeSeconds() + lead);
            var local = TimeZoneInfo.ConvertTime(due, zone).ToString("yyyy-MM-ddTHH:mm:ss", CultureInfo.InvariantCulture);
            (await Scheduler(aws, "create-schedule", "--name", name, "--schedule-expression", $"at({local})", "--schedule-expression-timezone", "America/New_York",
                "--flexible-time-window", "Mode=OFF", "--action-after-completion", "DELETE",
                "--target", Target(Aws.FunctionArn(function), """{"id":"scheduled","n":1}"""))).ShouldSucceed();
            if (DateTimeOffset.UtcNow < due.AddSeconds(-1))
            {
                measurable = true;
                break;
            }

            // The CLI came back too late to tell whether the server took the schedule before its time: either it fires
            // (then its run is here within a few seconds, but its delay cannot be judged) or it never will.
            var settle = due.AddSeconds(5) - DateTimeOffset.UtcNow;
            if (settle > TimeSpan.Zero)
            {
                await Task.Delay(settle);
            }

            if (recorder.ReportsOf(function).Count == 2)
            {
                break;
            }

            await Scheduler(aws, "delete-schedule", "--name", name);
        }

        var reports = await recorder.WaitForAsync("the scheduled run", r => r.Count == 2, TimeSpan.FromSeconds(30));
        var arrived = DateTimeOffset.UtcNow;

        // The scheduler fires within a second of the time; the allowance on top covers the invoke and the recorder's
        // report on a CI machine running other test classes at the same time. Never early.
        if (measurable)
        {
            Assert.InRange(arrived, due, due.AddSeconds(3));
        }

        Assert.Equal("""{"id":"scheduled","n":1}""", reports[1].GetProperty("event").GetRawText());

        // Without Input the function gets {}; a qualified target ARN works too (raw HTTP: quicker than a CLI).
        var soon = TimeZoneInfo.ConvertTime(DateTimeOffset.UtcNow.AddSeconds(5), zone).ToString("yyyy-MM-ddTHH:mm:ss", CultureInfo.InvariantCulture);
        using (var body = new StringContent(
            $$"""{"ScheduleExpression":"at({{soon}})","ScheduleExpressionTimezone":"America/New_York","FlexibleTimeWindow":{"Mode":"OFF"},"Target":{{Target(Aws.FunctionArn(function) + ":$LATEST", null)}}}""",
            System.Text.Encoding.UTF8, "application/json"))
        using (var created = await scope.Server.Http.PostAsync($"/schedules/{withoutInput}", body))
        {
            Assert.Equal(System.Net.HttpStatusCode.OK, created.StatusCode);
        }

        reports = await recorder.WaitForAsync("the run without input", r => r.Count == 3, TimeSpan.FromSeconds(30));
        Assert.Equal("{}", reports[2].GetProperty("event").GetRawText());

        // DELETE removed the fired one-time schedule; NONE keeps it.
        Assert.Equal("ResourceNotFoundException", (await Scheduler(aws, "get-schedule", "--name", name)).ShouldFail().Code);
        (await Scheduler(aws, "get-schedule", "--name", withoutInput)).ShouldSucceed();
        (await Scheduler(aws, "delete-schedule", "--name", withoutInput)).ShouldSucceed();

        // Each run fired once (the CLI calls above took their time).
        Assert.Equal(3, recorder.ReportsOf(function).Count);
    });

    [Fact]
    public Task Schedule_group_tags_are_created_added_listed_removed_and_checked_through_the_CLI() => fixture.RunAsync(async scope =>
    {
        var aws = scope.Cli(AwsCli.V1);
        var group = $"t{Guid.NewGuid():N}"[..12];
        var arn = (await Scheduler(aws, "create-schedule-group", "--name", group, "--tags", "Key=team,Value=data", "Key=env,Value=dev")).Json().Str("ScheduleGroupArn");
        Assert.Equal($"arn:aws:scheduler:us-east-1:000000000000:schedule-group/{group}", arn);
        Assert.Equal([("env", "dev"), ("team", "data")], Tags((await Scheduler(aws, "list-tags-for-resource", "--resource-arn", arn)).Json()));

        (await Scheduler(aws, "tag-resource", "--resource-arn", arn, "--tags", "Key=env,Value=prod", "Key=cost,Value=42")).ShouldSucceed();
        Assert.Equal([("cost", "42"), ("env", "prod"), ("team", "data")], Tags((await Scheduler(aws, "list-tags-for-resource", "--resource-arn", arn)).Json()));
        (await Scheduler(aws, "untag-resource", "--resource-arn", arn, "--tag-keys", "team", "missing")).ShouldSucceed();
        Assert.Equal([("cost", "42"), ("env", "prod")], Tags((await Scheduler(aws, "list-tags-for-resource", "--resource-arn", arn)).Json()));

        var unknown = arn[..(arn.LastIndexOf('/') + 1)] + "no-such-group";
        Assert.Equal("Schedule group no-such-group does not exist.", (await Scheduler(aws, "list-tags-for-resource", "--resource-arn", unknown)).ShouldFailWith("ResourceNotFoundException"));
        (await Scheduler(aws, "tag-resource", "--resource-arn", unknown, "--tags", "Key=a,Value=b")).ShouldFailWith("ResourceNotFoundException");
        (await Scheduler(aws, "tag-resource", "--resource-arn", $"arn:aws:scheduler:us-east-1:000000000000:schedule/{group}/x", "--tags", "Key=a,Value=b")).ShouldFailWith("ValidationException");
        (await Scheduler(aws, "tag-resource", "--resource-arn", arn, "--tags", $"Key={new string('k', 129)},Value=b")).ShouldFailWith("ValidationException");

        // Deleting the group deletes its tags: a group of the same name starts with none.
        (await Scheduler(aws, "delete-schedule-group", "--name", group)).ShouldSucceed();
        (await Scheduler(aws, "create-schedule-group", "--name", group)).ShouldSucceed();
        Assert.Empty(Tags((await Scheduler(aws, "list-tags-for-resource", "--resource-arn", arn)).Json()));
        (await Scheduler(aws, "delete-schedule-group", "--name", group)).ShouldSucceed();
    });

    [Fact]
    public Task A_run_whose_function_is_missing_goes_to_the_dead_letter_queue_with_AWS_attributes_after_its_retries() => fixture.RunAsync(async scope =>
    {
        var aws = scope.Cli(AwsCli.V1);
        var queues = new EventSourceMappingQueues(aws, scope.ScratchDirectory);
        var (url, queueArn) = await queues.CreateAsync($"sdlq{Guid.NewGuid():N}"[..16]);
        var missing = Aws.FunctionArn(scope.NewFunctionName());
        var name = $"dl{Guid.NewGuid():N}"[..12];
        var target = $$$"""{"Arn":"{{{missing}}}","RoleArn":"{{{Role}}}","Input":"{\"job\":\"lost\"}","RetryPolicy":{"MaximumRetryAttempts":1,"MaximumEventAgeInSeconds":60},"DeadLetterConfig":{"Arn":"{{{queueArn}}}"}}""";

        // Raw HTTP, not a CLI process, so the at() time is still ahead when the schedule is created on a loaded machine.
        var due = DateTimeOffset.UtcNow.AddSeconds(6).ToString("yyyy-MM-ddTHH:mm:ss", CultureInfo.InvariantCulture);
        using (var body = new StringContent($$"""{"ScheduleExpression":"at({{due}})","FlexibleTimeWindow":{"Mode":"OFF"},"Target":{{target}}}""", System.Text.Encoding.UTF8, "application/json"))
        using (var created = await scope.Server.Http.PostAsync($"/schedules/{name}", body))
        {
            Assert.Equal(System.Net.HttpStatusCode.OK, created.StatusCode);
        }

        var arn = (await Scheduler(aws, "get-schedule", "--name", name)).Json().Str("Arn");

        // The run fails (no such function), is retried once a second later, then dead-lettered.
        var message = Assert.Single(await queues.ReceiveAtLeastAsync(url, 1, TimeSpan.FromSeconds(60)));
        Assert.Equal("""{"job":"lost"}""", message.Str("Body"));
        string Attribute(string attribute) => message.GetProperty("MessageAttributes").GetProperty(attribute).GetProperty("StringValue").GetString()!;
        Assert.Equal("ResourceNotFoundException", Attribute("ERROR_CODE"));
        Assert.Contains(missing, Attribute("ERROR_MESSAGE"), StringComparison.Ordinal);
        Assert.Equal("1", Attribute("RETRY_ATTEMPTS"));
        Assert.Equal("MaximumRetryAttempts", Attribute("EXHAUSTED_RETRY_CONDITION"));
        Assert.Equal(arn, Attribute("SCHEDULE_ARN"));
        Assert.Equal(missing, Attribute("TARGET_ARN"));
        Assert.Equal(due + "Z", Attribute("SCHEDULED_TIME"));
        Assert.True(Guid.TryParse(Attribute("EXECUTION_ID"), out _));
        (await Scheduler(aws, "delete-schedule", "--name", name)).ShouldSucceed();
    });

    private static List<(string Key, string Value)> Tags(JsonElement listed) =>
        [.. listed.GetProperty("Tags").EnumerateArray().Select(t => (t.GetProperty("Key").GetString()!, t.GetProperty("Value").GetString()!))];

    private static async Task AssertRefusedAsync(TestScope scope, string body, string message)
    {
        using var content = new StringContent(body, System.Text.Encoding.UTF8, "application/json");
        using var response = await scope.Server.Http.PostAsync($"/schedules/s{Guid.NewGuid():N}"[..22], content);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == System.Net.HttpStatusCode.BadRequest, $"{(int)response.StatusCode} {text}");
        Assert.Equal("ValidationException", response.Headers.GetValues("x-amzn-ErrorType").Single());
        Assert.Contains(message, JsonAssert.Parse(text, "the error").Str("Message"), StringComparison.Ordinal);
    }

    /// <summary>CLI v1 prints rest-json timestamps as epoch seconds, v2 as ISO 8601.</summary>
    private static DateTimeOffset Date(JsonElement value) =>
        value.ValueKind == JsonValueKind.Number
            ? DateTimeOffset.FromUnixTimeMilliseconds((long)(value.GetDouble() * 1000))
            : DateTimeOffset.Parse(value.GetString()!, CultureInfo.InvariantCulture);

    private static string Target(string arn, string? input) =>
        JsonSerializer.Serialize(input is null
            ? new Dictionary<string, string> { ["Arn"] = arn, ["RoleArn"] = Role }
            : new Dictionary<string, string> { ["Arn"] = arn, ["RoleArn"] = Role, ["Input"] = input });

    private static Task<CliResult> Scheduler(AwsCli aws, params string[] arguments) => aws.RunAsync(["scheduler", .. arguments]);
}
