using System.Text.Json;
using System.Text.RegularExpressions;

namespace Nimbus.Events;

/// <summary>
/// Tags of schedule groups (the only Scheduler resource AWS lets you tag): the <c>Tags</c> list of TagResource and
/// CreateScheduleGroup, the <c>TagKeys</c> of UntagResource and the resource ARN, checked with AWS's constraints.
/// </summary>
internal static partial class ScheduleTags
{
    public const int MaxKeyLength = 128;
    public const int MaxValueLength = 256;
    public const int MaxTagsPerRequest = 200;

    [GeneratedRegex(@"^arn:aws(-[a-z]+)?:scheduler:[a-z0-9\-]+:\d{12}:schedule-group\/([0-9a-zA-Z-_.]+)$", RegexOptions.CultureInvariant)]
    private static partial Regex GroupArnPattern();

    /// <summary>The group a tag resource ARN names, or the ValidationException AWS answers for any other ARN.</summary>
    public static SchedulerResult<string> GroupOf(string arn)
    {
        var match = GroupArnPattern().Match(arn);
        return match.Success
            ? match.Groups[2].Value
            : SchedulerError.Constraint(arn, "resourceArn", @"Member must satisfy regular expression pattern: ^arn:aws(-[a-z]+)?:scheduler:[a-z0-9\-]+:\d{12}:schedule-group\/[0-9a-zA-Z-_.]+$");
    }

    /// <summary>The <c>Tags</c> member of <paramref name="body"/> (absent: none when <paramref name="required"/> is false).</summary>
    public static SchedulerResult<List<KeyValuePair<string, string>>> Parse(JsonElement body, bool required)
    {
        if (body.ValueKind != JsonValueKind.Object || !body.TryGetProperty("Tags", out var tags) || tags.ValueKind == JsonValueKind.Null)
        {
            return required
                ? SchedulerError.Validation("1 validation error detected: Value null at 'tags' failed to satisfy constraint: Member must not be null")
                : new List<KeyValuePair<string, string>>();
        }

        if (tags.ValueKind != JsonValueKind.Array)
        {
            return SchedulerError.Validation("Tags must be a list of {\"Key\": ..., \"Value\": ...} objects.");
        }

        if (tags.GetArrayLength() > MaxTagsPerRequest)
        {
            return SchedulerError.Constraint($"{tags.GetArrayLength()} tags", "tags", $"Member must have length less than or equal to {MaxTagsPerRequest}");
        }

        var parsed = new List<KeyValuePair<string, string>>();
        var index = 0;
        foreach (var tag in tags.EnumerateArray())
        {
            index++;
            var key = tag.ValueKind == JsonValueKind.Object && tag.TryGetProperty("Key", out var k) && k.ValueKind == JsonValueKind.String ? k.GetString()! : null;
            var value = tag.ValueKind == JsonValueKind.Object && tag.TryGetProperty("Value", out var v) && v.ValueKind == JsonValueKind.String ? v.GetString()! : null;
            if (key is null || value is null)
            {
                return SchedulerError.Validation($"1 validation error detected: Value null at 'tags.{index}.member.{(key is null ? "key" : "value")}' failed to satisfy constraint: Member must not be null");
            }

            if (CheckKey(key, $"tags.{index}.member.key") is { } keyError)
            {
                return keyError;
            }

            if (value.Length is < 1 or > MaxValueLength)
            {
                return SchedulerError.Constraint(value, $"tags.{index}.member.value", $"Member must have length between 1 and {MaxValueLength}");
            }

            parsed.Add(new(key, value));
        }

        return parsed;
    }

    public static SchedulerError? CheckKey(string key, string member) =>
        key.Length is < 1 or > MaxKeyLength ? SchedulerError.Constraint(key, member, $"Member must have length between 1 and {MaxKeyLength}") : null;
}
