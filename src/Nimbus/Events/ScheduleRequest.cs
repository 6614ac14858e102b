using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Nimbus.Functions;

namespace Nimbus.Events;

/// <summary>
/// The body of CreateSchedule and UpdateSchedule (the same shape), read member by member so every bad value gets
/// the ValidationException EventBridge Scheduler answers.
/// </summary>
internal static partial class ScheduleRequest
{
    public const int MaxNameLength = 64;
    public const int MaxDescriptionLength = 512;
    public const int MaxExpressionLength = 256;
    public const int MaxTimezoneLength = 50;
    public const int MaxWindowInMinutes = 1440;
    public const int MinEventAgeInSeconds = 60;
    public const int MaxEventAgeInSeconds = 86_400;
    public const int MaxRetryAttempts = 185;
    public const int MaxArnLength = 1600;

    /// <summary>How far in the past a start date may be, as EventBridge Scheduler allows.</summary>
    public static readonly TimeSpan StartDateGrace = TimeSpan.FromMinutes(5);

    private static readonly string[] UnsupportedTargetMembers =
        ["EcsParameters", "EventBridgeParameters", "KinesisParameters", "SageMakerPipelineParameters", "SqsParameters"];

    [GeneratedRegex("^[0-9a-zA-Z-_.]+$", RegexOptions.CultureInvariant)]
    public static partial Regex NamePattern();

    [GeneratedRegex(@"^arn:aws(-[a-z]+)?:iam::\d{12}:role\/[\w+=,.@\/-]+$", RegexOptions.CultureInvariant)]
    private static partial Regex RoleArnPattern();

    [GeneratedRegex(@"^arn:aws(-[a-z]+)?:sqs:[a-z0-9\-]+:\d{12}:[a-zA-Z0-9\-_]+$", RegexOptions.CultureInvariant)]
    private static partial Regex DeadLetterArnPattern();

    [GeneratedRegex(@"^arn:aws(-[a-z]+)?:kms:[a-z0-9\-]+:\d{12}:(key|alias)\/[0-9a-zA-Z-_]*$", RegexOptions.CultureInvariant)]
    private static partial Regex KmsKeyArnPattern();

    /// <summary>A name or group name: null when valid, else the error for <paramref name="member"/>.</summary>
    public static SchedulerError? CheckName(string value, string member) =>
        value.Length is < 1 or > MaxNameLength
            ? SchedulerError.Constraint(value, member, $"Member must have length between 1 and {MaxNameLength}")
            : NamePattern().IsMatch(value) ? null : SchedulerError.Constraint(value, member, "Member must satisfy regular expression pattern: ^[0-9a-zA-Z-_.]+$");

