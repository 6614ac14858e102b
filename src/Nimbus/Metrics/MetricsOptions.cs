using Microsoft.Extensions.Options;

namespace Nimbus.Metrics;

/// <summary>
/// Settings of metering, usage pricing and tracing; bound from the same "Nimbus" section as
/// <see cref="NimbusOptions"/>. Every property has a row in the README's configuration table.
/// </summary>
internal sealed record MetricsOptions
{
    /// <summary>Record every invocation in metrics.db (metering, usage and the CloudWatch API's data).</summary>
    public bool Metering { get; init; } = true;

    /// <summary>
    /// Benchmarks only: drop functions' log lines (START/END/REPORT and their output) instead of storing them in
    /// logs.db, so bench/metering_bench.py can measure what the logging path costs. Never for production.
    /// </summary>
    public bool BenchDisableFunctionLogs { get; init; }

    /// <summary>
    /// Days metrics.db keeps each invocation's row and the per-minute rollups (the usage report and the CloudWatch
    /// API read them); older rows are deleted by the meter's writer about once a minute.
    /// </summary>
    public int MeteringRetentionDays { get; init; } = 400;

    /// <summary>
    /// Days metrics.db keeps each async event's AsyncEventAge sample (its percentiles); CloudWatch keeps one-minute
    /// data 15 days. Its per-minute statistics stay for <see cref="MeteringRetentionDays"/>.
    /// </summary>
    public int MetricSampleRetentionDays { get; init; } = 15;

    /// <summary>Price of one million requests in USD (AWS's public x86 price).</summary>
    public decimal PricePerMillionRequests { get; init; } = 0.20m;

    /// <summary>Price of one GB-second of compute in USD (AWS's public x86 price, first tier).</summary>
    public decimal PricePerGbSecond { get; init; } = 0.0000166667m;

    /// <summary>OTLP/HTTP endpoint traces are exported to (such as http://127.0.0.1:4318); null: no export.</summary>
    public string? OtlpEndpoint { get; init; }

    /// <summary>The endpoint to export to: the setting, else the standard OTEL_EXPORTER_OTLP_ENDPOINT variable.</summary>
    public string? EffectiveOtlpEndpoint =>
        OtlpEndpoint is { Length: > 0 } endpoint ? endpoint
        : Environment.GetEnvironmentVariable("OTEL_EXPORTER_OTLP_ENDPOINT") is { Length: > 0 } standard ? standard
        : null;
}

internal sealed class MetricsOptionsValidator : IValidateOptions<MetricsOptions>
{
    public ValidateOptionsResult Validate(string? name, MetricsOptions options)
    {
        var errors = new List<string>();
        if (options.PricePerMillionRequests < 0)
        {
            errors.Add($"PricePerMillionRequests {options.PricePerMillionRequests} must not be negative (AWS's x86 price is 0.20).");
        }

        if (options.PricePerGbSecond < 0)
        {
            errors.Add($"PricePerGbSecond {options.PricePerGbSecond} must not be negative (AWS's x86 price is 0.0000166667).");
        }

        if (options.MeteringRetentionDays is < 1 or > 36_500)
        {
            errors.Add($"MeteringRetentionDays {options.MeteringRetentionDays} must be between 1 and 36500 (the default keeps 400 days).");
        }

        if (options.MetricSampleRetentionDays is < 1 or > 36_500)
        {
            errors.Add($"MetricSampleRetentionDays {options.MetricSampleRetentionDays} must be between 1 and 36500 (the default keeps 15 days, as CloudWatch keeps one-minute data).");
        }

        if (options.OtlpEndpoint is { Length: > 0 } endpoint
            && (!Uri.TryCreate(endpoint, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps)))
        {
            errors.Add($"OtlpEndpoint '{endpoint}' must be an absolute http:// or https:// URL such as http://127.0.0.1:4318.");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
