using System.Globalization;
using System.Text.RegularExpressions;

namespace Nimbus.IntegrationTests;

/// <summary>
/// A strict parser of the Prometheus text exposition format (0.0.4): every sample line must parse, and its family
/// must have been declared by a TYPE line before it. Fails the test with the text when it does not.
/// </summary>
internal sealed partial class PrometheusText
{
    private readonly List<(string Name, Dictionary<string, string> Labels, double Value)> _samples = [];
    private readonly Dictionary<string, string> _types = new(StringComparer.Ordinal);

    public string Text { get; }

    private PrometheusText(string text) => Text = text;

    public IReadOnlyDictionary<string, string> Types => _types;

    public static PrometheusText Parse(string text)
    {
        var parsed = new PrometheusText(text);
        foreach (var line in text.Split('\n'))
        {
            if (line.Length == 0)
            {
                continue;
            }

            if (line.StartsWith('#'))
            {
                var comment = CommentLine().Match(line);
                Assert.True(comment.Success, $"Not a HELP or TYPE line: '{line}'.{Environment.NewLine}{text}");
                if (comment.Groups[1].Value == "TYPE")
                {
                    Assert.Contains(comment.Groups[3].Value, new[] { "counter", "gauge", "histogram", "summary", "untyped" });
                    Assert.True(parsed._types.TryAdd(comment.Groups[2].Value, comment.Groups[3].Value), $"TYPE declared twice: '{line}'.{Environment.NewLine}{text}");
                }

                continue;
            }

            var sample = SampleLine().Match(line);
            Assert.True(sample.Success, $"Not a sample line: '{line}'.{Environment.NewLine}{text}");
            var name = sample.Groups[1].Value;
            var family = FamilyOf(name, parsed._types);
            Assert.True(family is not null, $"Sample '{line}' comes before (or without) its TYPE line.{Environment.NewLine}{text}");
            var labels = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (Match label in LabelPair().Matches(sample.Groups[2].Value))
            {
                labels[label.Groups[1].Value] = Regex.Unescape(label.Groups[2].Value);
            }

            var value = sample.Groups[3].Value switch
            {
                "+Inf" => double.PositiveInfinity,
                "-Inf" => double.NegativeInfinity,
                "NaN" => double.NaN,
                var number => double.Parse(number, NumberStyles.Float, CultureInfo.InvariantCulture),
            };
            parsed._samples.Add((name, labels, value));
        }

        return parsed;
    }

    /// <summary>The one sample of <paramref name="name"/> whose labels include all of <paramref name="labels"/>.</summary>
    public double Value(string name, params (string Name, string Value)[] labels)
    {
        var matches = Samples(name, labels);
        Assert.True(matches.Count == 1, $"Expected one sample {name}{{{string.Join(",", labels.Select(l => $"{l.Name}=\"{l.Value}\""))}}}, found {matches.Count}.{Environment.NewLine}{Text}");
        return matches[0].Value;
    }

    public List<(Dictionary<string, string> Labels, double Value)> Samples(string name, params (string Name, string Value)[] labels) =>
        [.. _samples.Where(s => s.Name == name && labels.All(l => s.Labels.TryGetValue(l.Name, out var v) && v == l.Value)).Select(s => (s.Labels, s.Value))];

    private static string? FamilyOf(string name, Dictionary<string, string> types)
    {
        if (types.ContainsKey(name))
        {
            return name;
        }

        foreach (var suffix in new[] { "_bucket", "_sum", "_count" })
        {
            if (name.EndsWith(suffix, StringComparison.Ordinal) && types.ContainsKey(name[..^suffix.Length]))
            {
                return name[..^suffix.Length];
            }
        }

        return null;
    }

    [GeneratedRegex(@"^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$")]
    private static partial Regex CommentLine();

    [GeneratedRegex(@"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{((?:[a-zA-Z_][a-zA-Z0-9_]*=""(?:[^""\\]|\\.)*"",?)*)\})? (\S+)$")]
    private static partial Regex SampleLine();

    [GeneratedRegex(@"([a-zA-Z_][a-zA-Z0-9_]*)=""((?:[^""\\]|\\.)*)""")]
    private static partial Regex LabelPair();
}
