using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Nimbus.Logs;

/// <summary>
/// A CloudWatch Logs filter pattern, parsed once and matched against each event's message. Supported: terms
/// (<c>ERROR</c>, case-sensitive substrings, all required), quoted phrases (<c>"Task timed out"</c>), <c>?</c>
/// alternatives (at least one must match), <c>-</c> exclusions, <c>%regex%</c>, and JSON patterns:
/// <c>{ $.a.b[0] = "text*" }</c>, <c>!=</c>, numeric <c>&lt; &gt; &lt;= &gt;= = !=</c>, <c>IS NULL</c>,
/// <c>IS TRUE</c>, <c>IS FALSE</c>, <c>NOT EXISTS</c>, joined with <c>&amp;&amp;</c>, <c>||</c> and parentheses;
/// and space-delimited patterns (<c>[ip, user, ..., status = 404, bytes &gt; 1000]</c>, see
/// <see cref="SpaceDelimitedPattern"/>).
/// </summary>
internal abstract partial class FilterPattern
{
    public static readonly FilterPattern All = new MatchAll();

    public abstract bool Matches(string message);

    /// <summary>Parses a pattern; on failure returns null and says what is wrong in <paramref name="error"/>.</summary>
    public static FilterPattern? Parse(string? text, out string? error)
    {
        error = null;
        var pattern = (text ?? "").Trim();
        if (pattern.Length == 0 || pattern == "\"\"")
        {
            return All;
        }

        try
        {
            if (pattern[0] == '{')
            {
                return new JsonPattern(new JsonPatternParser(pattern).ParseWhole());
            }

            if (pattern[0] == '[')
            {
                return SpaceDelimitedPattern.Parse(pattern);
            }

            if (pattern.Length >= 2 && pattern[0] == '%' && pattern[^1] == '%')
            {
                return new RegexPattern(new Regex(pattern[1..^1], RegexOptions.CultureInvariant, TimeSpan.FromMilliseconds(50)));
            }

            return TermPattern.Parse(pattern);
        }
        catch (FormatException e)
        {
            error = $"Invalid filter pattern '{pattern}': {e.Message}";
            return null;
        }
        catch (ArgumentException e)
        {
            error = $"Invalid filter pattern '{pattern}': {e.Message}";
            return null;
        }
    }

    private sealed class MatchAll : FilterPattern
    {
        public override bool Matches(string message) => true;
    }

    private sealed class RegexPattern(Regex regex) : FilterPattern
    {
        public override bool Matches(string message)
        {
            try
            {
                return regex.IsMatch(message);
            }
            catch (RegexMatchTimeoutException)
            {
                return false;
            }
        }
    }

    /// <summary>Terms: every plain term and none of the <c>-</c> terms, and one of the <c>?</c> terms if there are any.</summary>
    private sealed class TermPattern(List<string> required, List<string> excluded, List<string> optional) : FilterPattern
    {
        public override bool Matches(string message) =>
            required.TrueForAll(t => message.Contains(t, StringComparison.Ordinal))
            && !excluded.Exists(t => message.Contains(t, StringComparison.Ordinal))
            && (optional.Count == 0 || optional.Exists(t => message.Contains(t, StringComparison.Ordinal)));

        public static TermPattern Parse(string pattern)
        {
            List<string> required = [], excluded = [], optional = [];
            var i = 0;
            while (i < pattern.Length)
            {
                if (char.IsWhiteSpace(pattern[i]))
                {
                    i++;
                    continue;
                }

                var target = required;
                if (pattern[i] is '?' or '-')
                {
                    target = pattern[i] == '?' ? optional : excluded;
                    i++;
                    if (i >= pattern.Length || char.IsWhiteSpace(pattern[i]))
                    {
                        throw new FormatException($"'{pattern[i - 1]}' must be followed by a term or a quoted phrase.");
                    }
                }

                string term;
                if (pattern[i] == '"')
                {
                    (term, i) = ReadQuoted(pattern, i);
                }
                else
                {
                    var start = i;
                    while (i < pattern.Length && !char.IsWhiteSpace(pattern[i]))
                    {
                        if (pattern[i] == '"')
                        {
                            throw new FormatException("a quote may only start a term; put the whole phrase in double quotes.");
                        }

                        i++;
                    }

                    term = pattern[start..i];
                }

                if (term.Length > 0)
                {
                    target.Add(term);
                }
            }

            return new TermPattern(required, excluded, optional);
        }
    }

    /// <summary>Reads a double-quoted string starting at <paramref name="start"/>; backslash escapes the next character.</summary>
    internal static (string Text, int Next) ReadQuoted(string pattern, int start)
    {
        var builder = new StringBuilder();
        var i = start + 1;
        while (i < pattern.Length)
        {
            var c = pattern[i];
            if (c == '\\' && i + 1 < pattern.Length)
            {
                builder.Append(pattern[i + 1]);
                i += 2;
                continue;
            }

            if (c == '"')
            {
                return (builder.ToString(), i + 1);
            }

            builder.Append(c);
            i++;
        }

        throw new FormatException("a quoted phrase is missing its closing double quote.");
    }

