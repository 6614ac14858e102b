using System.Collections.Frozen;
using System.Text.Json;

namespace Nimbus.Logs;

/// <summary>What a CloudWatch Logs operation acts on, for its IAM check.</summary>
internal enum LogsResourceKind
{
    /// <summary>Every log group of the account: <c>arn:aws:logs:&lt;region&gt;:&lt;account&gt;:log-group:*</c>.</summary>
    AllGroups,

    /// <summary>The log group: <c>arn:aws:logs:&lt;region&gt;:&lt;account&gt;:log-group:&lt;name&gt;:*</c> (the ARN DescribeLogGroups returns).</summary>
    Group,

    /// <summary>A log stream: <c>arn:aws:logs:&lt;region&gt;:&lt;account&gt;:log-group:&lt;name&gt;:log-stream:&lt;stream&gt;</c>.</summary>
    Stream,
}

/// <summary>
/// The IAM action of every CloudWatch Logs operation Nimbus serves (<c>logs:&lt;Operation&gt;</c>, as AWS names them)
/// and the resource it acts on. A policy on <c>log-group:&lt;name&gt;:*</c> covers the group and its streams, as AWS's
/// documentation asks for.
/// </summary>
internal static class LogsActions
{
    private static readonly FrozenDictionary<string, (string Action, LogsResourceKind Resource)> Table = new Dictionary<string, (string, LogsResourceKind)>(StringComparer.Ordinal)
    {
        ["CreateLogGroup"] = ("logs:CreateLogGroup", LogsResourceKind.Group),
        ["DeleteLogGroup"] = ("logs:DeleteLogGroup", LogsResourceKind.Group),
        ["DescribeLogGroups"] = ("logs:DescribeLogGroups", LogsResourceKind.AllGroups),
        ["CreateLogStream"] = ("logs:CreateLogStream", LogsResourceKind.Stream),
        ["DeleteLogStream"] = ("logs:DeleteLogStream", LogsResourceKind.Stream),
        ["DescribeLogStreams"] = ("logs:DescribeLogStreams", LogsResourceKind.Group),
        ["PutLogEvents"] = ("logs:PutLogEvents", LogsResourceKind.Stream),
        ["GetLogEvents"] = ("logs:GetLogEvents", LogsResourceKind.Stream),
        ["FilterLogEvents"] = ("logs:FilterLogEvents", LogsResourceKind.Group),
        ["PutRetentionPolicy"] = ("logs:PutRetentionPolicy", LogsResourceKind.Group),
        ["DeleteRetentionPolicy"] = ("logs:DeleteRetentionPolicy", LogsResourceKind.Group),
    }.ToFrozenDictionary(StringComparer.Ordinal);

    /// <summary>The action and resource kind of an operation; one Nimbus does not serve is checked as <c>logs:&lt;Operation&gt;</c> on every group.</summary>
    public static (string Action, LogsResourceKind Resource) Of(string operation) =>
        Table.TryGetValue(operation, out var entry) ? entry : ("logs:" + operation, LogsResourceKind.AllGroups);

    /// <summary>The resource ARN of a request body (logGroupName or logGroupIdentifier, logStreamName).</summary>
    public static string ResourceArn(LogsResourceKind kind, JsonElement body, string region, string accountId)
    {
        var prefix = $"arn:aws:logs:{region}:{accountId}:log-group:";
        var group = GroupName(body);
        return kind switch
        {
            LogsResourceKind.AllGroups => prefix + "*",
            LogsResourceKind.Group => $"{prefix}{group}:*",
            _ => $"{prefix}{group}:log-stream:{Text(body, "logStreamName")}",
        };
    }

    private static string GroupName(JsonElement body)
    {
        if (Text(body, "logGroupName") is { } name)
        {
            return name;
        }

        var identifier = Text(body, "logGroupIdentifier") ?? "";
        const string marker = ":log-group:";
        var at = identifier.IndexOf(marker, StringComparison.Ordinal);
        var group = identifier.StartsWith("arn:", StringComparison.Ordinal) && at >= 0 ? identifier[(at + marker.Length)..] : identifier;
        return group.EndsWith(":*", StringComparison.Ordinal) ? group[..^2] : group;
    }

    private static string? Text(JsonElement body, string name) =>
        body.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
}
