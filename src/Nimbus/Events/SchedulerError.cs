namespace Nimbus.Events;

/// <summary>An EventBridge Scheduler error as the caller sees it: <c>x-amzn-ErrorType</c>, status and <c>Message</c>.</summary>
internal sealed record SchedulerError(string Type, int StatusCode, string Message)
{
    public const string ValidationType = "ValidationException";
    public const string ConflictType = "ConflictException";
    public const string ResourceNotFoundType = "ResourceNotFoundException";

    public static SchedulerError Validation(string message) => new(ValidationType, 400, message);

    public static SchedulerError Conflict(string message) => new(ConflictType, 409, message);

    public static SchedulerError NotFound(string message) => new(ResourceNotFoundType, 404, message);

    public static SchedulerError ScheduleNotFound(string name) => NotFound($"Schedule {name} does not exist.");

    public static SchedulerError GroupNotFound(string group) => NotFound($"Schedule group {group} does not exist.");

    public static SchedulerError Constraint(string value, string member, string constraint) =>
        Validation($"1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: {constraint}");
}

/// <summary>Either a value or the Scheduler error that explains why there is none.</summary>
internal readonly record struct SchedulerResult<T>(T? Value, SchedulerError? Error)
{
    public static implicit operator SchedulerResult<T>(T value) => new(value, null);

    public static implicit operator SchedulerResult<T>(SchedulerError error) => new(default, error);
}
