using System.Globalization;
using System.Text.RegularExpressions;

namespace Nimbus.Logs;

internal abstract partial class FilterPattern
{
    /// <summary>
    /// A space-delimited pattern, as CloudWatch Logs reads it: <c>[ip, user, ..., status_code = 404, bytes &gt; 1000]</c>.
    /// The event is split into fields at spaces; text in double quotes or square brackets is one field (without its
    /// quotes or brackets). Each pattern field names one event field; <c>...</c> stands for any number of fields, and
    /// without one the event must have exactly as many fields as the pattern. A field may carry conditions on itself or
    /// on other named fields: <c>=</c> and <c>!=</c> (text with <c>*</c> wildcards, a quoted text, <c>%regex%</c>, or a
    /// number), <c>&lt; &lt;= &gt; &gt;=</c> (numbers), joined with <c>&amp;&amp;</c> (binds first) and <c>||</c>.
    /// </summary>
    internal sealed class SpaceDelimitedPattern : FilterPattern
    {
        /// <summary>Alignments tried per event before it counts as no match (ellipses make the search combinatorial).</summary>
        private const int MaxSteps = 10_000;

        private readonly Field[] _fields;

        private SpaceDelimitedPattern(Field[] fields) => _fields = fields;

        public override bool Matches(string message)
        {
            var values = Split(message);
            var bound = new int[_fields.Length];
            var steps = 0;
            return Align(0, 0, values, bound, ref steps);
        }

        public static SpaceDelimitedPattern Parse(string pattern)
        {
            if (pattern[^1] != ']')
            {
                throw new FormatException("a space-delimited pattern must end with ']'.");
            }

            var pieces = SplitFields(pattern[1..^1]);
            var names = new List<string?>(pieces.Count);
            var conditions = new List<string?>(pieces.Count);
            foreach (var raw in pieces)
            {
                var piece = raw.Trim();
                if (piece == "...")
                {
                    names.Add(null);
                    conditions.Add(null);
                    continue;
                }

                var end = 0;
                while (end < piece.Length && IsNameChar(piece[end]))
                {
                    end++;
                }

                if (end == 0)
                {
                    throw new FormatException($"each field needs a name (letters, digits, '_') or '...'; '{piece}' has none.");
                }

                names.Add(piece[..end]);
                conditions.Add(piece[end..].Trim().Length > 0 ? piece : null);
            }

            if (names.Count == 0)
            {
                throw new FormatException("a space-delimited pattern needs at least one field.");
            }

            var fields = new Field[names.Count];
            for (var i = 0; i < names.Count; i++)
            {
                fields[i] = names[i] is null
                    ? new Field(null, null)
                    : new Field(names[i], conditions[i] is { } text ? new ConditionParser(text, names, i).ParseWhole() : null);
            }

            return new SpaceDelimitedPattern(fields);
        }

        /// <summary>The event's fields: runs of non-space text, or one quoted or bracketed stretch each.</summary>
        internal static List<string> Split(string message)
        {
            var values = new List<string>();
            var i = 0;
            while (i < message.Length)
            {
                var c = message[i];
                if (c is ' ' or '\t')
                {
                    i++;
                    continue;
                }

                var close = c switch { '"' => '"', '[' => ']', _ => '\0' };
                if (close != '\0' && message.IndexOf(close, i + 1) is var end and > 0)
                {
                    values.Add(message[(i + 1)..end]);
                    i = end + 1;
                    continue;
                }

                var start = i;
                while (i < message.Length && message[i] is not (' ' or '\t'))
                {
                    i++;
                }

                values.Add(message[start..i]);
            }

            return values;
        }

        private bool Align(int field, int value, List<string> values, int[] bound, ref int steps)
        {
            if (++steps > MaxSteps)
            {
                return false;
            }

            if (field == _fields.Length)
            {
                if (value != values.Count)
                {
                    return false;
                }

                foreach (var f in _fields)
                {
                    if (f.Condition is { SelfOnly: false } condition && !condition.Evaluate(values, bound))
                    {
                        return false;
                    }
                }

                return true;
            }

            var current = _fields[field];
            if (current.Name is null)
            {
                bound[field] = -1;
                for (var next = value; next <= values.Count; next++)
                {
                    if (Align(field + 1, next, values, bound, ref steps))
                    {
                        return true;
                    }
                }

                return false;
            }

            if (value >= values.Count)
            {
                return false;
            }

            bound[field] = value;
            return (current.Condition is not { SelfOnly: true } self || self.Evaluate(values, bound))
                && Align(field + 1, value + 1, values, bound, ref steps);
        }

        /// <summary>Splits the inside of the brackets at commas outside quotes and <c>%regex%</c>.</summary>
        private static List<string> SplitFields(string inside)
        {
            var pieces = new List<string>();
            var start = 0;
            var quote = '\0';
            for (var i = 0; i < inside.Length; i++)
            {
                var c = inside[i];
                if (quote != '\0')
                {
                    if (c == '\\' && quote == '"')
                    {
                        i++;
                    }
                    else if (c == quote)
                    {
                        quote = '\0';
                    }
                }
                else if (c is '"' or '%')
                {
                    quote = c;
                }
                else if (c == ',')
                {
                    pieces.Add(inside[start..i]);
                    start = i + 1;
                }
            }

            if (quote != '\0')
            {
                throw new FormatException(quote == '"' ? "a quoted value is missing its closing double quote." : "a %regex% is missing its closing '%'.");
            }

            pieces.Add(inside[start..]);
            if (pieces.Exists(p => p.Trim().Length == 0))
            {
                throw new FormatException("a field is empty; separate field names with single commas.");
            }

            return pieces;
        }

