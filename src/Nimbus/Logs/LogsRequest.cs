using System.Globalization;
using System.Text.Json;

namespace Nimbus.Logs;

/// <summary>An error of the CloudWatch Logs API: <c>{"__type","message"}</c> with a 400 unless said otherwise.</summary>
internal sealed record LogsError(string Type, string Message, int StatusCode = 400)
{
    public static LogsError Invalid(string message) => new(LogsWire.InvalidParameter, message);

    /// <summary>AWS's wording for a member that breaks its constraint.</summary>
    public static LogsError Constraint(string? value, string member, string constraint) =>
        new(LogsWire.InvalidParameter, $"1 validation error detected: Value {(value is null ? "null" : $"'{value}'")} at '{member}' failed to satisfy constraint: {constraint}");

    public static LogsError GroupNotFound { get; } = new(LogsWire.ResourceNotFound, LogsWire.GroupNotFoundMessage);

    public static LogsError StreamNotFound { get; } = new(LogsWire.ResourceNotFound, LogsWire.StreamNotFoundMessage);

    public static LogsError BadToken { get; } = new(LogsWire.InvalidParameter, "The specified nextToken is invalid.");
}

/// <summary>
/// Typed access to a request's JSON members. A member of the wrong JSON type records a
/// <c>SerializationException</c> in <see cref="Error"/> (the first one wins) and reads as absent.
/// </summary>
internal sealed class LogsRequest(JsonElement root)
{
    public LogsError? Error { get; private set; }

    public string? String(string name)
    {
        if (!root.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (value.ValueKind != JsonValueKind.String)
        {
            Fail(name, "a string");
            return null;
        }

        return value.GetString();
    }

    public long? Long(string name)
    {
        if (!root.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt64(out var number))
        {
            Fail(name, "an integer");
            return null;
        }

        return number;
    }

    public bool? Bool(string name)
    {
        if (!root.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (value.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
        {
            Fail(name, "a boolean");
            return null;
        }

        return value.GetBoolean();
    }

    public List<string>? Strings(string name)
    {
        if (!root.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (value.ValueKind != JsonValueKind.Array || value.EnumerateArray().Any(e => e.ValueKind != JsonValueKind.String))
        {
            Fail(name, "a list of strings");
            return null;
        }

        return [.. value.EnumerateArray().Select(e => e.GetString()!)];
    }

    /// <summary>PutLogEvents' <c>logEvents</c>: (timestamp, message) pairs; a missing member is a validation error.</summary>
    public List<(long? Timestamp, string? Message)>? Events(string name)
    {
        if (!root.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (value.ValueKind != JsonValueKind.Array)
        {
            Fail(name, "a list of log events");
            return null;
        }

        var events = new List<(long?, string?)>();
        foreach (var item in value.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Object)
            {
                Fail(name, "a list of log events");
                return null;
            }

            long? timestamp = item.TryGetProperty("timestamp", out var t) && t.ValueKind == JsonValueKind.Number && t.TryGetInt64(out var ms) ? ms : null;
            string? message = item.TryGetProperty("message", out var m) && m.ValueKind == JsonValueKind.String ? m.GetString() : null;
            events.Add((timestamp, message));
        }

        return events;
    }

    private void Fail(string name, string expected) =>
        Error ??= new LogsError(LogsWire.Serialization, $"'{name}' must be {expected}.");

    public static string Invariant(long value) => value.ToString(CultureInfo.InvariantCulture);
}
