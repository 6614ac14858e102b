namespace Nimbus.Metrics;

/// <summary>
/// One minute of one function/resource/executed-version: the sums CloudWatch statistics and the usage report are
/// computed from. Duration and concurrency statistics cover invocations that ran; throttles bill nothing.
/// </summary>
internal sealed record MinuteRollup(
    long Minute,
    string FunctionName,
    string Resource,
    string ExecutedVersion)
{
    public long Invocations { get; set; }

    public long Errors { get; set; }

    public long Timeouts { get; set; }

    public long Throttles { get; set; }

    public long ColdStarts { get; set; }

    public double DurationSum { get; set; }

    public double? DurationMin { get; set; }

    public double? DurationMax { get; set; }

    public double InitSum { get; set; }

    public long BilledMs { get; set; }

    /// <summary>Billed milliseconds times memory size in MB: GB-seconds × 1,024,000, kept exact as an integer.</summary>
    public long MbMs { get; set; }

    public long ConcurrencySum { get; set; }

    public long? ConcurrencyMin { get; set; }

    public long? ConcurrencyMax { get; set; }

    public void Add(in Invocation.InvocationRecord record)
    {
        if (record.Outcome == Invocation.InvocationOutcome.Throttled)
        {
            Throttles++;
            return;
        }

        if (!record.Ran)
        {
            return;
        }

        Invocations++;
        Errors += record.IsError ? 1 : 0;
        Timeouts += record.Outcome == Invocation.InvocationOutcome.Timeout ? 1 : 0;
        ColdStarts += record.ColdStart ? 1 : 0;
        InitSum += record.InitDurationMs ?? 0;
        DurationSum += record.DurationMs;
        DurationMin = Math.Min(DurationMin ?? double.MaxValue, record.DurationMs);
        DurationMax = Math.Max(DurationMax ?? double.MinValue, record.DurationMs);
        BilledMs += record.BilledMs;
        MbMs += record.BilledMs * record.MemorySizeMb;
        ConcurrencySum += record.ConcurrentExecutions;
        ConcurrencyMin = Math.Min(ConcurrencyMin ?? long.MaxValue, record.ConcurrentExecutions);
        ConcurrencyMax = Math.Max(ConcurrencyMax ?? long.MinValue, record.ConcurrentExecutions);
    }

    /// <summary>Merges another rollup of the same key (rows of the same minute read from two writes).</summary>
    public void Merge(MinuteRollup other)
    {
        Invocations += other.Invocations;
        Errors += other.Errors;
        Timeouts += other.Timeouts;
        Throttles += other.Throttles;
        ColdStarts += other.ColdStarts;
        DurationSum += other.DurationSum;
        DurationMin = Min(DurationMin, other.DurationMin);
        DurationMax = Max(DurationMax, other.DurationMax);
        InitSum += other.InitSum;
        BilledMs += other.BilledMs;
        MbMs += other.MbMs;
        ConcurrencySum += other.ConcurrencySum;
        ConcurrencyMin = ConcurrencyMin is null ? other.ConcurrencyMin : other.ConcurrencyMin is null ? ConcurrencyMin : Math.Min(ConcurrencyMin.Value, other.ConcurrencyMin.Value);
        ConcurrencyMax = ConcurrencyMax is null ? other.ConcurrencyMax : other.ConcurrencyMax is null ? ConcurrencyMax : Math.Max(ConcurrencyMax.Value, other.ConcurrencyMax.Value);
    }

    private static double? Min(double? a, double? b) => a is null ? b : b is null ? a : Math.Min(a.Value, b.Value);

    private static double? Max(double? a, double? b) => a is null ? b : b is null ? a : Math.Max(a.Value, b.Value);
}
