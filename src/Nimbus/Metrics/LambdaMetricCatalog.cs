namespace Nimbus.Metrics;

/// <summary>
/// The AWS/Lambda metrics Nimbus publishes, with AWS's names, units and dimensions, and how each is read from a
/// minute's rollup as CloudWatch statistics (sample count, sum, minimum, maximum). Lambda publishes Invocations and
/// Throttles as one sample of 1 per request, Errors as 0 or 1 per invocation (so Average is the error rate),
/// Duration in milliseconds per invocation, and ConcurrentExecutions as the count running when each was admitted.
/// </summary>
internal static class LambdaMetricCatalog
{
    public const string Namespace = "AWS/Lambda";

    public const string FunctionName = "FunctionName";
    public const string Resource = "Resource";
    public const string ExecutedVersion = "ExecutedVersion";

    public const string Invocations = "Invocations";
    public const string Errors = "Errors";
    public const string Throttles = "Throttles";
    public const string Duration = "Duration";
    public const string ConcurrentExecutions = "ConcurrentExecutions";

    public const string AsyncEventsReceived = "AsyncEventsReceived";
    public const string AsyncEventAge = "AsyncEventAge";
    public const string AsyncEventsDropped = "AsyncEventsDropped";
    public const string DeadLetterErrors = "DeadLetterErrors";
    public const string DestinationDeliveryFailures = "DestinationDeliveryFailures";

    public static readonly IReadOnlyList<string> Names = [Invocations, Errors, Throttles, Duration, ConcurrentExecutions];

    /// <summary>
    /// The async invocation metrics, one sample per event (per attempt for the age), by FunctionName and Resource (the
    /// name or <c>name:qualifier</c> the caller invoked); they have no ExecutedVersion.
    /// </summary>
    public static readonly IReadOnlyDictionary<string, Invocation.AsyncEventMetric> AsyncMetrics = new Dictionary<string, Invocation.AsyncEventMetric>(StringComparer.Ordinal)
    {
        [AsyncEventsReceived] = Invocation.AsyncEventMetric.Received,
        [AsyncEventAge] = Invocation.AsyncEventMetric.Age,
        [AsyncEventsDropped] = Invocation.AsyncEventMetric.Dropped,
        [DeadLetterErrors] = Invocation.AsyncEventMetric.DeadLetterError,
        [DestinationDeliveryFailures] = Invocation.AsyncEventMetric.DestinationDeliveryFailure,
    };

    public const string ProvisionedConcurrentExecutions = "ProvisionedConcurrentExecutions";
    public const string ProvisionedConcurrencyUtilization = "ProvisionedConcurrencyUtilization";
    public const string UnreservedConcurrentExecutions = "UnreservedConcurrentExecutions";

    /// <summary>
    /// The concurrency gauges <see cref="ConcurrencySampler"/> samples every second, stored in the same per-minute
    /// table as the async metrics under these codes (never an <see cref="Invocation.AsyncEventMetric"/> value):
    /// provisioned ones by FunctionName and Resource (<c>name:version</c>), the unreserved one account-wide only.
    /// </summary>
    public static readonly IReadOnlyDictionary<string, int> GaugeMetrics = new Dictionary<string, int>(StringComparer.Ordinal)
    {
        [ProvisionedConcurrentExecutions] = 100,
        [ProvisionedConcurrencyUtilization] = 101,
        [UnreservedConcurrentExecutions] = 102,
    };

    /// <summary>True for the codes of ProvisionedConcurrentExecutions and ProvisionedConcurrencyUtilization.</summary>
    public static bool IsProvisionedGauge(int code) =>
        code == GaugeMetrics[ProvisionedConcurrentExecutions] || code == GaugeMetrics[ProvisionedConcurrencyUtilization];

    /// <summary>The metric's code in the per-minute sample table (async and gauge metrics); false: read from the invocation rollup.</summary>
    public static bool TryGetSampledCode(string metric, out int code)
    {
        if (AsyncMetrics.TryGetValue(metric, out var asyncMetric))
        {
            code = (int)asyncMetric;
            return true;
        }

        return GaugeMetrics.TryGetValue(metric, out code);
    }

