using System.Globalization;
using System.Text;

namespace Nimbus.Metrics;

/// <summary>
/// Writes the Prometheus text exposition format (version 0.0.4): one HELP and TYPE line per family, then its
/// samples. Label values are escaped as the format requires (backslash, double quote, newline).
/// </summary>
internal sealed class PrometheusWriter
{
    public const string ContentType = "text/plain; version=0.0.4; charset=utf-8";

    private readonly StringBuilder _text = new();
    private readonly HashSet<string> _families = new(StringComparer.Ordinal);

    /// <summary>Starts a family; a second call for the same name is ignored, so sources may add samples to it.</summary>
    public void Family(string name, string type, string help)
    {
        if (_families.Add(name))
        {
            _text.Append("# HELP ").Append(name).Append(' ').Append(help).Append('\n');
            _text.Append("# TYPE ").Append(name).Append(' ').Append(type).Append('\n');
        }
    }

    public void Sample(string name, double value, params ReadOnlySpan<(string Name, string Value)> labels)
    {
        _text.Append(name);
        if (labels.Length > 0)
        {
            _text.Append('{');
            for (var i = 0; i < labels.Length; i++)
            {
                if (i > 0)
                {
                    _text.Append(',');
                }

                _text.Append(labels[i].Name).Append("=\"");
                AppendEscaped(labels[i].Value);
                _text.Append('"');
            }

            _text.Append('}');
        }

        _text.Append(' ').Append(Format(value)).Append('\n');
    }

    public override string ToString() => _text.ToString();

    public static string Format(double value) =>
        double.IsPositiveInfinity(value) ? "+Inf"
        : double.IsNegativeInfinity(value) ? "-Inf"
        : double.IsNaN(value) ? "NaN"
        : value.ToString("R", CultureInfo.InvariantCulture);

    private void AppendEscaped(string value)
    {
        foreach (var c in value)
        {
            _ = c switch
            {
                '\\' => _text.Append("\\\\"),
                '"' => _text.Append("\\\""),
                '\n' => _text.Append("\\n"),
                _ => _text.Append(c),
            };
        }
    }
}

/// <summary>
/// A seam for other components' metrics on /metrics (such as an event source mapping's backlog): each registered
/// source adds its families on every scrape.
/// </summary>
internal interface IMetricsSource
{
    void Collect(PrometheusWriter writer);
}