    /// <summary>
    /// Parses and checks a body into a schedule named <paramref name="name"/>; dates and the group's existence are
    /// checked by the caller, which knows the time and the groups.
    /// </summary>
    public static SchedulerResult<ParsedSchedule> Parse(string name, JsonElement body, string region, string accountId)
    {
        if (body.ValueKind != JsonValueKind.Object)
        {
            return SchedulerError.Validation("The request body must be a JSON object.");
        }

        if (CheckName(name, "name") is { } nameError)
        {
            return nameError;
        }

        var group = String(body, "GroupName") ?? ScheduleService.DefaultGroup;
        if (CheckName(group, "groupName") is { } groupError)
        {
            return groupError;
        }

        if (String(body, "ScheduleExpression") is not { } expressionText)
        {
            return SchedulerError.Constraint("null", "scheduleExpression", "Member must not be null");
        }

        if (expressionText.Length is < 1 or > MaxExpressionLength)
        {
            return SchedulerError.Constraint(expressionText, "scheduleExpression", $"Member must have length between 1 and {MaxExpressionLength}");
        }

        if (ScheduleExpression.TryParse(expressionText, out var expressionError) is not { } expression)
        {
            return SchedulerError.Validation($"Invalid Schedule Expression {expressionText}: {expressionError}.");
        }

        var timezone = String(body, "ScheduleExpressionTimezone");
        if (timezone is not null && ResolveZone(timezone) is null)
        {
            return SchedulerError.Validation($"Invalid time zone {timezone}: use an IANA time zone name such as America/New_York or UTC.");
        }

        if (!body.TryGetProperty("FlexibleTimeWindow", out var window) || window.ValueKind != JsonValueKind.Object)
        {
            return SchedulerError.Constraint("null", "flexibleTimeWindow", "Member must not be null");
        }

        var mode = String(window, "Mode");
        if (mode is not ("OFF" or "FLEXIBLE"))
        {
            return SchedulerError.Constraint(mode ?? "null", "flexibleTimeWindow.mode", "Member must satisfy enum value set: [OFF, FLEXIBLE]");
        }

        var maxWindow = Integer(window, "MaximumWindowInMinutes");
        if (maxWindow is < 1 or > MaxWindowInMinutes)
        {
            return SchedulerError.Constraint(maxWindow.Value.ToString(CultureInfo.InvariantCulture), "flexibleTimeWindow.maximumWindowInMinutes", $"Member must have value between 1 and {MaxWindowInMinutes}");
        }

        if (mode == "FLEXIBLE" && maxWindow is null)
        {
            return SchedulerError.Validation("MaximumWindowInMinutes is required when FlexibleTimeWindow Mode is FLEXIBLE.");
        }

        if (mode == "OFF" && maxWindow is not null)
        {
            return SchedulerError.Validation("MaximumWindowInMinutes must not be set when FlexibleTimeWindow Mode is OFF.");
        }

        var state = String(body, "State") ?? "ENABLED";
        if (state is not ("ENABLED" or "DISABLED"))
        {
            return SchedulerError.Constraint(state, "state", "Member must satisfy enum value set: [ENABLED, DISABLED]");
        }

        var after = String(body, "ActionAfterCompletion") ?? "NONE";
        if (after is not ("NONE" or "DELETE"))
        {
            return SchedulerError.Constraint(after, "actionAfterCompletion", "Member must satisfy enum value set: [NONE, DELETE]");
        }

        var description = String(body, "Description");
        if (description is { Length: > MaxDescriptionLength })
        {
            return SchedulerError.Constraint(description, "description", $"Member must have length less than or equal to {MaxDescriptionLength}");
        }

        var kms = String(body, "KmsKeyArn");
        if (kms is not null && !KmsKeyArnPattern().IsMatch(kms))
        {
            return SchedulerError.Constraint(kms, "kmsKeyArn", @"Member must satisfy regular expression pattern: ^arn:aws(-[a-z]+)?:kms:[a-z0-9\-]+:\d{12}:(key|alias)\/[0-9a-zA-Z-_]*$");
        }

        if (!TryDate(body, "StartDate", out var start) || !TryDate(body, "EndDate", out var end))
        {
            return SchedulerError.Validation("StartDate and EndDate must be timestamps (seconds since the epoch, or ISO 8601).");
        }

        if (ParseTarget(body, region, accountId) is { Error: { } targetError })
        {
            return targetError;
        }

        var target = ParseTarget(body, region, accountId).Value!;
        return new ParsedSchedule(
            new ScheduleRecord
            {
                GroupName = group,
                Name = name,
                Description = description,
                ScheduleExpression = expressionText,
                ScheduleExpressionTimezone = timezone,
                StartDate = start,
                EndDate = end,
                FlexibleMode = mode,
                MaximumWindowInMinutes = maxWindow,
                State = state,
                ActionAfterCompletion = after,
                KmsKeyArn = kms,
                Target = target,
                CreationDate = default,
                LastModificationDate = default,
            },
            expression);
    }

    /// <summary>An IANA (or Windows) time zone id; null when unknown.</summary>
    public static TimeZoneInfo? ResolveZone(string id)
    {
        if (id.Length is < 1 or > MaxTimezoneLength)
        {
            return null;
        }

        try
        {
            return TimeZoneInfo.FindSystemTimeZoneById(id);
        }
        catch (Exception e) when (e is TimeZoneNotFoundException or InvalidTimeZoneException)
        {
            return null;
        }
    }

    /// <summary>The function a Lambda target ARN names, with its qualifier if any.</summary>
    public static FunctionReference? TargetFunction(string arn, string region, string accountId) =>
        arn.StartsWith("arn:aws:lambda:", StringComparison.Ordinal) && FunctionReference.Parse(arn, null, region, accountId) is { Error: null } parsed
            ? parsed.Value
            : null;