        private static bool IsNameChar(char c) => char.IsAsciiLetterOrDigit(c) || c == '_';

        private sealed record Field(string? Name, Condition? Condition);

        /// <summary>A field's conditions: OR of AND groups; <see cref="SelfOnly"/> when they name only their own field.</summary>
        private sealed class Condition(List<List<FieldComparison>> anyOf, bool selfOnly)
        {
            public bool SelfOnly { get; } = selfOnly;

            public bool Evaluate(List<string> values, int[] bound) =>
                anyOf.Exists(all => all.TrueForAll(c => c.Evaluate(values[bound[c.Field]])));
        }

        private sealed class FieldComparison(int field, Comparison op, double? number, string? text, Regex? regex)
        {
            public int Field { get; } = field;

            public bool Evaluate(string value)
            {
                if (number is { } expected)
                {
                    if (!double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var actual))
                    {
                        return op == Comparison.NotEqual;
                    }

                    return CompareNumbers(op, actual, expected);
                }

                bool equal;
                try
                {
                    equal = regex?.IsMatch(value) ?? string.Equals(value, text, StringComparison.Ordinal);
                }
                catch (RegexMatchTimeoutException)
                {
                    equal = false;
                }

                return op == Comparison.Equal ? equal : !equal;
            }
        }

        /// <summary>Parses one field's <c>name op value ((&amp;&amp;|||) name op value)*</c>.</summary>
        private sealed class ConditionParser(string text, List<string?> names, int owner)
        {
            private int _position;
            private bool _selfOnly = true;

            public Condition ParseWhole()
            {
                var anyOf = new List<List<FieldComparison>> { new() { ParseComparison() } };
                while (true)
                {
                    SkipSpace();
                    if (_position >= text.Length)
                    {
                        return new Condition(anyOf, _selfOnly);
                    }

                    if (TryConsume("&&"))
                    {
                        anyOf[^1].Add(ParseComparison());
                    }
                    else if (TryConsume("||"))
                    {
                        anyOf.Add([ParseComparison()]);
                    }
                    else
                    {
                        throw new FormatException($"expected '&&', '||' or ',' after a condition, found '{text[_position..]}'.");
                    }
                }
            }

            private FieldComparison ParseComparison()
            {
                SkipSpace();
                var start = _position;
                while (_position < text.Length && IsNameChar(text[_position]))
                {
                    _position++;
                }

                var name = text[start.._position];
                var field = name == names[owner] ? owner : names.IndexOf(name);
                if (name.Length == 0 || field < 0)
                {
                    throw new FormatException(name.Length == 0
                        ? $"a condition must start with a field name at '{text[start..]}'."
                        : $"the condition on '{name}' names no field of the pattern.");
                }

                _selfOnly &= field == owner;
                SkipSpace();
                var op = TryConsume("!=") ? Comparison.NotEqual
                    : TryConsume("<=") ? Comparison.LessOrEqual
                    : TryConsume(">=") ? Comparison.GreaterOrEqual
                    : TryConsume("=") ? Comparison.Equal
                    : TryConsume("<") ? Comparison.Less
                    : TryConsume(">") ? Comparison.Greater
                    : throw new FormatException($"expected a comparison (=, !=, <, <=, >, >=) after '{name}'.");
                SkipSpace();
                if (_position >= text.Length)
                {
                    throw new FormatException($"the condition on '{name}' is missing its value.");
                }

                string value;
                var kind = text[_position];
                if (kind == '"')
                {
                    (value, _position) = ReadQuoted(text, _position);
                }
                else if (kind == '%')
                {
                    var close = text.IndexOf('%', _position + 1);
                    if (close < 0)
                    {
                        throw new FormatException("a %regex% is missing its closing '%'.");
                    }

                    value = text[(_position + 1)..close];
                    _position = close + 1;
                }
                else
                {
                    var valueStart = _position;
                    while (_position < text.Length && !char.IsWhiteSpace(text[_position])
                        && string.CompareOrdinal(text, _position, "&&", 0, 2) != 0 && string.CompareOrdinal(text, _position, "||", 0, 2) != 0)
                    {
                        _position++;
                    }

                    value = text[valueStart.._position];
                    if (value.Length == 0)
                    {
                        throw new FormatException($"the condition on '{name}' is missing its value.");
                    }
                }

                var isNumber = kind is not ('"' or '%') && double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out _);
                if (!isNumber && op is not (Comparison.Equal or Comparison.NotEqual))
                {
                    throw new FormatException($"'{value}' is not a number; <, <=, > and >= compare numbers.");
                }

                if (isNumber)
                {
                    return new FieldComparison(field, op, double.Parse(value, NumberStyles.Float, CultureInfo.InvariantCulture), null, null);
                }

                var regex = kind == '%'
                    ? new Regex(value, RegexOptions.CultureInvariant, TimeSpan.FromMilliseconds(50))
                    : value.Contains('*', StringComparison.Ordinal)
                        ? new Regex("^" + string.Join(".*", value.Split('*').Select(Regex.Escape)) + "$", RegexOptions.Singleline | RegexOptions.CultureInvariant)
                        : null;
                return new FieldComparison(field, op, null, value, regex);
            }

            private void SkipSpace()
            {
                while (_position < text.Length && char.IsWhiteSpace(text[_position]))
                {
                    _position++;
                }
            }

            private bool TryConsume(string token)
            {
                if (string.CompareOrdinal(text, _position, token, 0, token.Length) != 0)
                {
                    return false;
                }

                _position += token.Length;
                return true;
            }
        }
    }
}
