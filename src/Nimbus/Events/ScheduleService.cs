using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

using Nimbus.Security;

namespace Nimbus.Events;

/// <summary>
/// EventBridge Scheduler's schedules and groups, and the decision of what runs when. State lives in schedules.db;
/// this class keeps a copy in memory for the runner. Every change, API or firing, holds <see cref="_gate"/>, so a
/// run is never fired for a schedule that an update or delete has just replaced.
/// <para>
/// Firing a run: the event goes into the async queue under a request id derived from the schedule and the run's
/// time, then the run's time is committed as the schedule's last fired run. A crash between the two fires that run
/// again after the restart (at least once, as Lambda's async delivery). A run missed while the node was down fires
/// once, late, when it is younger than the target's MaximumEventAgeInSeconds (24 h by default), as a delivery
/// retried by EventBridge Scheduler would; when several were missed only the latest fires.
/// </para>
/// </summary>
internal sealed partial class ScheduleService(
    ScheduleStore store,
    IScheduleDispatcher dispatcher,
    IOptions<NimbusOptions> options,
    TimeProvider time,
    ILogger<ScheduleService> logger,
    ServiceAuthorization? authorization = null,
    IEventSourceQueues? queues = null) : IDisposable
{
    public const string DefaultGroup = "default";

    /// <summary>What a schedule's role must allow on its target function.</summary>
    public const string InvokeAction = "lambda:InvokeFunction";
    public const int MaxListResults = 100;

    /// <summary>How soon a run is offered again after the first failed delivery (then doubling, see <see cref="RetryDelay"/>), or after a failed pass.</summary>
    public static readonly TimeSpan DispatchRetry = TimeSpan.FromSeconds(1);

    private static readonly TimeSpan DefaultEventAge = TimeSpan.FromSeconds(ScheduleRequest.MaxEventAgeInSeconds);
    private static readonly TimeSpan MaxRetryDelay = TimeSpan.FromMinutes(5);

    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly SemaphoreSlim _changed = new(0, 1);
    private readonly Dictionary<(string Group, string Name), Entry> _schedules = [];
    private readonly Dictionary<string, ScheduleGroupRecord> _groups = new(StringComparer.Ordinal);
    private readonly Dictionary<string, SortedDictionary<string, string>> _tags = new(StringComparer.Ordinal);
    private bool _loaded;

    private string Region => options.Value.Region;

    private string AccountId => options.Value.AccountId;

    /// <summary>Released after every change, so the runner recomputes its next wake-up.</summary>
    public SemaphoreSlim Changed => _changed;

    public string ScheduleArn(string group, string name) => $"arn:aws:scheduler:{Region}:{AccountId}:schedule/{group}/{name}";

    public string GroupArn(string group) => $"arn:aws:scheduler:{Region}:{AccountId}:schedule-group/{group}";

    public async Task LoadAsync(CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await EnsureLoadedAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
    }

    public Task<SchedulerResult<ScheduleRecord>> CreateAsync(string name, JsonElement body, CancellationToken cancellationToken) =>
        PutAsync(name, body, create: true, cancellationToken);

    public Task<SchedulerResult<ScheduleRecord>> UpdateAsync(string name, JsonElement body, CancellationToken cancellationToken) =>
        PutAsync(name, body, create: false, cancellationToken);

    public async Task<SchedulerResult<ScheduleRecord>> GetAsync(string name, string? group, CancellationToken cancellationToken)
    {
        if ((ScheduleRequest.CheckName(name, "name") ?? (group is null ? null : ScheduleRequest.CheckName(group, "groupName"))) is { } invalid)
        {
            return invalid;
        }

        return await LockedAsync<SchedulerResult<ScheduleRecord>>(
            () =>
            {
                var key = (group ?? DefaultGroup, name);
                return Task.FromResult<SchedulerResult<ScheduleRecord>>(
                    !GroupExists(key.Item1) ? SchedulerError.GroupNotFound(key.Item1)
                    : _schedules.TryGetValue(key, out var entry) ? entry.Schedule
                    : SchedulerError.ScheduleNotFound(name));
            },
            cancellationToken).ConfigureAwait(false);
    }

    public async Task<SchedulerError?> DeleteAsync(string name, string? group, CancellationToken cancellationToken)
    {
        if ((ScheduleRequest.CheckName(name, "name") ?? (group is null ? null : ScheduleRequest.CheckName(group, "groupName"))) is { } invalid)
        {
            return invalid;
        }

        return await LockedAsync(
            async () =>
            {
                var key = (group ?? DefaultGroup, name);
                if (!GroupExists(key.Item1))
                {
                    return SchedulerError.GroupNotFound(key.Item1);
                }

                if (!_schedules.ContainsKey(key))
                {
                    return SchedulerError.ScheduleNotFound(name);
                }

                await store.DeleteScheduleAsync(key.Item1, name, cancellationToken).ConfigureAwait(false);
                _schedules.Remove(key);
                return (SchedulerError?)null;
            },
            cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Schedules sorted by <c>group/name</c>, filtered; the token is the position after the last one returned.</summary>
    public async Task<SchedulerResult<(IReadOnlyList<ScheduleRecord> Schedules, string? NextToken)>> ListAsync(
        string? group, string? namePrefix, string? state, int? maxResults, string? nextToken, CancellationToken cancellationToken)
    {
        if (((group is null ? null : ScheduleRequest.CheckName(group, "groupName")) ?? (namePrefix is null ? null : ScheduleRequest.CheckName(namePrefix, "namePrefix"))) is { } invalid)
        {
            return invalid;
        }

        if (state is not (null or "ENABLED" or "DISABLED"))
        {
            return SchedulerError.Constraint(state, "state", "Member must satisfy enum value set: [ENABLED, DISABLED]");
        }

        if (maxResults is < 1 or > MaxListResults)
        {
            return SchedulerError.Constraint(maxResults.Value.ToString(System.Globalization.CultureInfo.InvariantCulture), "maxResults", $"Member must have value between 1 and {MaxListResults}");
        }

        if (DecodeToken(nextToken) is not { } after)
        {
            return SchedulerError.Validation("The NextToken is not valid: pass the NextToken of the previous ListSchedules answer.");
        }

        return await LockedAsync<SchedulerResult<(IReadOnlyList<ScheduleRecord>, string?)>>(
            () =>
            {
                if (group is not null && !GroupExists(group))
                {
                    return Task.FromResult<SchedulerResult<(IReadOnlyList<ScheduleRecord>, string?)>>(SchedulerError.GroupNotFound(group));
                }

                var matching = _schedules.Values.Select(e => e.Schedule)
                    .Where(s => group is null || s.GroupName == group)
                    .Where(s => namePrefix is null || s.Name.StartsWith(namePrefix, StringComparison.Ordinal))
                    .Where(s => state is null || s.State == state)
                    // "/" is in no name: group/name is a unique key, and the page token is its last value.
                    .OrderBy(s => s.GroupName + "/" + s.Name, StringComparer.Ordinal)
                    .Where(s => string.CompareOrdinal(s.GroupName + "/" + s.Name, after) > 0)
                    .Take((maxResults ?? MaxListResults) + 1)
                    .ToList();
                var page = maxResults ?? MaxListResults;
                string? token = null;
                if (matching.Count > page)
                {
                    matching.RemoveAt(page);
                    token = EncodeToken(matching[^1].GroupName + "/" + matching[^1].Name);
                }

                return Task.FromResult<SchedulerResult<(IReadOnlyList<ScheduleRecord>, string?)>>((matching, token));
            },
            cancellationToken).ConfigureAwait(false);
    }

    public async Task<SchedulerResult<ScheduleGroupRecord>> CreateGroupAsync(string name, JsonElement body, CancellationToken cancellationToken)
    {
        if (ScheduleRequest.CheckName(name, "name") is { } invalid)
        {
            return invalid;
        }

        var parsedTags = ScheduleTags.Parse(body, required: false);
        if (parsedTags.Error is { } tagError)
        {
            return tagError;
        }

        var tags = Merge(null, parsedTags.Value!);

        return await LockedAsync<SchedulerResult<ScheduleGroupRecord>>(
            async () =>
            {
                if (GroupExists(name))
                {
                    return SchedulerError.Conflict($"Schedule group {name} already exists.");
                }

                var now = Now();
                var group = new ScheduleGroupRecord(name, now, now);
                await store.PutGroupAsync(group, tags, cancellationToken).ConfigureAwait(false);
                _groups[name] = group;
                _tags[name] = tags;
                return group;
            },
            cancellationToken).ConfigureAwait(false);
    }

    public async Task<SchedulerResult<ScheduleGroupRecord>> GetGroupAsync(string name, CancellationToken cancellationToken)
    {
        if (ScheduleRequest.CheckName(name, "name") is { } invalid)
        {
            return invalid;
        }

        return await LockedAsync(() => Task.FromResult(FindGroup(name)), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Deletes a group with its schedules. The default group cannot be deleted.</summary>
    public async Task<SchedulerError?> DeleteGroupAsync(string name, CancellationToken cancellationToken)
    {
        if (ScheduleRequest.CheckName(name, "name") is { } invalid)
        {
            return invalid;
        }

        if (name == DefaultGroup)
        {
            return SchedulerError.Validation("The default schedule group cannot be deleted.");
        }

        return await LockedAsync(
            async () =>
            {
                if (!_groups.ContainsKey(name))
                {
                    return SchedulerError.GroupNotFound(name);
                }

                await store.DeleteGroupAsync(name, cancellationToken).ConfigureAwait(false);
                _groups.Remove(name);
                _tags.Remove(name);
                foreach (var key in _schedules.Keys.Where(k => k.Group == name).ToList())
                {
                    _schedules.Remove(key);
                }

                return (SchedulerError?)null;
            },
            cancellationToken).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<ScheduleGroupRecord>> ListGroupsAsync(CancellationToken cancellationToken) =>
        await LockedAsync<IReadOnlyList<ScheduleGroupRecord>>(
            () => Task.FromResult<IReadOnlyList<ScheduleGroupRecord>>([FindGroup(DefaultGroup).Value!, .. _groups.Values.OrderBy(g => g.Name, StringComparer.Ordinal)]),
            cancellationToken).ConfigureAwait(false);

    /// <summary>TagResource: adds the body's <c>Tags</c> to a schedule group, replacing the values of keys it has.</summary>
    public async Task<SchedulerError?> TagAsync(string arn, JsonElement body, CancellationToken cancellationToken)
    {
        var group = ScheduleTags.GroupOf(arn);
        var tags = ScheduleTags.Parse(body, required: true);
        if ((group.Error ?? tags.Error) is { } invalid)
        {
            return invalid;
        }

        return await ChangeTagsAsync(group.Value!, existing => Merge(existing, tags.Value!), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>UntagResource: removes the keys named (a key the group does not have is no error).</summary>
    public async Task<SchedulerError?> UntagAsync(string arn, IReadOnlyList<string> keys, CancellationToken cancellationToken)
    {
        var group = ScheduleTags.GroupOf(arn);
        if (group.Error is { } invalid)
        {
            return invalid;
        }

        if (keys.Count == 0)
        {
            return SchedulerError.Validation("1 validation error detected: Value null at 'tagKeys' failed to satisfy constraint: Member must not be null");
        }

        if (keys.Select((k, i) => ScheduleTags.CheckKey(k, $"tagKeys.{i + 1}.member")).FirstOrDefault(e => e is not null) is { } keyError)
        {
            return keyError;
        }

        return await ChangeTagsAsync(
            group.Value!,
            existing =>
            {
                var kept = new SortedDictionary<string, string>(existing ?? new SortedDictionary<string, string>(StringComparer.Ordinal), StringComparer.Ordinal);
                foreach (var key in keys)
                {
                    kept.Remove(key);
                }

                return kept;
            },
            cancellationToken).ConfigureAwait(false);
    }

    /// <summary>ListTagsForResource: a schedule group's tags, sorted by key.</summary>
    public async Task<SchedulerResult<IReadOnlyList<KeyValuePair<string, string>>>> ListTagsAsync(string arn, CancellationToken cancellationToken)
    {
        var group = ScheduleTags.GroupOf(arn);
        if (group.Error is { } invalid)
        {
            return invalid;
        }

        return await LockedAsync<SchedulerResult<IReadOnlyList<KeyValuePair<string, string>>>>(
            () => Task.FromResult<SchedulerResult<IReadOnlyList<KeyValuePair<string, string>>>>(
                !GroupExists(group.Value!) ? SchedulerError.GroupNotFound(group.Value!)
                : new SchedulerResult<IReadOnlyList<KeyValuePair<string, string>>>(
                    _tags.TryGetValue(group.Value!, out var tags) ? [.. tags] : [], null)),
            cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Fires every run that is due at <paramref name="now"/> and returns when the next one is due (null: none).
    /// The runner calls this in its loop; tests call it with a clock of their own.
    /// </summary>
    public async Task<DateTimeOffset?> RunDueAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await EnsureLoadedAsync(cancellationToken).ConfigureAwait(false);
            DateTimeOffset? wake = null;
            foreach (var entry in _schedules.Values.ToList())
            {
                if (await RunDueAsync(entry, now, cancellationToken).ConfigureAwait(false) is { } next && (wake is null || next < wake))
                {
                    wake = next;
                }
            }

            return wake;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>The next run of a schedule after <paramref name="after"/>, within its start and end dates.</summary>
    internal static DateTimeOffset? NextRun(ScheduleRecord schedule, ScheduleExpression expression, TimeZoneInfo zone, DateTimeOffset after)
    {
        var firstRate = schedule.StartDate ?? (expression is ScheduleExpression.Rate rate ? schedule.CreationDate + rate.Period : schedule.CreationDate);
        if (schedule.StartDate is { } start && after < start)
        {
            after = start - TimeSpan.FromTicks(1);
        }

        var next = expression.NextAfter(after, zone, firstRate);
        return next is { } at && schedule.EndDate is { } end && at > end ? null : next;
    }

    /// <summary>A run's random delay within a flexible time window, the same for the same run after a restart.</summary>
    internal static TimeSpan FlexibleDelay(ScheduleRecord schedule, string arn, DateTimeOffset run)
    {
        if (schedule.FlexibleMode != "FLEXIBLE" || schedule.MaximumWindowInMinutes is not { } minutes)
        {
            return TimeSpan.Zero;
        }

        var hash = SHA256.HashData(Encoding.UTF8.GetBytes($"{arn}|{run.ToUnixTimeMilliseconds()}|delay"));
        var milliseconds = BinaryPrimitives.ReadUInt64LittleEndian(hash) % (ulong)(minutes * 60_000L);
        return TimeSpan.FromMilliseconds(milliseconds);
    }

    /// <summary>The request id of a run: a GUID derived from the schedule and the run's time, so a refire is recognisable.</summary>
    internal static string RunRequestId(string arn, DateTimeOffset run)
    {
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes($"{arn}|{run.ToUnixTimeMilliseconds()}"));
        return new Guid(hash.AsSpan(0, 16)).ToString();
    }

    private async Task<DateTimeOffset?> RunDueAsync(Entry entry, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var schedule = entry.Schedule;
        if (schedule.State != "ENABLED")
        {
            return null;
        }

        if (entry.RetryAt is { } retryAt && retryAt > now)
        {
            return retryAt;
        }

        var arn = ScheduleArn(schedule.GroupName, schedule.Name);
        var from = entry.LastFired is { } fired && fired > schedule.LastModificationDate ? fired : schedule.LastModificationDate;
        var maxAge = schedule.Target.MaximumEventAgeInSeconds is { } seconds ? TimeSpan.FromSeconds(seconds) : DefaultEventAge;
        var after = now - maxAge > from ? now - maxAge : from;
        if (NextRun(schedule, entry.Expression, entry.Zone, after) is not { } run)
        {
            await CompleteAsync(entry, cancellationToken).ConfigureAwait(false);
            return null;
        }

        if (run > now)
        {
            return run + FlexibleDelay(schedule, arn, run);
        }

        // Missed runs (the node was down): only the latest fires. Bounded: a day of per-minute runs at most.
        var skipped = 0;
        while (skipped < 100_000 && NextRun(schedule, entry.Expression, entry.Zone, run) is { } later && later <= now)
        {
            run = later;
            skipped++;
        }

        var due = run + FlexibleDelay(schedule, arn, run);
        if (due > now)
        {
            return due;
        }

        var input = schedule.Target.Input ?? "{}";
        var function = ScheduleRequest.TargetFunction(schedule.Target.Arn, Region, AccountId);
        var requestId = RunRequestId(arn, run);

        // The schedule's role must allow lambda:InvokeFunction on the target, checked at every run as AWS does. A run it
        // does not allow is dropped (no retry can succeed until the role changes) and logged.
        var denied = function is not null && authorization?.CheckRole(schedule.Target.RoleArn, InvokeAction, schedule.Target.Arn) is { Allowed: false };
        if (denied)
        {
            Log.RunNotAuthorized(logger, schedule.GroupName, schedule.Name, run, schedule.Target.RoleArn, schedule.Target.Arn);
        }

        var delivery = denied
            ? ScheduleDelivery.Failed("AccessDeniedException", $"The role {schedule.Target.RoleArn} is not allowed {InvokeAction} on {schedule.Target.Arn}.")
            : function is null
            ? ScheduleDelivery.Failed("ValidationException", $"The target {schedule.Target.Arn} is not a Lambda function ARN of this region and account.")
            : await dispatcher.DispatchAsync(requestId, function.Value, Encoding.UTF8.GetBytes(input)).ConfigureAwait(false);
        if (!delivery.IsDelivered && !denied)
        {
            // The target's RetryPolicy: retry with backoff while attempts and the event's age allow, then dead-letter.
            if (entry.FailingRun != run)
            {
                (entry.FailingRun, entry.Retries) = (run, 0);
            }

            var maxRetries = schedule.Target.MaximumRetryAttempts ?? ScheduleRequest.MaxRetryAttempts;
            var nextAttempt = now + RetryDelay(entry.Retries + 1);
            var exhausted = entry.Retries >= maxRetries ? "MaximumRetryAttempts" : nextAttempt >= run + maxAge ? "MaximumEventAgeInSeconds" : null;
            if (exhausted is null)
            {
                entry.Retries++;
                entry.RetryAt = nextAttempt;
                Log.RunRefused(logger, schedule.GroupName, schedule.Name, run, delivery.ErrorCode!, delivery.ErrorMessage!, entry.Retries, nextAttempt);
                return nextAttempt;
            }

            await DeadLetterAsync(schedule, arn, run, requestId, input, delivery, entry.Retries, exhausted).ConfigureAwait(false);
        }

        (entry.RetryAt, entry.FailingRun, entry.Retries) = (null, null, 0);
        await store.SetLastFiredAsync(schedule.GroupName, schedule.Name, run, cancellationToken).ConfigureAwait(false);
        entry.LastFired = run;
        if (delivery.IsDelivered && now - due > TimeSpan.FromMinutes(1))
        {
            Log.LateRunFired(logger, schedule.GroupName, schedule.Name, run, skipped);
        }
        else if (delivery.IsDelivered)
        {
            Log.RunFired(logger, schedule.GroupName, schedule.Name, run, requestId);
        }

        if (NextRun(schedule, entry.Expression, entry.Zone, run) is { } next)
        {
            return next + FlexibleDelay(schedule, arn, next);
        }

        await CompleteAsync(entry, cancellationToken).ConfigureAwait(false);
        return null;
    }

    /// <summary>The wait before retry <paramref name="retry"/> (1-based) of a failed delivery: 1 s doubling, at most 5 minutes.</summary>
    internal static TimeSpan RetryDelay(int retry) =>
        retry >= 10 ? MaxRetryDelay : TimeSpan.FromSeconds(Math.Min(1 << (retry - 1), MaxRetryDelay.TotalSeconds));

    /// <summary>
    /// Sends a run that exhausted its retry policy to the target's DeadLetterConfig queue: the body is the input the
    /// target would have got, the message attributes say what failed (as EventBridge Scheduler's dead-letter events
    /// do). Without a dead-letter queue, or when the queue is gone, the run is dropped with a log line.
    /// </summary>
    private async Task DeadLetterAsync(
        ScheduleRecord schedule, string arn, DateTimeOffset run, string requestId, string input, ScheduleDelivery delivery, int retries, string exhausted)
    {
        if (schedule.Target.DeadLetterArn is not { } queueArn)
        {
            Log.RunDropped(logger, schedule.GroupName, schedule.Name, run, delivery.ErrorCode!, delivery.ErrorMessage!, retries);
            return;
        }

        // The schedule's role sends to its dead-letter queue, as on AWS: its policy must allow sqs:SendMessage on the
        // queue and the queue's policy must not deny it; checked at delivery (the role may have changed since).
        if (Queues.QueueSendPermission.Refusal(authorization, queues?.PolicyOf(queueArn), schedule.Target.RoleArn, queueArn, options.Value, time.GetUtcNow()) is { } refusal)
        {
            Log.DeadLetterNotPermitted(logger, schedule.GroupName, schedule.Name, run, queueArn, refusal);
            return;
        }

        var attributes = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["ERROR_CODE"] = delivery.ErrorCode!,
            ["ERROR_MESSAGE"] = delivery.ErrorMessage!,
            ["EXECUTION_ID"] = requestId,
            ["EXHAUSTED_RETRY_CONDITION"] = exhausted,
            ["RETRY_ATTEMPTS"] = retries.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["SCHEDULED_TIME"] = run.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture),
            ["SCHEDULE_ARN"] = arn,
            ["TARGET_ARN"] = schedule.Target.Arn,
        };
        if (await dispatcher.SendDeadLetterAsync(queueArn, input, attributes).ConfigureAwait(false))
        {
            Log.RunDeadLettered(logger, schedule.GroupName, schedule.Name, run, delivery.ErrorCode!, retries, queueArn);
        }
        else
        {
            Log.DeadLetterQueueMissing(logger, schedule.GroupName, schedule.Name, run, queueArn);
        }
    }

    /// <summary>A schedule with no run left: deleted when its ActionAfterCompletion is DELETE.</summary>
    private async Task CompleteAsync(Entry entry, CancellationToken cancellationToken)
    {
        if (entry.Schedule.ActionAfterCompletion == "DELETE")
        {
            await store.DeleteScheduleAsync(entry.Schedule.GroupName, entry.Schedule.Name, cancellationToken).ConfigureAwait(false);
            _schedules.Remove((entry.Schedule.GroupName, entry.Schedule.Name));
            Log.CompletedScheduleDeleted(logger, entry.Schedule.GroupName, entry.Schedule.Name);
        }
    }

    private async Task<SchedulerResult<ScheduleRecord>> PutAsync(string name, JsonElement body, bool create, CancellationToken cancellationToken)
    {
        var parsed = ScheduleRequest.Parse(name, body, Region, AccountId);
        if (parsed.Error is { } error)
        {
            return error;
        }

        var (record, expression) = parsed.Value!;
        var now = Now();
        if (record.StartDate is { } start && start < now - ScheduleRequest.StartDateGrace)
        {
            return SchedulerError.Validation("The StartDate you specify cannot be earlier than 5 minutes prior to the current time.");
        }

        if (record.EndDate is { } end && end <= now)
        {
            return SchedulerError.Validation("The EndDate you specify cannot be earlier than the current time.");
        }

        if (record is { StartDate: { } from, EndDate: { } to } && to <= from)
        {
            return SchedulerError.Validation("The EndDate must be later than the StartDate.");
        }

        return await LockedAsync<SchedulerResult<ScheduleRecord>>(
            async () =>
            {
                var key = (record.GroupName, name);
                if (!GroupExists(record.GroupName))
                {
                    return SchedulerError.GroupNotFound(record.GroupName);
                }

                _schedules.TryGetValue(key, out var existing);
                if (create && existing is not null)
                {
                    return SchedulerError.Conflict($"Schedule {name} already exists.");
                }

                if (!create && existing is null)
                {
                    return SchedulerError.ScheduleNotFound(name);
                }

                var stored = record with
                {
                    CreationDate = existing?.Schedule.CreationDate ?? now,
                    LastModificationDate = now,
                };
                await store.PutScheduleAsync(stored, existing?.LastFired, cancellationToken).ConfigureAwait(false);
                _schedules[key] = new Entry(stored, expression, Zone(stored)) { LastFired = existing?.LastFired };
                return stored;
            },
            cancellationToken).ConfigureAwait(false);
    }

    private static SortedDictionary<string, string> Merge(SortedDictionary<string, string>? existing, IEnumerable<KeyValuePair<string, string>> added)
    {
        var merged = existing is null ? new SortedDictionary<string, string>(StringComparer.Ordinal) : new SortedDictionary<string, string>(existing, StringComparer.Ordinal);
        foreach (var (key, value) in added)
        {
            merged[key] = value;
        }

        return merged;
    }

    private async Task<SchedulerError?> ChangeTagsAsync(
        string group, Func<SortedDictionary<string, string>?, SortedDictionary<string, string>> change, CancellationToken cancellationToken) =>
        await LockedAsync(
            async () =>
            {
                if (!GroupExists(group))
                {
                    return SchedulerError.GroupNotFound(group);
                }

                var tags = change(_tags.GetValueOrDefault(group));
                await store.SetGroupTagsAsync(group, tags, cancellationToken).ConfigureAwait(false);
                _tags[group] = tags;
                return (SchedulerError?)null;
            },
            cancellationToken).ConfigureAwait(false);

    private async Task<T> LockedAsync<T>(Func<Task<T>> action, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await EnsureLoadedAsync(cancellationToken).ConfigureAwait(false);
            return await action().ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
            if (_changed.CurrentCount == 0)
            {
                try
                {
                    _changed.Release();
                }
                catch (SemaphoreFullException)
                {
                    // Already signalled.
                }
            }
        }
    }

    private async Task EnsureLoadedAsync(CancellationToken cancellationToken)
    {
        if (_loaded)
        {
            return;
        }

        foreach (var group in await store.ListGroupsAsync(cancellationToken).ConfigureAwait(false))
        {
            _groups[group.Name] = group;
        }

        foreach (var (group, key, value) in await store.ListGroupTagsAsync(cancellationToken).ConfigureAwait(false))
        {
            if (!_tags.TryGetValue(group, out var tags))
            {
                _tags[group] = tags = new SortedDictionary<string, string>(StringComparer.Ordinal);
            }

            tags[key] = value;
        }

        foreach (var (schedule, lastFired) in await store.ListSchedulesAsync(cancellationToken).ConfigureAwait(false))
        {
            if (ScheduleExpression.TryParse(schedule.ScheduleExpression, out _) is { } expression)
            {
                _schedules[(schedule.GroupName, schedule.Name)] = new Entry(schedule, expression, Zone(schedule)) { LastFired = lastFired };
            }
        }

        _loaded = true;
    }

    private static TimeZoneInfo Zone(ScheduleRecord schedule) =>
        schedule.ScheduleExpressionTimezone is { } id ? ScheduleRequest.ResolveZone(id) ?? TimeZoneInfo.Utc : TimeZoneInfo.Utc;

    private bool GroupExists(string group) => group == DefaultGroup || _groups.ContainsKey(group);

    private SchedulerResult<ScheduleGroupRecord> FindGroup(string name) =>
        name == DefaultGroup ? new ScheduleGroupRecord(DefaultGroup, DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch)
        : _groups.TryGetValue(name, out var group) ? group
        : SchedulerError.GroupNotFound(name);

    /// <summary>Now, to the millisecond (what schedules.db stores).</summary>
    private DateTimeOffset Now() => DateTimeOffset.FromUnixTimeMilliseconds(time.GetUtcNow().ToUnixTimeMilliseconds());

    private static string EncodeToken(string position) => Convert.ToBase64String(Encoding.UTF8.GetBytes(position));

    private static string? DecodeToken(string? token)
    {
        if (token is null)
        {
            return "";
        }

        try
        {
            return Encoding.UTF8.GetString(Convert.FromBase64String(token));
        }
        catch (FormatException)
        {
            return null;
        }
    }

    public void Dispose()
    {
        _gate.Dispose();
        _changed.Dispose();
    }

    /// <summary>A loaded schedule and its run state; guarded by <see cref="_gate"/>.</summary>
    private sealed class Entry(ScheduleRecord schedule, ScheduleExpression expression, TimeZoneInfo zone)
    {
        public ScheduleRecord Schedule { get; } = schedule;

        public ScheduleExpression Expression { get; } = expression;

        public TimeZoneInfo Zone { get; } = zone;

        public DateTimeOffset? LastFired { get; set; }

        public DateTimeOffset? RetryAt { get; set; }

        /// <summary>The run whose delivery failed and is being retried, and how many retries it has had.</summary>
        public DateTimeOffset? FailingRun { get; set; }

        public int Retries { get; set; }
    }
}
