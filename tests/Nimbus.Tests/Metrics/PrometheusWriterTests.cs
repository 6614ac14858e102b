using Nimbus.Metrics;

namespace Nimbus.Tests.Metrics;

public sealed class PrometheusWriterTests
{
    [Fact]
    public void Writes_help_and_type_once_per_family_and_escapes_label_values()
    {
        var writer = new PrometheusWriter();
        writer.Family("x_total", "counter", "Things.");
        writer.Sample("x_total", 3, ("function", "a\"b\\c\nd"), ("version", "$LATEST"));
        writer.Family("x_total", "counter", "Things.");
        writer.Sample("x_total", 0.5);
        writer.Sample("x_total", double.PositiveInfinity);

        Assert.Equal(
            "# HELP x_total Things.\n# TYPE x_total counter\nx_total{function=\"a\\\"b\\\\c\\nd\",version=\"$LATEST\"} 3\nx_total 0.5\nx_total +Inf\n",
            writer.ToString());
    }
}
