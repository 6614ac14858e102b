using System.Globalization;
using System.Net;
using System.Text.Json;

namespace Nimbus.Security;

/// <summary>The comparison of a condition operator, without its <c>ForAnyValue:</c>/<c>ForAllValues:</c> prefix and <c>IfExists</c> suffix.</summary>
internal enum ConditionComparison
{
    StringEquals,
    StringEqualsIgnoreCase,
    StringLike,
    ArnLike,
    Bool,
    NumericEquals,
    NumericLessThan,
    NumericLessThanEquals,
    NumericGreaterThan,
    NumericGreaterThanEquals,
    DateEquals,
    DateLessThan,
    DateLessThanEquals,
    DateGreaterThan,
    DateGreaterThanEquals,
    IpAddress,
    Null,
}

/// <summary>How a condition treats a key with several values.</summary>
internal enum ConditionSet
{
    Single,
    ForAnyValue,
    ForAllValues,
}

/// <summary>
/// One key of a <c>Condition</c> block, e.g. <c>"StringNotEqualsIfExists": {"aws:SourceAccount": ["1", "2"]}</c>:
/// the comparison, whether it is negated (StringNotEquals, ArnNotLike, NotIpAddress...), <c>IfExists</c>, the set
/// qualifier, the key and the policy's values (any of which may match).
/// </summary>
internal sealed record PolicyCondition(
    string Operator,
    ConditionComparison Comparison,
    bool Negated,
    bool IfExists,
    ConditionSet Set,
    string Key,
    IReadOnlyList<string> Values)
{
    private static readonly Dictionary<string, (ConditionComparison Comparison, bool Negated)> Operators = new(StringComparer.Ordinal)
    {
        ["StringEquals"] = (ConditionComparison.StringEquals, false),
        ["StringNotEquals"] = (ConditionComparison.StringEquals, true),
        ["StringEqualsIgnoreCase"] = (ConditionComparison.StringEqualsIgnoreCase, false),
        ["StringNotEqualsIgnoreCase"] = (ConditionComparison.StringEqualsIgnoreCase, true),
        ["StringLike"] = (ConditionComparison.StringLike, false),
        ["StringNotLike"] = (ConditionComparison.StringLike, true),
        ["ArnEquals"] = (ConditionComparison.ArnLike, false),
        ["ArnLike"] = (ConditionComparison.ArnLike, false),
        ["ArnNotEquals"] = (ConditionComparison.ArnLike, true),
        ["ArnNotLike"] = (ConditionComparison.ArnLike, true),
        ["Bool"] = (ConditionComparison.Bool, false),
        ["NumericEquals"] = (ConditionComparison.NumericEquals, false),
        ["NumericNotEquals"] = (ConditionComparison.NumericEquals, true),
        ["NumericLessThan"] = (ConditionComparison.NumericLessThan, false),
        ["NumericLessThanEquals"] = (ConditionComparison.NumericLessThanEquals, false),
        ["NumericGreaterThan"] = (ConditionComparison.NumericGreaterThan, false),
        ["NumericGreaterThanEquals"] = (ConditionComparison.NumericGreaterThanEquals, false),
        ["DateEquals"] = (ConditionComparison.DateEquals, false),
        ["DateNotEquals"] = (ConditionComparison.DateEquals, true),
        ["DateLessThan"] = (ConditionComparison.DateLessThan, false),
        ["DateLessThanEquals"] = (ConditionComparison.DateLessThanEquals, false),
        ["DateGreaterThan"] = (ConditionComparison.DateGreaterThan, false),
        ["DateGreaterThanEquals"] = (ConditionComparison.DateGreaterThanEquals, false),
        ["IpAddress"] = (ConditionComparison.IpAddress, false),
        ["NotIpAddress"] = (ConditionComparison.IpAddress, true),
        ["Null"] = (ConditionComparison.Null, false),
    };

    /// <summary>Reads a statement's <c>Condition</c> element; an operator, value or shape Nimbus does not support is an error (the policy is refused).</summary>
    public static List<PolicyCondition>? ParseBlock(JsonElement block, out string? error)
    {
        error = null;
        if (block.ValueKind != JsonValueKind.Object)
        {
            error = "Condition must be a JSON object of operators, such as {\"StringEquals\": {\"aws:SourceAccount\": \"000000000000\"}}.";
            return null;
        }

        var conditions = new List<PolicyCondition>();
        foreach (var op in block.EnumerateObject())
        {
            var name = op.Name;
            var set = ConditionSet.Single;
            if (name.StartsWith("ForAnyValue:", StringComparison.Ordinal))
            {
                set = ConditionSet.ForAnyValue;
                name = name["ForAnyValue:".Length..];
            }
            else if (name.StartsWith("ForAllValues:", StringComparison.Ordinal))
            {
                set = ConditionSet.ForAllValues;
                name = name["ForAllValues:".Length..];
            }

            var ifExists = name.EndsWith("IfExists", StringComparison.Ordinal) && name != "IfExists";
            if (ifExists)
            {
                name = name[..^"IfExists".Length];
            }

            if (!Operators.TryGetValue(name, out var known) || (known.Comparison == ConditionComparison.Null && (ifExists || set != ConditionSet.Single)))
            {
                error = $"Condition operator '{op.Name}' is not supported by Nimbus; use one of the String, Arn, Bool, Numeric, Date, IpAddress or Null operators (see docs/security.md).";
                return null;
            }

            if (op.Value.ValueKind != JsonValueKind.Object || !op.Value.EnumerateObject().Any())
            {
                error = $"Condition operator '{op.Name}' must map condition keys to values.";
                return null;
            }

            foreach (var key in op.Value.EnumerateObject())
            {
                var values = ReadValues(key.Value);
                if (values is null || values.Count == 0)
                {
                    error = $"The values of condition key '{key.Name}' under '{op.Name}' must be a string, number, boolean or a non-empty list of them.";
                    return null;
                }

                foreach (var value in values)
                {
                    if (!IsValidValue(known.Comparison, value))
                    {
                        error = $"'{value}' is not a valid value for condition operator '{op.Name}' (key '{key.Name}').";
                        return null;
                    }
                }

                conditions.Add(new PolicyCondition(op.Name, known.Comparison, known.Negated, ifExists, set, key.Name, values));
            }
        }

        return conditions;
    }

    private static List<string>? ReadValues(JsonElement element)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Array:
                var list = new List<string>();
                foreach (var item in element.EnumerateArray())
                {
                    if (Scalar(item) is not { } text)
                    {
                        return null;
                    }

                    list.Add(text);
                }

                return list;
            default:
                return Scalar(element) is { } single ? [single] : null;
        }
    }

    private static string? Scalar(JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.String => element.GetString(),
        JsonValueKind.Number => element.GetRawText(),
        JsonValueKind.True => "true",
        JsonValueKind.False => "false",
        _ => null,
    };

    private static bool IsValidValue(ConditionComparison comparison, string value) => comparison switch
    {
        ConditionComparison.Bool or ConditionComparison.Null => bool.TryParse(value, out _),
        ConditionComparison.NumericEquals or ConditionComparison.NumericLessThan or ConditionComparison.NumericLessThanEquals
            or ConditionComparison.NumericGreaterThan or ConditionComparison.NumericGreaterThanEquals => TryNumber(value, out _),
        ConditionComparison.DateEquals or ConditionComparison.DateLessThan or ConditionComparison.DateLessThanEquals
            or ConditionComparison.DateGreaterThan or ConditionComparison.DateGreaterThanEquals => TryDate(value, out _),
        ConditionComparison.IpAddress => IpRange.TryParse(value, out _),
        _ => true,
    };

    /// <summary>
    /// Whether this condition holds for <paramref name="context"/>. A key Nimbus never supplies
    /// (<see cref="AuthorizationContext.IsKnownKey"/>) gives <paramref name="unknownKeyResult"/>: false for an Allow
    /// statement, true for a Deny, so a condition Nimbus cannot evaluate never widens access. A known key absent from
    /// the request follows IAM: true with IfExists, ForAllValues: or a negated operator, else false. Policy variables
    /// in the values are replaced only with <paramref name="expandVariables"/> (a <c>2012-10-17</c> policy).
    /// </summary>
    public bool Holds(Principal principal, AuthorizationContext? context, bool unknownKeyResult, bool expandVariables = true)
    {
        if (!AuthorizationContext.IsKnownKey(Key))
        {
            return unknownKeyResult;
        }

        var actual = AuthorizationContext.ValuesOf(Key, principal, context);
        if (Comparison == ConditionComparison.Null)
        {
            var wantsMissing = bool.Parse(Values[0]);
            return wantsMissing == (actual is null || actual.Count == 0);
        }

        if (actual is null || actual.Count == 0)
        {
            return IfExists || Negated || Set == ConditionSet.ForAllValues;
        }

        // Policy variables (${aws:username}) in string and ARN values take the request's values; one without a value matches nothing.
        var expected = Values;
        if (expandVariables
            && Comparison is ConditionComparison.StringEquals or ConditionComparison.StringEqualsIgnoreCase or ConditionComparison.StringLike or ConditionComparison.ArnLike
            && Values.Any(PolicyVariables.HasVariables))
        {
            expected = [.. Values.Select(v => PolicyVariables.Substitute(v, principal, context)).OfType<string>()];
        }

        return Set switch
        {
            ConditionSet.ForAllValues => actual.All(a => MatchesAny(expected, a) != Negated),
            ConditionSet.ForAnyValue => actual.Any(a => MatchesAny(expected, a) != Negated),

            // A single-valued key: a negated operator holds when no policy value matches.
            _ => Negated ? !actual.Any(a => MatchesAny(expected, a)) : actual.Any(a => MatchesAny(expected, a)),
        };
    }

    private bool MatchesAny(IReadOnlyList<string> values, string actual)
    {
        foreach (var expected in values)
        {
            if (Matches(expected, actual))
            {
                return true;
            }
        }

        return false;
    }

    private bool Matches(string expected, string actual)
    {
        switch (Comparison)
        {
            case ConditionComparison.StringEquals:
                return string.Equals(expected, actual, StringComparison.Ordinal);
            case ConditionComparison.StringEqualsIgnoreCase:
                return string.Equals(expected, actual, StringComparison.OrdinalIgnoreCase);
            case ConditionComparison.StringLike:
                return Wildcard.Matches(expected, actual, ignoreCase: false);
            case ConditionComparison.ArnLike:
                return ArnMatches(expected, actual);
            case ConditionComparison.Bool:
                return string.Equals(expected, actual, StringComparison.OrdinalIgnoreCase);
            case ConditionComparison.IpAddress:
                return IpRange.TryParse(expected, out var range) && IPAddress.TryParse(actual, out var address) && range.Contains(address);
            case ConditionComparison.NumericEquals or ConditionComparison.NumericLessThan or ConditionComparison.NumericLessThanEquals
                or ConditionComparison.NumericGreaterThan or ConditionComparison.NumericGreaterThanEquals:
                return TryNumber(expected, out var e) && TryNumber(actual, out var a) && Compare(a.CompareTo(e));
            default:
                return TryDate(expected, out var ed) && TryDate(actual, out var ad) && Compare(ad.CompareTo(ed));
        }
    }

    private bool Compare(int order) => Comparison switch
    {
        ConditionComparison.NumericEquals or ConditionComparison.DateEquals => order == 0,
        ConditionComparison.NumericLessThan or ConditionComparison.DateLessThan => order < 0,
        ConditionComparison.NumericLessThanEquals or ConditionComparison.DateLessThanEquals => order <= 0,
        ConditionComparison.NumericGreaterThan or ConditionComparison.DateGreaterThan => order > 0,
        _ => order >= 0,
    };

    /// <summary>ArnLike/ArnEquals: each of the six colon-separated parts matched on its own (a wildcard does not cross a colon, except in the last part).</summary>
    private static bool ArnMatches(string pattern, string arn)
    {
        var p = pattern.Split(':', 6);
        var a = arn.Split(':', 6);
        if (p.Length != 6 || a.Length != 6)
        {
            return false;
        }

        for (var i = 0; i < 6; i++)
        {
            if (!Wildcard.Matches(p[i], a[i], ignoreCase: false))
            {
                return false;
            }
        }

        return true;
    }

    private static bool TryNumber(string text, out double value) =>
        double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out value);

    /// <summary>IAM dates: ISO 8601 (<c>2026-01-01T00:00:00Z</c>, a date alone) or epoch seconds.</summary>
    internal static bool TryDate(string text, out DateTimeOffset value)
    {
        if (long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var epoch))
        {
            value = DateTimeOffset.FromUnixTimeSeconds(Math.Clamp(epoch, -62135596800, 253402300799));
            return true;
        }

        return DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out value);
    }
}

