using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Nimbus.Events;
using Nimbus.Functions;
using Nimbus.Security;
using Nimbus.Storage;

namespace Nimbus.Tests.Events;

/// <summary>
/// The schedule runner's decisions driven by a test clock on a real schedules.db: a rate(1 minute) schedule fires
/// once a minute, a restart neither loses nor repeats a run, downtime gives at most one late run.
/// </summary>
public sealed class ScheduleServiceTests : IDisposable
{
    private const string Function = "arn:aws:lambda:us-east-1:000000000000:function:tick";
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "nimbus-schedules-" + Guid.NewGuid().ToString("N"));
    private readonly ManualTime _time = new(new DateTimeOffset(2026, 5, 4, 10, 0, 0, 0, TimeSpan.Zero));
    private readonly RecordingDispatcher _dispatched = new();

    public ScheduleServiceTests() => Directory.CreateDirectory(_directory);

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public async Task Rate_one_minute_fires_once_a_minute_with_the_input_and_a_stable_request_id()
    {
        using var service = NewService();
        await CreateAsync(service, "every-minute", "rate(1 minute)", input: """{"job":"tick"}""");

        var start = _time.GetUtcNow();
        Assert.Equal(start.AddMinutes(1), await service.RunDueAsync(_time.GetUtcNow(), CancellationToken.None));
        Assert.Empty(_dispatched.Runs);

        for (var minute = 1; minute <= 3; minute++)
        {
            _time.Advance(TimeSpan.FromSeconds(59));
            Assert.Equal(start.AddMinutes(minute), await service.RunDueAsync(_time.GetUtcNow(), CancellationToken.None));
            Assert.Equal(minute - 1, _dispatched.Runs.Count);
            _time.Advance(TimeSpan.FromSeconds(1));
            Assert.Equal(start.AddMinutes(minute + 1), await service.RunDueAsync(_time.GetUtcNow(), CancellationToken.None));
            Assert.Equal(minute, _dispatched.Runs.Count);
        }

        Assert.All(_dispatched.Runs, run => Assert.Equal(new FunctionReference("tick", null), run.Function));
        Assert.All(_dispatched.Runs, run => Assert.Equal("""{"job":"tick"}""", run.Payload));
        Assert.Equal(3, _dispatched.Runs.Select(r => r.RequestId).Distinct().Count());
        Assert.Equal(ScheduleService.RunRequestId(service.ScheduleArn("default", "every-minute"), start.AddMinutes(1)), _dispatched.Runs[0].RequestId);
    }

    [Fact]
    public async Task A_restart_neither_repeats_nor_loses_a_run_and_downtime_gives_one_late_run()
    {
        using (var before = NewService())
        {
            await CreateAsync(before, "survivor", "rate(1 minute)");
            _time.Advance(TimeSpan.FromMinutes(1));
            await before.RunDueAsync(_time.GetUtcNow(), CancellationToken.None);
            Assert.Single(_dispatched.Runs);
        }

        // Same minute, new process: the run is recorded as fired.
        using (var restarted = NewService())
        {
            await restarted.RunDueAsync(_time.GetUtcNow(), CancellationToken.None);
            Assert.Single(_dispatched.Runs);
        }

        // Down for ten minutes: one late run (the latest missed one), not ten.
        _time.Advance(TimeSpan.FromMinutes(10).Add(TimeSpan.FromSeconds(30)));
        using var afterDowntime = NewService();
        var next = await afterDowntime.RunDueAsync(_time.GetUtcNow(), CancellationToken.None);
        Assert.Equal(2, _dispatched.Runs.Count);
        Assert.Equal(ScheduleService.RunRequestId(afterDowntime.ScheduleArn("default", "survivor"), _time.GetUtcNow().AddSeconds(-30)), _dispatched.Runs[1].RequestId);
        Assert.Equal(_time.GetUtcNow().AddSeconds(30), next);
    }

    [Fact]
    public async Task A_one_time_schedule_fires_once_late_after_downtime_then_deletes_itself_with_DELETE()
    {
        using var service = NewService();
        await CreateAsync(service, "once", "at(2026-05-04T10:05:00)", after: "DELETE");
        _time.Advance(TimeSpan.FromHours(2));
        Assert.Null(await service.RunDueAsync(_time.GetUtcNow(), CancellationToken.None));
        Assert.Single(_dispatched.Runs);
        Assert.Equal("{}", _dispatched.Runs[0].Payload);
        Assert.NotNull((await service.GetAsync("once", null, CancellationToken.None)).Error);

        // Older than MaximumEventAgeInSeconds: dropped, not fired.
        await CreateAsync(service, "too-late", "at(2026-05-04T12:10:00)", maxAge: 60);
        _time.Advance(TimeSpan.FromMinutes(15));
        await service.RunDueAsync(_time.GetUtcNow(), CancellationToken.None);
        Assert.Single(_dispatched.Runs);
    }

    [Fact]
    public async Task A_refused_run_is_offered_again_and_disabled_schedules_do_not_fire()
    {
        using var service = NewService();
        await CreateAsync(service, "refused", "rate(1 minute)");
        await CreateAsync(service, "off", "rate(1 minute)", state: "DISABLED");
        _dispatched.Refuse = true;
        _time.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal(_time.GetUtcNow() + ScheduleService.DispatchRetry, await service.RunDueAsync(_time.GetUtcNow(), CancellationToken.None));
        _dispatched.Refuse = false;
        _time.Advance(ScheduleService.DispatchRetry);
        await service.RunDueAsync(_time.GetUtcNow(), CancellationToken.None);
        Assert.Equal(["refused"], _dispatched.Runs.Select(r => r.RequestId == ScheduleService.RunRequestId(service.ScheduleArn("default", "refused"), _time.GetUtcNow().AddSeconds(-1)) ? "refused" : "other"));
    }

    [Fact]
    public async Task A_failed_delivery_is_retried_with_backoff_up_to_MaximumRetryAttempts_then_dead_lettered_with_its_attributes()
    {
        const string Queue = "arn:aws:sqs:us-east-1:000000000000:schedule-dlq";
        using var service = NewService();
        await CreateAsync(service, "failing", "rate(1 minute)", input: """{"job":"x"}""", retries: 2, deadLetter: Queue);
        var start = _time.GetUtcNow();
        var run = start.AddMinutes(1);
        _dispatched.FailWith = "ResourceNotFoundException";

        // The run at +1 min fails; retries follow 1 s, then 2 s later; the third failure exhausts MaximumRetryAttempts 2.
        _time.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal(run.AddSeconds(1), await service.RunDueAsync(_time.GetUtcNow(), CancellationToken.None));
        _time.Advance(TimeSpan.FromMilliseconds(999));
        Assert.Equal(run.AddSeconds(1), await service.RunDueAsync(_time.GetUtcNow(), CancellationToken.None));
        Assert.Equal(1, _dispatched.Attempts);
        _time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Equal(run.AddSeconds(3), await service.RunDueAsync(_time.GetUtcNow(), CancellationToken.None));
        Assert.Empty(_dispatched.DeadLetters);
        _time.Advance(TimeSpan.FromSeconds(2));
        Assert.Equal(start.AddMinutes(2), await service.RunDueAsync(_time.GetUtcNow(), CancellationToken.None));
        Assert.Equal(3, _dispatched.Attempts);

        var (queue, body, attributes) = Assert.Single(_dispatched.DeadLetters);
        Assert.Equal((Queue, """{"job":"x"}"""), (queue, body));
        Assert.Equal("ResourceNotFoundException", attributes["ERROR_CODE"]);
        Assert.Equal($"Function not found: {Function}", attributes["ERROR_MESSAGE"]);
        Assert.Equal(ScheduleService.RunRequestId(service.ScheduleArn("default", "failing"), run), attributes["EXECUTION_ID"]);
        Assert.Equal("MaximumRetryAttempts", attributes["EXHAUSTED_RETRY_CONDITION"]);
        Assert.Equal("2", attributes["RETRY_ATTEMPTS"]);
        Assert.Equal("2026-05-04T10:01:00Z", attributes["SCHEDULED_TIME"]);
        Assert.Equal(service.ScheduleArn("default", "failing"), attributes["SCHEDULE_ARN"]);
        Assert.Equal(Function, attributes["TARGET_ARN"]);

        // The dead-lettered run is done: the next run is delivered once the function is back, and nothing repeats.
        _dispatched.FailWith = null;
        _time.Advance(start.AddMinutes(2) - _time.GetUtcNow());
        await service.RunDueAsync(_time.GetUtcNow(), CancellationToken.None);
        Assert.Equal(ScheduleService.RunRequestId(service.ScheduleArn("default", "failing"), start.AddMinutes(2)), Assert.Single(_dispatched.Runs).RequestId);
        Assert.Single(_dispatched.DeadLetters);
    }

    [Fact]
    public async Task A_failing_run_is_given_up_when_its_next_retry_would_pass_MaximumEventAgeInSeconds()
    {
        using var service = NewService();
        await CreateAsync(service, "aging", "rate(5 minutes)", maxAge: 60, deadLetter: "arn:aws:sqs:us-east-1:000000000000:dlq");
        _dispatched.FailWith = "TooManyRequestsException";
        _time.Advance(TimeSpan.FromMinutes(5));
        var run = _time.GetUtcNow();

        // Retries at +1, +3, +7, +15, +31 s; the next (+63 s) would be older than 60 s, so the failure at +31 s is the last.
        for (var pass = 0; pass < 20 && _dispatched.DeadLetters.Count == 0; pass++)
        {
            var next = await service.RunDueAsync(_time.GetUtcNow(), CancellationToken.None);
            _time.Advance(next!.Value - _time.GetUtcNow());
        }

        var attributes = Assert.Single(_dispatched.DeadLetters).Attributes;
        Assert.Equal(("MaximumEventAgeInSeconds", "5"), (attributes["EXHAUSTED_RETRY_CONDITION"], attributes["RETRY_ATTEMPTS"]));
        Assert.Equal(6, _dispatched.Attempts);
        Assert.Equal(run.AddMinutes(5), _time.GetUtcNow());
        Assert.Equal(TimeSpan.FromMinutes(5), ScheduleService.RetryDelay(20));
    }

    [Fact]
    public async Task A_flexible_window_delays_each_run_within_the_window()
    {
        using var service = NewService();
        await CreateAsync(service, "flexible", "rate(10 minutes)", window: 5);
        var run = _time.GetUtcNow().AddMinutes(10);
        var due = await service.RunDueAsync(_time.GetUtcNow(), CancellationToken.None);
        Assert.InRange(due!.Value, run, run.AddMinutes(5));
        _time.Advance(due.Value - _time.GetUtcNow() - TimeSpan.FromMilliseconds(1));
        await service.RunDueAsync(_time.GetUtcNow(), CancellationToken.None);
        Assert.Empty(_dispatched.Runs);
        _time.Advance(TimeSpan.FromMilliseconds(1));
        await service.RunDueAsync(_time.GetUtcNow(), CancellationToken.None);
        Assert.Single(_dispatched.Runs);
    }

    [Fact]
    public void Start_and_end_dates_bound_the_runs()
    {
        var created = new DateTimeOffset(2026, 5, 4, 10, 0, 0, TimeSpan.Zero);
        var record = new ScheduleRecord
        {
            GroupName = "default",
            Name = "bounded",
            ScheduleExpression = "cron(0 * * * ? *)",
            StartDate = created.AddHours(5).AddMinutes(30),
            EndDate = created.AddHours(7),
            FlexibleMode = "OFF",
            State = "ENABLED",
            ActionAfterCompletion = "NONE",
            Target = new ScheduleTarget { Arn = Function, RoleArn = "arn:aws:iam::000000000000:role/r" },
            CreationDate = created,
            LastModificationDate = created,
        };
        var expression = ScheduleExpression.TryParse(record.ScheduleExpression, out _)!;
        Assert.Equal(created.AddHours(6), ScheduleService.NextRun(record, expression, TimeZoneInfo.Utc, created));
        Assert.Equal(created.AddHours(7), ScheduleService.NextRun(record, expression, TimeZoneInfo.Utc, created.AddHours(6)));
        Assert.Null(ScheduleService.NextRun(record, expression, TimeZoneInfo.Utc, created.AddHours(7)));
    }

    [Fact]
    public async Task Schedule_group_tags_survive_a_restart_and_go_with_their_group()
    {
        var arn = "arn:aws:scheduler:us-east-1:000000000000:schedule-group/tagged";
        using (var before = NewService())
        {
            using var create = JsonDocument.Parse("""{"Tags":[{"Key":"team","Value":"data"}]}""");
            Assert.Null((await before.CreateGroupAsync("tagged", create.RootElement, CancellationToken.None)).Error);
            using var tag = JsonDocument.Parse("""{"Tags":[{"Key":"env","Value":"prod"},{"Key":"team","Value":"ops"}]}""");
            Assert.Null(await before.TagAsync(arn, tag.RootElement, CancellationToken.None));
            using var bad = JsonDocument.Parse("""{"Tags":[{"Key":"k"}]}""");
            Assert.Equal(SchedulerError.ValidationType, (await before.TagAsync(arn, bad.RootElement, CancellationToken.None))?.Type);
        }

        using var restarted = NewService();
        Assert.Equal(new[] { KeyValuePair.Create("env", "prod"), KeyValuePair.Create("team", "ops") }, (await restarted.ListTagsAsync(arn, CancellationToken.None)).Value!);
        Assert.Null(await restarted.UntagAsync(arn, ["env"], CancellationToken.None));
        Assert.Equal(new[] { KeyValuePair.Create("team", "ops") }, (await restarted.ListTagsAsync(arn, CancellationToken.None)).Value!);
        Assert.Null(await restarted.DeleteGroupAsync("tagged", CancellationToken.None));
        Assert.Equal(SchedulerError.ResourceNotFoundType, (await restarted.ListTagsAsync(arn, CancellationToken.None)).Error?.Type);

        using var again = NewService();
        using var empty = JsonDocument.Parse("{}");
        Assert.Null((await again.CreateGroupAsync("tagged", empty.RootElement, CancellationToken.None)).Error);
        Assert.Empty((await again.ListTagsAsync(arn, CancellationToken.None)).Value!);
    }

    [Fact]
    public void ScheduleRecord_json_shape_is_frozen()
    {
        var record = new ScheduleRecord
        {
            GroupName = "g",
            Name = "n",
            ScheduleExpression = "rate(1 minute)",
            ScheduleExpressionTimezone = "Europe/Berlin",
            FlexibleMode = "FLEXIBLE",
            MaximumWindowInMinutes = 5,
            State = "ENABLED",
            ActionAfterCompletion = "DELETE",
            Target = new ScheduleTarget { Arn = Function, RoleArn = "arn:aws:iam::000000000000:role/r", Input = "{}", MaximumRetryAttempts = 3 },
            CreationDate = DateTimeOffset.FromUnixTimeMilliseconds(1_796_157_251_273),
            LastModificationDate = DateTimeOffset.FromUnixTimeMilliseconds(1_796_157_251_273),
        };
        var json = JsonSerializer.Serialize(record, ScheduleJsonContext.Default.ScheduleRecord);
        Assert.Equal(
            """{"GroupName":"g","Name":"n","ScheduleExpression":"rate(1 minute)","ScheduleExpressionTimezone":"Europe/Berlin","FlexibleMode":"FLEXIBLE","MaximumWindowInMinutes":5,"State":"ENABLED","ActionAfterCompletion":"DELETE","Target":{"Arn":"arn:aws:lambda:us-east-1:000000000000:function:tick","RoleArn":"arn:aws:iam::000000000000:role/r","Input":"{}","MaximumRetryAttempts":3},"CreationDate":"2026-12-01T20:34:11.273+00:00","LastModificationDate":"2026-12-01T20:34:11.273+00:00"}""",
            json);
        Assert.Equal(record, JsonSerializer.Deserialize(json, ScheduleJsonContext.Default.ScheduleRecord));
    }

    [Fact]
    public async Task A_run_whose_role_may_not_invoke_the_target_is_dropped_and_the_next_run_fires_once_it_may()
    {
        var authorizer = new RoleAuthorizer();
        using var service = NewService(new ServiceAuthorization(authorizer, NullLogger<ServiceAuthorization>.Instance));
        await CreateAsync(service, "guarded", "rate(1 minute)");

        _time.Advance(TimeSpan.FromMinutes(1));
        var next = await service.RunDueAsync(_time.GetUtcNow(), CancellationToken.None);
        Assert.Empty(_dispatched.Runs);
        Assert.Equal(("scheduler", "lambda:InvokeFunction", Function), authorizer.Asked.Single());

        // Dropped, not retried: the next run is the next minute's, and it fires once the role allows it.
        Assert.Equal(_time.GetUtcNow().AddMinutes(1), next);
        authorizer.Allow = true;
        _time.Advance(TimeSpan.FromMinutes(1));
        await service.RunDueAsync(_time.GetUtcNow(), CancellationToken.None);
        Assert.Single(_dispatched.Runs);
    }

    private ScheduleService NewService(ServiceAuthorization? authorization = null) => new(
        new ScheduleStore(new SqliteDatabase(Path.Combine(_directory, "schedules.db"), ScheduleMigrations.All)),
        _dispatched,
        Options.Create(new NimbusOptions()),
        _time,
        NullLogger<ScheduleService>.Instance,
        authorization);

    private static async Task CreateAsync(
        ScheduleService service, string name, string expression, string? input = null, string after = "NONE", int? maxAge = null, string state = "ENABLED", int? window = null,
        int? retries = null, string? deadLetter = null)
    {
        var body = new Dictionary<string, object?>
        {
            ["ScheduleExpression"] = expression,
            ["FlexibleTimeWindow"] = window is null ? new Dictionary<string, object?> { ["Mode"] = "OFF" } : new Dictionary<string, object?> { ["Mode"] = "FLEXIBLE", ["MaximumWindowInMinutes"] = window },
            ["ActionAfterCompletion"] = after,
            ["State"] = state,
            ["Target"] = new Dictionary<string, object?>
            {
                ["Arn"] = Function,
                ["RoleArn"] = "arn:aws:iam::000000000000:role/scheduler",
                ["Input"] = input,
                ["RetryPolicy"] = maxAge is null && retries is null ? null : new Dictionary<string, object?> { ["MaximumEventAgeInSeconds"] = maxAge, ["MaximumRetryAttempts"] = retries },
                ["DeadLetterConfig"] = deadLetter is null ? null : new Dictionary<string, object?> { ["Arn"] = deadLetter },
            },
        };
        using var json = JsonDocument.Parse(JsonSerializer.Serialize(body, TestJson.Options));
        var created = await service.CreateAsync(name, json.RootElement, CancellationToken.None);
        Assert.Null(created.Error);
    }

    private static class TestJson
    {
        public static readonly JsonSerializerOptions Options = new() { DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull };
    }

    private sealed class ManualTime(DateTimeOffset now) : TimeProvider
    {
        private DateTimeOffset _now = now;

        public override DateTimeOffset GetUtcNow() => _now;

        public void Advance(TimeSpan by) => _now += by;
    }

    private sealed class RoleAuthorizer : IAuthorizer
    {
        public bool Allow { get; set; }

        public List<(string Role, string Action, string Resource)> Asked { get; } = [];

        public AuthorizationResult Authorize(Principal principal, string action, string resourceArn)
        {
            Asked.Add((principal.Name, action, resourceArn));
            return Allow ? AuthorizationResult.Allow : new AuthorizationResult(false, "denied");
        }
    }

    private sealed class RecordingDispatcher : IScheduleDispatcher
    {
        public List<(string RequestId, FunctionReference Function, string Payload)> Runs { get; } = [];

        public List<(string QueueArn, string Body, IReadOnlyDictionary<string, string> Attributes)> DeadLetters { get; } = [];

        public int Attempts { get; private set; }

        public bool Refuse { get; set; }

        /// <summary>The error code every delivery fails with while set (the function is missing, say).</summary>
        public string? FailWith { get; set; }

        public Task<ScheduleDelivery> DispatchAsync(string requestId, FunctionReference function, byte[] payload)
        {
            Attempts++;
            if (Refuse)
            {
                return Task.FromResult(ScheduleDelivery.Failed("TooManyRequestsException", "Rate Exceeded."));
            }

            if (FailWith is { } code)
            {
                return Task.FromResult(ScheduleDelivery.Failed(code, $"Function not found: {Function}"));
            }

            Runs.Add((requestId, function, System.Text.Encoding.UTF8.GetString(payload)));
            return Task.FromResult(ScheduleDelivery.Delivered);
        }

        public Task<bool> SendDeadLetterAsync(string queueArn, string body, IReadOnlyDictionary<string, string> attributes)
        {
            DeadLetters.Add((queueArn, body, attributes));
            return Task.FromResult(true);
        }
    }
}