    private sealed class JsonPattern(JsonNode root) : FilterPattern
    {
        public override bool Matches(string message)
        {
            var text = message.AsSpan().Trim();
            if (text.Length < 2 || text[0] != '{')
            {
                return false;
            }

            try
            {
                using var document = JsonDocument.Parse(message);
                return root.Evaluate(document.RootElement);
            }
            catch (JsonException)
            {
                return false;
            }
        }
    }

    internal abstract class JsonNode
    {
        public abstract bool Evaluate(JsonElement root);
    }

    private sealed class AndNode(JsonNode left, JsonNode right) : JsonNode
    {
        public override bool Evaluate(JsonElement root) => left.Evaluate(root) && right.Evaluate(root);
    }

    private sealed class OrNode(JsonNode left, JsonNode right) : JsonNode
    {
        public override bool Evaluate(JsonElement root) => left.Evaluate(root) || right.Evaluate(root);
    }

    /// <summary>A numeric comparison of JSON and space-delimited patterns: <paramref name="actual"/> against the pattern's value.</summary>
    private static bool CompareNumbers(Comparison comparison, double actual, double expected) => comparison switch
    {
        Comparison.Equal => actual == expected,
        Comparison.NotEqual => actual != expected,
        Comparison.Less => actual < expected,
        Comparison.LessOrEqual => actual <= expected,
        Comparison.Greater => actual > expected,
        Comparison.GreaterOrEqual => actual >= expected,
        _ => throw new ArgumentOutOfRangeException(nameof(comparison), comparison, "not a numeric comparison"),
    };

    internal enum Comparison
    {
        Equal,
        NotEqual,
        Less,
        LessOrEqual,
        Greater,
        GreaterOrEqual,
        IsNull,
        IsTrue,
        IsFalse,
        NotExists,
        Exists,
    }

    private sealed class ComparisonNode(IReadOnlyList<object> path, Comparison comparison, double? number, string? text) : JsonNode
    {
        private readonly Regex? _wildcard = text is not null && text.Contains('*', StringComparison.Ordinal)
            ? new Regex("^" + string.Join(".*", text.Split('*').Select(Regex.Escape)) + "$", RegexOptions.Singleline | RegexOptions.CultureInvariant)
            : null;

        public override bool Evaluate(JsonElement root)
        {
            var found = Select(root, out var value);
            switch (comparison)
            {
                case Comparison.NotExists:
                    return !found;
                case Comparison.Exists:
                    return found;
                case Comparison.IsNull:
                    return found && value.ValueKind == JsonValueKind.Null;
                case Comparison.IsTrue:
                    return found && value.ValueKind == JsonValueKind.True;
                case Comparison.IsFalse:
                    return found && value.ValueKind == JsonValueKind.False;
            }

            if (!found)
            {
                return false;
            }

            if (number is { } expected)
            {
                if (value.ValueKind != JsonValueKind.Number || !value.TryGetDouble(out var actual))
                {
                    return comparison == Comparison.NotEqual && value.ValueKind is not (JsonValueKind.Object or JsonValueKind.Array or JsonValueKind.Null);
                }

                return CompareNumbers(comparison, actual, expected);
            }

            var actualText = value.ValueKind switch
            {
                JsonValueKind.String => value.GetString(),
                JsonValueKind.True => "true",
                JsonValueKind.False => "false",
                _ => null,
            };
            if (actualText is null)
            {
                return false;
            }

            var equal = _wildcard?.IsMatch(actualText) ?? string.Equals(actualText, text, StringComparison.Ordinal);
            return comparison == Comparison.Equal ? equal : !equal;
        }

        private bool Select(JsonElement root, out JsonElement value)
        {
            value = root;
            foreach (var step in path)
            {
                if (step is string property)
                {
                    if (value.ValueKind != JsonValueKind.Object || !value.TryGetProperty(property, out value))
                    {
                        return false;
                    }
                }
                else
                {
                    var index = (int)step;
                    if (value.ValueKind != JsonValueKind.Array || index >= value.GetArrayLength())
                    {
                        return false;
                    }

                    value = value[index];
                }
            }

            return true;
        }
    }

    /// <summary>Recursive descent over <c>{ selector op value (&amp;&amp;|| ...) }</c>.</summary>
    private sealed class JsonPatternParser(string text)
    {
        private int _position;

        public JsonNode ParseWhole()
        {
            Expect('{');
            var node = ParseOr();
            SkipSpace();
            Expect('}');
            SkipSpace();
            if (_position != text.Length)
            {
                throw new FormatException($"unexpected '{text[_position..]}' after the closing brace.");
            }

            return node;
        }

        private JsonNode ParseOr()
        {
            var left = ParseAnd();
            while (TryConsume("||"))
            {
                left = new OrNode(left, ParseAnd());
            }

            return left;
        }

        private JsonNode ParseAnd()
        {
            var left = ParseUnary();
            while (TryConsume("&&"))
            {
                left = new AndNode(left, ParseUnary());
            }

            return left;
        }