    /// <summary>The metric name of a code in the per-minute sample table; null for a code no metric has.</summary>
    public static string? SampledName(int code) =>
        AsyncMetrics.FirstOrDefault(m => (int)m.Value == code).Key ?? GaugeMetrics.FirstOrDefault(m => m.Value == code).Key;

    public static bool IsKnown(string metric) => Names.Contains(metric) || AsyncMetrics.ContainsKey(metric) || GaugeMetrics.ContainsKey(metric);

    public static readonly IReadOnlyList<string> Statistics = ["SampleCount", "Average", "Sum", "Minimum", "Maximum"];

    public static string UnitOf(string metric) => metric switch
    {
        Duration or AsyncEventAge => "Milliseconds",
        ProvisionedConcurrencyUtilization => "None",
        _ => "Count",
    };

    /// <summary>The rollup column holding one value per invocation, for percentiles; null: derived from counts.</summary>
    public static string? SampleColumn(string metric) => metric switch
    {
        Duration => "duration_ms",
        ConcurrentExecutions => "concurrency",
        _ => null,
    };

    /// <summary>
    /// The sampled metrics whose every sample is also kept one by one (metrics.db's async_samples), for percentiles:
    /// AsyncEventAge. The others' samples are all 0 or 1, or gauges read with Maximum.
    /// </summary>
    public static bool KeepsEachSample(int code) => code == (int)Invocation.AsyncEventMetric.Age;

    /// <summary>Statistics of one rollup row for the metric; null when the row holds no sample of it.</summary>
    public static Aggregate? Read(string metric, MinuteRollup row) => metric switch
    {
        Invocations when row.Invocations > 0 => new Aggregate(row.Invocations, row.Invocations, 1, 1),
        Errors when row.Invocations > 0 => new Aggregate(row.Invocations, row.Errors, row.Errors == row.Invocations ? 1 : 0, row.Errors > 0 ? 1 : 0),
        Throttles when row.Throttles > 0 => new Aggregate(row.Throttles, row.Throttles, 1, 1),
        Duration when row.Invocations > 0 => new Aggregate(row.Invocations, row.DurationSum, row.DurationMin ?? 0, row.DurationMax ?? 0),
        ConcurrentExecutions when row.Invocations > 0 => new Aggregate(row.Invocations, row.ConcurrencySum, row.ConcurrencyMin ?? 0, row.ConcurrencyMax ?? 0),
        _ => null,
    };

    /// <summary>The value at percentile <paramref name="p"/> of a bucket whose samples are all 0 or 1.</summary>
    public static double BinaryPercentile(double p, Aggregate aggregate)
    {
        var zeros = aggregate.SampleCount - aggregate.Sum;
        var rank = Math.Max(1, Math.Ceiling(p / 100 * aggregate.SampleCount));
        return rank > zeros ? 1 : 0;
    }

    /// <summary>Nearest-rank percentile of sorted values.</summary>
    public static double Percentile(double p, List<double> sorted)
    {
        var rank = (int)Math.Ceiling(p / 100 * sorted.Count);
        return sorted[Math.Clamp(rank - 1, 0, sorted.Count - 1)];
    }
}

/// <summary>Statistics of a set of samples, mergeable.</summary>
internal readonly record struct Aggregate(double SampleCount, double Sum, double Minimum, double Maximum)
{
    public double Average => SampleCount == 0 ? 0 : Sum / SampleCount;

    public Aggregate Merge(Aggregate other) =>
        new(SampleCount + other.SampleCount, Sum + other.Sum, Math.Min(Minimum, other.Minimum), Math.Max(Maximum, other.Maximum));

    public double Get(string statistic) => statistic switch
    {
        "SampleCount" => SampleCount,
        "Average" => Average,
        "Sum" => Sum,
        "Minimum" => Minimum,
        "Maximum" => Maximum,
        _ => throw new ArgumentOutOfRangeException(nameof(statistic), statistic, "Not a CloudWatch statistic."),
    };
}