/// <summary>An IP address or CIDR block (IPv4 or IPv6), as IpAddress/NotIpAddress take them.</summary>
internal readonly record struct IpRange(byte[] Network, int PrefixLength)
{
    public static bool TryParse(string text, out IpRange range)
    {
        range = default;
        var slash = text.IndexOf('/', StringComparison.Ordinal);
        if (!IPAddress.TryParse(slash < 0 ? text : text[..slash], out var address))
        {
            return false;
        }

        var bytes = address.GetAddressBytes();
        var prefix = bytes.Length * 8;
        if (slash >= 0 && (!int.TryParse(text[(slash + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out prefix) || prefix > bytes.Length * 8))
        {
            return false;
        }

        range = new IpRange(bytes, prefix);
        return true;
    }

    public bool Contains(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6 && Network.Length == 4)
        {
            address = address.MapToIPv4();
        }

        var bytes = address.GetAddressBytes();
        if (bytes.Length != Network.Length)
        {
            return false;
        }

        var bits = PrefixLength;
        for (var i = 0; i < bytes.Length && bits > 0; i++, bits -= 8)
        {
            var mask = bits >= 8 ? 0xFF : (byte)(0xFF << (8 - bits));
            if ((bytes[i] & mask) != (Network[i] & mask))
            {
                return false;
            }
        }

        return true;
    }
}
