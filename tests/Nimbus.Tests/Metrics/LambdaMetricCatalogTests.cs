using Nimbus.Invocation;
using Nimbus.Metrics;

namespace Nimbus.Tests.Metrics;

public sealed class LambdaMetricCatalogTests
{
    private static readonly DateTimeOffset Start = new(2026, 12, 3, 10, 0, 0, TimeSpan.Zero);

    private static InvocationRecord Record(InvocationOutcome outcome, double durationMs, int concurrent = 1, double? initMs = null) =>
        new("r", "f", "f", "$LATEST", Start, durationMs, outcome is InvocationOutcome.Throttled ? 0 : (long)Math.Max(1, Math.Ceiling(durationMs)), 256, 60, initMs, outcome, concurrent);

    [Fact]
    public void A_minutes_rollup_gives_CloudWatchs_statistics_for_each_metric()
    {
        var rollup = new MinuteRollup(0, "f", "f", "$LATEST");
        rollup.Add(Record(InvocationOutcome.Success, 10.2, initMs: 100));
        rollup.Add(Record(InvocationOutcome.FunctionError, 4, concurrent: 2));
        rollup.Add(Record(InvocationOutcome.Timeout, 3000));
        rollup.Add(Record(InvocationOutcome.Throttled, 0, concurrent: 0));
        rollup.Add(Record(InvocationOutcome.Rejected, 0, concurrent: 0));

        Assert.Equal(new Aggregate(3, 3, 1, 1), LambdaMetricCatalog.Read(LambdaMetricCatalog.Invocations, rollup));
        Assert.Equal(new Aggregate(3, 2, 0, 1), LambdaMetricCatalog.Read(LambdaMetricCatalog.Errors, rollup));
        Assert.Equal(new Aggregate(1, 1, 1, 1), LambdaMetricCatalog.Read(LambdaMetricCatalog.Throttles, rollup));
        Assert.Equal(new Aggregate(3, 3014.2, 4, 3000), LambdaMetricCatalog.Read(LambdaMetricCatalog.Duration, rollup));
        Assert.Equal(new Aggregate(3, 4, 1, 2), LambdaMetricCatalog.Read(LambdaMetricCatalog.ConcurrentExecutions, rollup));
        Assert.Equal(11 + 4 + 3000, rollup.BilledMs);
        Assert.Equal((11 + 4 + 3000) * 256, rollup.MbMs);
        Assert.Equal(1, rollup.ColdStarts);
        Assert.Equal(1, rollup.Timeouts);
    }

    [Fact]
    public void Merged_rollups_equal_one_rollup_of_all_records()
    {
        var one = new MinuteRollup(0, "f", "f", "$LATEST");
        var a = new MinuteRollup(0, "f", "f", "$LATEST");
        var b = new MinuteRollup(0, "f", "f", "$LATEST");
        InvocationRecord[] records = [Record(InvocationOutcome.Success, 7), Record(InvocationOutcome.Success, 2, concurrent: 3), Record(InvocationOutcome.Throttled, 0)];
        foreach (var record in records)
        {
            one.Add(record);
        }

        a.Add(records[0]);
        b.Add(records[1]);
        b.Add(records[2]);
        a.Merge(b);

        Assert.Equal(one, a);
        Assert.Equal(one.DurationMin, a.DurationMin);
        Assert.Equal(one.ConcurrencyMax, a.ConcurrencyMax);
    }

    [Fact]
    public void Percentiles_are_nearest_rank()
    {
        List<double> sorted = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];

        Assert.Equal(5, LambdaMetricCatalog.Percentile(50, sorted));
        Assert.Equal(10, LambdaMetricCatalog.Percentile(99, sorted));
        Assert.Equal(10, LambdaMetricCatalog.Percentile(100, sorted));
        Assert.Equal(1, LambdaMetricCatalog.Percentile(0, sorted));
        Assert.Equal(0, LambdaMetricCatalog.BinaryPercentile(50, new Aggregate(10, 3, 0, 1)));
        Assert.Equal(1, LambdaMetricCatalog.BinaryPercentile(80, new Aggregate(10, 3, 0, 1)));
    }

    [Fact]
    public void Every_sampled_code_names_its_metric_and_only_the_event_age_keeps_each_sample()
    {
        foreach (var name in LambdaMetricCatalog.AsyncMetrics.Keys.Concat(LambdaMetricCatalog.GaugeMetrics.Keys))
        {
            Assert.True(LambdaMetricCatalog.TryGetSampledCode(name, out var code));
            Assert.Equal(name, LambdaMetricCatalog.SampledName(code));
        }

        Assert.Null(LambdaMetricCatalog.SampledName(99));
        Assert.Equal([LambdaMetricCatalog.AsyncEventAge], LambdaMetricCatalog.AsyncMetrics.Keys.Concat(LambdaMetricCatalog.GaugeMetrics.Keys)
            .Where(n => LambdaMetricCatalog.TryGetSampledCode(n, out var c) && LambdaMetricCatalog.KeepsEachSample(c)));
    }
}