        private JsonNode ParseUnary()
        {
            if (TryConsume("("))
            {
                var inner = ParseOr();
                SkipSpace();
                Expect(')');
                return inner;
            }

            return ParseComparison();
        }

        private ComparisonNode ParseComparison()
        {
            SkipSpace();
            var path = ParseSelector();
            SkipSpace();
            if (TryConsumeWord("IS"))
            {
                if (TryConsumeWord("NULL"))
                {
                    return new ComparisonNode(path, Comparison.IsNull, null, null);
                }

                if (TryConsumeWord("TRUE"))
                {
                    return new ComparisonNode(path, Comparison.IsTrue, null, null);
                }

                if (TryConsumeWord("FALSE"))
                {
                    return new ComparisonNode(path, Comparison.IsFalse, null, null);
                }

                throw new FormatException("IS must be followed by NULL, TRUE or FALSE.");
            }

            if (TryConsumeWord("NOT"))
            {
                return TryConsumeWord("EXISTS")
                    ? new ComparisonNode(path, Comparison.NotExists, null, null)
                    : throw new FormatException("NOT must be followed by EXISTS.");
            }

            if (TryConsumeWord("EXISTS"))
            {
                return new ComparisonNode(path, Comparison.Exists, null, null);
            }

            var comparison = TryConsume("!=") ? Comparison.NotEqual
                : TryConsume("<=") ? Comparison.LessOrEqual
                : TryConsume(">=") ? Comparison.GreaterOrEqual
                : TryConsume("=") ? Comparison.Equal
                : TryConsume("<") ? Comparison.Less
                : TryConsume(">") ? Comparison.Greater
                : throw new FormatException($"expected a comparison (=, !=, <, <=, >, >=, IS NULL, NOT EXISTS) at position {_position}.");
            SkipSpace();
            if (_position >= text.Length)
            {
                throw new FormatException("a comparison is missing its value.");
            }

            string value;
            var quoted = text[_position] == '"';
            if (quoted)
            {
                (value, _position) = ReadQuoted(text, _position);
            }
            else
            {
                var start = _position;
                while (_position < text.Length && !char.IsWhiteSpace(text[_position]) && text[_position] is not ('}' or ')' or '&' or '|'))
                {
                    _position++;
                }

                value = text[start.._position];
                if (value.Length == 0)
                {
                    throw new FormatException("a comparison is missing its value.");
                }
            }

            var isNumber = !quoted && double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var number);
            if (!isNumber && comparison is not (Comparison.Equal or Comparison.NotEqual))
            {
                throw new FormatException($"'{value}' is not a number; <, <=, > and >= compare numbers.");
            }

            return isNumber
                ? new ComparisonNode(path, comparison, double.Parse(value, NumberStyles.Float, CultureInfo.InvariantCulture), null)
                : new ComparisonNode(path, comparison, null, value);
        }

        private List<object> ParseSelector()
        {
            Expect('$');
            var path = new List<object>();
            while (_position < text.Length)
            {
                var c = text[_position];
                if (c == '.')
                {
                    _position++;
                    var start = _position;
                    while (_position < text.Length && (char.IsLetterOrDigit(text[_position]) || text[_position] is '_' or '-' or '@' or ':'))
                    {
                        _position++;
                    }

                    if (_position == start)
                    {
                        throw new FormatException($"a selector needs a property name after '.' at position {start}.");
                    }

                    path.Add(text[start.._position]);
                }
                else if (c == '[')
                {
                    _position++;
                    var start = _position;
                    while (_position < text.Length && char.IsAsciiDigit(text[_position]))
                    {
                        _position++;
                    }

                    if (_position == start)
                    {
                        throw new FormatException($"an array index must be a number at position {start}.");
                    }

                    path.Add(int.TryParse(text[start.._position], NumberStyles.None, CultureInfo.InvariantCulture, out var index)
                        ? index
                        : throw new FormatException($"the array index at position {start} is too large."));
                    Expect(']');
                }
                else
                {
                    break;
                }
            }

            return path.Count > 0 ? path : throw new FormatException("a selector must name a field, such as $.level.");
        }

        private void SkipSpace()
        {
            while (_position < text.Length && char.IsWhiteSpace(text[_position]))
            {
                _position++;
            }
        }

        private void Expect(char c)
        {
            SkipSpace();
            if (_position >= text.Length || text[_position] != c)
            {
                throw new FormatException($"expected '{c}' at position {_position}.");
            }

            _position++;
        }

        private bool TryConsume(string token)
        {
            SkipSpace();
            if (string.CompareOrdinal(text, _position, token, 0, token.Length) != 0)
            {
                return false;
            }

            _position += token.Length;
            return true;
        }

        private bool TryConsumeWord(string word)
        {
            SkipSpace();
            var end = _position + word.Length;
            if (end > text.Length || string.Compare(text, _position, word, 0, word.Length, StringComparison.OrdinalIgnoreCase) != 0
                || (end < text.Length && char.IsLetterOrDigit(text[end])))
            {
                return false;
            }

            _position = end;
            return true;
        }
    }
}