    private static SchedulerResult<ScheduleTarget> ParseTarget(JsonElement body, string region, string accountId)
    {
        if (!body.TryGetProperty("Target", out var target) || target.ValueKind != JsonValueKind.Object)
        {
            return SchedulerError.Constraint("null", "target", "Member must not be null");
        }

        var arn = String(target, "Arn");
        if (arn is null or { Length: < 1 or > MaxArnLength })
        {
            return SchedulerError.Constraint(arn ?? "null", "target.arn", $"Member must have length between 1 and {MaxArnLength}");
        }

        if (UnsupportedTargetMembers.FirstOrDefault(member => target.TryGetProperty(member, out _)) is { } unsupported)
        {
            return SchedulerError.Validation($"Target.{unsupported} is not supported: Nimbus schedules invoke Lambda functions only.");
        }

        if (TargetFunction(arn, region, accountId) is null)
        {
            return SchedulerError.Validation(
                $"Invalid target ARN {arn}: Nimbus schedules invoke Lambda functions only, arn:aws:lambda:{region}:{accountId}:function:<name>[:<qualifier>].");
        }

        var role = String(target, "RoleArn");
        if (role is null || !RoleArnPattern().IsMatch(role))
        {
            return role is null
                ? SchedulerError.Constraint("null", "target.roleArn", "Member must not be null")
                : SchedulerError.Constraint(role, "target.roleArn", @"Member must satisfy regular expression pattern: ^arn:aws(-[a-z]+)?:iam::\d{12}:role\/[\w+=,.@\/-]+$");
        }

        var input = String(target, "Input");
        if (input is not null)
        {
            if (input.Length == 0)
            {
                return SchedulerError.Constraint(input, "target.input", "Member must have length greater than or equal to 1");
            }

            if (System.Text.Encoding.UTF8.GetByteCount(input) > LambdaLimits.MaxAsyncPayloadBytes)
            {
                return SchedulerError.Validation($"Target.Input is larger than a Lambda asynchronous payload may be ({LambdaLimits.MaxAsyncPayloadBytes} bytes).");
            }

            if (!IsJson(input))
            {
                return SchedulerError.Validation("Target.Input must be well-formed JSON for a Lambda target.");
            }
        }

        int? maxAge = null, maxRetries = null;
        if (target.TryGetProperty("RetryPolicy", out var retry) && retry.ValueKind == JsonValueKind.Object)
        {
            maxAge = Integer(retry, "MaximumEventAgeInSeconds");
            maxRetries = Integer(retry, "MaximumRetryAttempts");
            if (maxAge is < MinEventAgeInSeconds or > MaxEventAgeInSeconds)
            {
                return SchedulerError.Constraint(maxAge.Value.ToString(CultureInfo.InvariantCulture), "target.retryPolicy.maximumEventAgeInSeconds", $"Member must have value between {MinEventAgeInSeconds} and {MaxEventAgeInSeconds}");
            }

            if (maxRetries is < 0 or > MaxRetryAttempts)
            {
                return SchedulerError.Constraint(maxRetries.Value.ToString(CultureInfo.InvariantCulture), "target.retryPolicy.maximumRetryAttempts", $"Member must have value between 0 and {MaxRetryAttempts}");
            }
        }

        string? deadLetter = null;
        if (target.TryGetProperty("DeadLetterConfig", out var dlq) && dlq.ValueKind == JsonValueKind.Object)
        {
            deadLetter = String(dlq, "Arn");
            if (deadLetter is not null && !DeadLetterArnPattern().IsMatch(deadLetter))
            {
                return SchedulerError.Constraint(deadLetter, "target.deadLetterConfig.arn", @"Member must satisfy regular expression pattern: ^arn:aws(-[a-z]+)?:sqs:[a-z0-9\-]+:\d{12}:[a-zA-Z0-9\-_]+$");
            }
        }

        return new ScheduleTarget
        {
            Arn = arn,
            RoleArn = role,
            Input = input,
            MaximumEventAgeInSeconds = maxAge,
            MaximumRetryAttempts = maxRetries,
            DeadLetterArn = deadLetter,
        };
    }

    private static bool IsJson(string text)
    {
        try
        {
            using var _ = JsonDocument.Parse(text);
            return true;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private static string? String(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static int? Integer(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out var number) ? number : null;

    /// <summary>rest-json timestamps are epoch seconds (botocore, the SDKs); ISO 8601 strings are accepted too.</summary>
    private static bool TryDate(JsonElement element, string name, out DateTimeOffset? date)
    {
        date = null;
        if (!element.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return true;
        }

        if (value.ValueKind == JsonValueKind.Number && value.TryGetDouble(out var seconds) && seconds is >= 0 and < 253_402_300_800)
        {
            date = DateTimeOffset.FromUnixTimeMilliseconds((long)Math.Round(seconds * 1000));
            return true;
        }

        if (value.ValueKind == JsonValueKind.String && DateTimeOffset.TryParse(value.GetString(), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var parsed))
        {
            date = parsed.ToUniversalTime();
            return true;
        }

        return false;
    }
}

/// <summary>A checked schedule body: the record (dates still to be set by the service) and its parsed expression.</summary>
internal sealed record ParsedSchedule(ScheduleRecord Record, ScheduleExpression Expression);
