using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Nimbus.Events;

/// <summary>
/// The subset of Lambda's event filtering (EventBridge pattern syntax) Nimbus applies to SQS records: a pattern is
/// a JSON object whose leaves are arrays of matchers: exact strings, numbers, booleans or null, and
/// <c>{"prefix"}</c>, <c>{"suffix"}</c>, <c>{"exists"}</c>, <c>{"anything-but"}</c>, <c>{"numeric"}</c>. A record
/// matches when every key of the pattern matches; <c>body</c> is matched as JSON when the body is a JSON object.
/// </summary>
internal sealed class EventFilterPattern
{
    private readonly JsonObject _pattern;

    private EventFilterPattern(JsonObject pattern) => _pattern = pattern;

    public static bool TryParse(string text, out EventFilterPattern? pattern, out string reason)
    {
        pattern = null;
        JsonNode? node;
        try
        {
            node = JsonNode.Parse(text);
        }
        catch (JsonException e)
        {
            reason = $"The pattern is not JSON: {e.Message}";
            return false;
        }

        if (node is not JsonObject root)
        {
            reason = "The pattern must be a JSON object.";
            return false;
        }

        if (Check(root) is { } error)
        {
            reason = error;
            return false;
        }

        pattern = new EventFilterPattern(root);
        reason = "";
        return true;
    }

    /// <summary>True when the record (a JSON object of one SQS record, body already parsed when it is JSON) matches.</summary>
    public bool Matches(JsonObject record) => MatchObject(_pattern, record);

    private static string? Check(JsonObject pattern)
    {
        foreach (var (key, value) in pattern)
        {
            switch (value)
            {
                case JsonObject nested:
                    if (Check(nested) is { } error)
                    {
                        return error;
                    }

                    break;
                case JsonArray matchers:
                    foreach (var matcher in matchers)
                    {
                        if (matcher is JsonObject rule && (rule.Count != 1 || rule.First().Key is not ("prefix" or "suffix" or "exists" or "anything-but" or "numeric")))
                        {
                            return $"Unsupported matcher at '{key}': {rule.ToJsonString()}. Use prefix, suffix, exists, anything-but or numeric.";
                        }
                    }

                    break;
                default:
                    return $"The value of '{key}' must be an array of matchers or an object.";
            }
        }

        return null;
    }

    private static bool MatchObject(JsonObject pattern, JsonObject? value)
    {
        foreach (var (key, expected) in pattern)
        {
            JsonNode? actual = null;
            var present = value is not null && value.TryGetPropertyValue(key, out actual);
            var matched = expected switch
            {
                JsonObject nested => present && actual is JsonObject child && MatchObject(nested, child),
                JsonArray matchers => MatchLeaf(matchers, present, actual),
                _ => false,
            };
            if (!matched)
            {
                return false;
            }
        }

        return true;
    }

    private static bool MatchLeaf(JsonArray matchers, bool present, JsonNode? actual)
    {
        // An array value matches when any of its elements does.
        if (actual is JsonArray values)
        {
            return values.Any(v => MatchLeaf(matchers, true, v));
        }

        foreach (var matcher in matchers)
        {
            if (matcher is JsonObject rule)
            {
                var (name, argument) = rule.First();
                var ok = name switch
                {
                    "exists" => argument?.GetValue<bool>() == present,
                    "prefix" => present && Text(actual) is { } s && s.StartsWith(argument!.GetValue<string>(), StringComparison.Ordinal),
                    "suffix" => present && Text(actual) is { } t && t.EndsWith(argument!.GetValue<string>(), StringComparison.Ordinal),
                    "anything-but" => present && !(argument is JsonArray excluded ? excluded.Any(e => Same(e, actual)) : Same(argument, actual)),
                    "numeric" => present && Number(actual) is { } n && argument is JsonArray comparisons && Numeric(comparisons, n),
                    _ => false,
                };
                if (ok)
                {
                    return true;
                }
            }
            else if (present && Same(matcher, actual))
            {
                return true;
            }
        }

        return false;
    }

    private static bool Numeric(JsonArray comparisons, double value)
    {
        for (var i = 0; i + 1 < comparisons.Count; i += 2)
        {
            var bound = comparisons[i + 1]!.GetValue<double>();
            var ok = comparisons[i]!.GetValue<string>() switch
            {
                "=" => value == bound,
                "<" => value < bound,
                "<=" => value <= bound,
                ">" => value > bound,
                ">=" => value >= bound,
                _ => false,
            };
            if (!ok)
            {
                return false;
            }
        }

        return true;
    }

    private static bool Same(JsonNode? expected, JsonNode? actual)
    {
        if (expected is null || actual is null)
        {
            return expected is null && actual is null;
        }

        if (Number(expected) is { } a && Number(actual) is { } b && expected.GetValueKind() == JsonValueKind.Number && actual.GetValueKind() == JsonValueKind.Number)
        {
            return a == b;
        }

        return expected.GetValueKind() == actual.GetValueKind() && expected.ToJsonString() == actual.ToJsonString();
    }

    private static string? Text(JsonNode? node) => node is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : null;

    private static double? Number(JsonNode? node) =>
        node is JsonValue v && v.GetValueKind() == JsonValueKind.Number
            ? double.Parse(v.ToJsonString(), CultureInfo.InvariantCulture)
            : null;
}
