using System.Text.Json.Serialization;

namespace Nimbus.Events;

/// <summary>
/// A schedule as stored in schedules.db (JSON, shape pinned by ScheduleRecordShapeTests) and answered by GetSchedule.
/// Enum-like strings keep AWS's spelling: State ENABLED|DISABLED, FlexibleMode OFF|FLEXIBLE, ActionAfterCompletion NONE|DELETE.
/// </summary>
internal sealed record ScheduleRecord
{
    public required string GroupName { get; init; }

    public required string Name { get; init; }

    public string? Description { get; init; }

    public required string ScheduleExpression { get; init; }

    public string? ScheduleExpressionTimezone { get; init; }

    public DateTimeOffset? StartDate { get; init; }

    public DateTimeOffset? EndDate { get; init; }

    public required string FlexibleMode { get; init; }

    public int? MaximumWindowInMinutes { get; init; }

    public required string State { get; init; }

    public required string ActionAfterCompletion { get; init; }

    public string? KmsKeyArn { get; init; }

    public required ScheduleTarget Target { get; init; }

    public required DateTimeOffset CreationDate { get; init; }

    public required DateTimeOffset LastModificationDate { get; init; }
}

/// <summary>A schedule's Lambda target. Retry policy and dead-letter queue are stored and answered; delivery uses the function's async settings.</summary>
internal sealed record ScheduleTarget
{
    public required string Arn { get; init; }

    public required string RoleArn { get; init; }

    public string? Input { get; init; }

    public int? MaximumEventAgeInSeconds { get; init; }

    public int? MaximumRetryAttempts { get; init; }

    public string? DeadLetterArn { get; init; }
}

/// <summary>A schedule group; <c>default</c> always exists and is not stored.</summary>
internal sealed record ScheduleGroupRecord(string Name, DateTimeOffset CreationDate, DateTimeOffset LastModificationDate);

/// <summary>A stored schedule with the last run it fired (the scheduled time, not the delivery time).</summary>
internal sealed record StoredSchedule(ScheduleRecord Schedule, DateTimeOffset? LastFired);

[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(ScheduleRecord))]
internal sealed partial class ScheduleJsonContext : JsonSerializerContext;
