using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Http;
using Nimbus.Security;
using static Nimbus.Metrics.CloudWatchWire;

namespace Nimbus.Metrics;

/// <summary>
/// The CloudWatch-compatible read API for namespace AWS/Lambda: GetMetricStatistics, GetMetricData (MetricStat
/// queries) and ListMetrics, answered from metrics.db's per-minute rollup (percentiles from the per-invocation
/// rows and the kept AsyncEventAge samples), so the numbers survive a restart. Other namespaces exist but hold no data, as on a fresh AWS account.
/// </summary>
internal sealed partial class CloudWatchApi(MeteringStore store, ServiceAuthorization authorization, TimeProvider time)
{
    /// <summary>CloudWatch's limit on data points one GetMetricStatistics call may ask for.</summary>
    public const int MaxDatapoints = 1_440;

    public const int MaxMetricDataQueries = 500;

    public const int MaxDimensions = 30;

    public const int MaxStatistics = 5;

    public const int MaxExtendedStatistics = 10;

    /// <summary>ListMetrics covers metrics with data in the last two weeks, as CloudWatch does.</summary>
    public static readonly TimeSpan ListWindow = TimeSpan.FromDays(14);

    public async Task HandleAsync(HttpContext context)
    {
        var (request, error) = await ReadAsync(context).ConfigureAwait(false);
        var query = !context.Request.Headers["X-Amz-Target"].ToString().StartsWith(TargetPrefix, StringComparison.Ordinal);
        if (request is null)
        {
            await WriteErrorAsync(context, query, error!).ConfigureAwait(false);
            return;
        }

        var decision = authorization.Check(context, CloudWatchActions.ActionOf(request.Operation), CloudWatchActions.AnyResource);
        if (!decision.Allowed)
        {
            await AwsAuthErrors.WriteAsync(context, AwsServices.Monitoring, decision.ToFailure()).ConfigureAwait(false);
            return;
        }

        var cancel = context.RequestAborted;
        var (output, failure) = request.Operation switch
        {
            "GetMetricStatistics" => await GetMetricStatisticsAsync(request.Input, cancel).ConfigureAwait(false),
            "GetMetricData" => await GetMetricDataAsync(request.Input, cancel).ConfigureAwait(false),
            "ListMetrics" => await ListMetricsAsync(request.Input, cancel).ConfigureAwait(false),
            _ => (null, new WireError(InvalidAction, $"The action {request.Operation} is not valid for this web service; Nimbus supports GetMetricStatistics, GetMetricData and ListMetrics.")),
        };

        await (failure is null
            ? WriteAsync(context, request, output!)
            : WriteErrorAsync(context, request.Query, failure)).ConfigureAwait(false);
    }

    private async Task<(JsonObject?, WireError?)> GetMetricStatisticsAsync(JsonObject input, CancellationToken cancellationToken)
    {
        var ns = String(input, "Namespace");
        var metric = String(input, "MetricName");
        foreach (var (name, value) in new[] { ("Namespace", (object?)ns), ("MetricName", metric), ("StartTime", input["StartTime"]), ("EndTime", input["EndTime"]), ("Period", input["Period"]) })
        {
            if (value is null)
            {
                return (null, new WireError(MissingParameter, $"The parameter {name} is required."));
            }
        }

        if (!TryTimestamp(input, "StartTime", out var start) || !TryTimestamp(input, "EndTime", out var end))
        {
            return (null, new WireError(InvalidParameterValue, "The parameters StartTime and EndTime must be timestamps (ISO 8601 or seconds since the epoch)."));
        }

        var period = Number(input, "Period");
        var statistics = Strings(input, "Statistics");
        var extended = Strings(input, "ExtendedStatistics");
        var (dimensions, dimensionError) = ReadDimensions(input, "Dimensions");
        var invalid = dimensionError
            ?? CheckWindow(start!.Value, end!.Value, period)
            ?? CheckStatistics(statistics, extended);
        if (invalid is not null)
        {
            return (null, invalid);
        }

        var periodSeconds = (long)period!.Value;
        var datapoints = new JsonArray();
        var filter = Filter(ns!, metric!, dimensions);
        if (filter is not null)
        {
            var percentiles = extended.Select(e => (Name: e, P: ParsePercentile(e)!.Value)).ToList();
            var buckets = await ComputeAsync(metric!, filter, start!.Value, end!.Value, periodSeconds, percentiles, cancellationToken).ConfigureAwait(false);
            var unit = LambdaMetricCatalog.UnitOf(metric!);
            foreach (var (timestamp, bucket) in buckets)
            {
                var point = new JsonObject { ["Timestamp"] = Timestamp(DateTimeOffset.FromUnixTimeSeconds(timestamp)) };
                foreach (var statistic in statistics)
                {
                    point[statistic] = bucket.Aggregate.Get(statistic);
                }

                point["Unit"] = unit;
                if (bucket.Percentiles.Count > 0)
                {
                    var map = new JsonObject();
                    foreach (var (name, value) in bucket.Percentiles)
                    {
                        map[name] = value;
                    }

                    point["ExtendedStatistics"] = map;
                }

                datapoints.Add(point);
            }
        }

        return (new JsonObject { ["Label"] = metric, ["Datapoints"] = datapoints }, null);
    }

    private async Task<(JsonObject?, WireError?)> GetMetricDataAsync(JsonObject input, CancellationToken cancellationToken)
    {
        var queries = Objects(input, "MetricDataQueries");
        if (input["MetricDataQueries"] is null)
        {
            return (null, new WireError(MissingParameter, "The parameter MetricDataQueries is required."));
        }

        if (queries.Count is 0 or > MaxMetricDataQueries)
        {
            return (null, new WireError(InvalidParameterValue, $"The parameter MetricDataQueries must hold between 1 and {MaxMetricDataQueries} queries."));
        }

        if (String(input, "NextToken") is { Length: > 0 })
        {
            return (null, new WireError(InvalidNextToken, "The NextToken is not valid: Nimbus answers GetMetricData in one page."));
        }

        if (input["StartTime"] is null || input["EndTime"] is null)
        {
            return (null, new WireError(MissingParameter, $"The parameter {(input["StartTime"] is null ? "StartTime" : "EndTime")} is required."));
        }

        if (!TryTimestamp(input, "StartTime", out var start) || !TryTimestamp(input, "EndTime", out var end))
        {
            return (null, new WireError(InvalidParameterValue, "The parameters StartTime and EndTime must be timestamps (ISO 8601 or seconds since the epoch)."));
        }

        var scanBy = String(input, "ScanBy") ?? "TimestampDescending";
        if (scanBy is not ("TimestampDescending" or "TimestampAscending"))
        {
            return (null, new WireError(InvalidParameterValue, $"The value {scanBy} for parameter ScanBy is not valid; use TimestampDescending or TimestampAscending."));
        }

        var results = new JsonArray();
        var ids = new HashSet<string>(StringComparer.Ordinal);
        foreach (var query in queries)
        {
            var id = String(query, "Id");
            if (id is null || !IdPattern().IsMatch(id))
            {
                return (null, new WireError(InvalidParameterValue, $"The value {id} for parameter MetricDataQueries.member.Id is not valid: it must start with a lowercase letter and hold only letters, digits and underscores (at most 255)."));
            }

            if (!ids.Add(id))
            {
                return (null, new WireError(InvalidParameterValue, $"The value {id} for parameter MetricDataQueries.member.Id is used more than once."));
            }

            if (query["Expression"] is not null)
            {
                return (null, new WireError(InvalidParameterValue, $"Query {id}: metric math expressions are not supported by Nimbus; use MetricStat."));
            }

            if (query["MetricStat"] is not JsonObject stat || stat["Metric"] is not JsonObject metric)
            {
                return (null, new WireError(MissingParameter, $"Query {id} must have a MetricStat with a Metric (or an Expression)."));
            }

            var statistic = String(stat, "Stat");
            var period = Number(stat, "Period");
            var ns = String(metric, "Namespace");
            var metricName = String(metric, "MetricName");
            if (statistic is null || ns is null || metricName is null)
            {
                return (null, new WireError(MissingParameter, $"Query {id}: MetricStat needs Stat, Metric.Namespace and Metric.MetricName."));
            }

            var percentile = ParsePercentile(statistic);
            if (percentile is null && !LambdaMetricCatalog.Statistics.Contains(statistic))
            {
                return (null, new WireError(InvalidParameterValue, $"Query {id}: the statistic {statistic} is not supported; use SampleCount, Average, Sum, Minimum, Maximum or a percentile such as p99."));
            }

            var (dimensions, dimensionError) = ReadDimensions(metric, "Dimensions");
            var invalid = dimensionError ?? CheckWindow(start!.Value, end!.Value, period, limitDatapoints: false);
            if (invalid is not null)
            {
                return (null, invalid with { Message = $"Query {id}: {invalid.Message}" });
            }

            if (IsFalse(query["ReturnData"]))
            {
                continue;
            }

            var timestamps = new JsonArray();
            var values = new JsonArray();
            var filter = Filter(ns, metricName, dimensions);
            if (filter is not null)
            {
                var percentiles = percentile is { } p ? new List<(string, double)> { (statistic, p) } : [];
                var buckets = await ComputeAsync(metricName, filter, start!.Value, end!.Value, (long)period!.Value, percentiles, cancellationToken).ConfigureAwait(false);
                IEnumerable<KeyValuePair<long, Bucket>> ordered = scanBy == "TimestampAscending" ? buckets : buckets.Reverse();
                foreach (var (timestamp, bucket) in ordered)
                {
                    timestamps.Add(Timestamp(DateTimeOffset.FromUnixTimeSeconds(timestamp)));
                    values.Add(percentile is null ? bucket.Aggregate.Get(statistic) : bucket.Percentiles[statistic]);
                }
            }

            results.Add(new JsonObject
            {
                ["Id"] = id,
                ["Label"] = String(query, "Label") ?? metricName,
                ["Timestamps"] = timestamps,
                ["Values"] = values,
                ["StatusCode"] = "Complete",
            });
        }

        return (new JsonObject { ["MetricDataResults"] = results, ["Messages"] = new JsonArray() }, null);
    }

    private async Task<(JsonObject?, WireError?)> ListMetricsAsync(JsonObject input, CancellationToken cancellationToken)
    {
        var ns = String(input, "Namespace");
        var metricName = String(input, "MetricName");
        var filters = Objects(input, "Dimensions").Select(d => (Name: String(d, "Name"), Value: String(d, "Value"))).ToList();
        if (filters.Any(f => f.Name is null))
        {
            return (null, new WireError(MissingParameter, "Every Dimensions filter needs a Name."));
        }

        if (String(input, "NextToken") is { Length: > 0 })
        {
            return (null, new WireError(InvalidParameterValue, "The NextToken is not valid: Nimbus answers ListMetrics in one page."));
        }

        var window = String(input, "RecentlyActive") == "PT3H" ? TimeSpan.FromHours(3) : ListWindow;
        var metrics = new JsonArray();
        if (ns is null or LambdaMetricCatalog.Namespace)
        {
            var series = await store.ListSeriesAsync(MeteringStore.MinuteOf(time.GetUtcNow() - window), cancellationToken).ConfigureAwait(false);
            var sets = new List<List<(string Name, string Value)>>();
            var seen = new HashSet<string>(StringComparer.Ordinal);
            void Add(List<(string Name, string Value)> set)
            {
                if (seen.Add(string.Join('\n', set.Select(d => d.Name + "=" + d.Value))))
                {
                    sets.Add(set);
                }
            }

            if (series.Count > 0)
            {
                Add([]);
            }

            foreach (var (function, resource, version) in series)
            {
                Add([(LambdaMetricCatalog.FunctionName, function)]);
                if (resource != function)
                {
                    Add([(LambdaMetricCatalog.FunctionName, function), (LambdaMetricCatalog.Resource, resource)]);
                    Add([(LambdaMetricCatalog.FunctionName, function), (LambdaMetricCatalog.Resource, resource), (LambdaMetricCatalog.ExecutedVersion, version)]);
                }
            }

            var listed = new List<(string Metric, List<(string Name, string Value)> Dimensions)>();
            foreach (var name in LambdaMetricCatalog.Names)
            {
                listed.AddRange(sets.Select(set => (name, set)));
            }

            // The async metrics and the concurrency gauges, with the dimensions each is published under: by FunctionName,
            // and with the Resource the event was sent to (async) or the provisioned version or alias (gauges); the
            // unreserved gauge account-wide only.
            var sampled = await store.ListSampledSeriesAsync(MeteringStore.MinuteOf(time.GetUtcNow() - window), cancellationToken).ConfigureAwait(false);
            var sampledSeen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var (code, function, resource) in sampled)
            {
                if (LambdaMetricCatalog.SampledName(code) is not { } name)
                {
                    continue;
                }

                List<List<(string Name, string Value)>> published = function.Length == 0
                    ? [[]]
                    : resource == function
                        ? [[(LambdaMetricCatalog.FunctionName, function)]]
                        : [[(LambdaMetricCatalog.FunctionName, function)], [(LambdaMetricCatalog.FunctionName, function), (LambdaMetricCatalog.Resource, resource)]];
                foreach (var set in published)
                {
                    if (sampledSeen.Add(name + "\n" + string.Join('\n', set.Select(d => d.Name + "=" + d.Value))))
                    {
                        listed.Add((name, set));
                    }
                }
            }

            foreach (var (name, set) in listed)
            {
                if ((metricName is not null && metricName != name)
                    || !filters.All(f => set.Any(d => d.Name == f.Name && (f.Value is null || d.Value == f.Value))))
                {
                    continue;
                }

                var dims = new JsonArray();
                foreach (var (dimName, dimValue) in set)
                {
                    dims.Add(new JsonObject { ["Name"] = dimName, ["Value"] = dimValue });
                }

                metrics.Add(new JsonObject { ["Namespace"] = LambdaMetricCatalog.Namespace, ["MetricName"] = name, ["Dimensions"] = dims });
            }
        }

        return (new JsonObject { ["Metrics"] = metrics }, null);
    }

    internal sealed record Bucket(Aggregate Aggregate, Dictionary<string, double> Percentiles);

    /// <summary>
    /// The metric's statistics per period from <paramref name="start"/> (floored to the minute) to
    /// <paramref name="end"/>; periods without samples are left out, as CloudWatch leaves them out.
    /// </summary>
    internal async Task<SortedDictionary<long, Bucket>> ComputeAsync(
        string metric, SeriesFilter filter, DateTimeOffset start, DateTimeOffset end, long periodSeconds,
        IReadOnlyList<(string Name, double P)> percentiles, CancellationToken cancellationToken)
    {
        var from = MeteringStore.MinuteOf(start);
        var to = end.ToUnixTimeSeconds();
        long BucketOf(long seconds) => from + ((seconds - from) / periodSeconds * periodSeconds);

        var aggregates = new SortedDictionary<long, Aggregate>();
        var sampled = LambdaMetricCatalog.TryGetSampledCode(metric, out var code);
        if (sampled)
        {
            foreach (var (minute, aggregate) in await store.ReadAsyncRollupsAsync(code, from, to, filter, cancellationToken).ConfigureAwait(false))
            {
                var bucket = BucketOf(minute);
                aggregates[bucket] = aggregates.TryGetValue(bucket, out var existing) ? existing.Merge(aggregate) : aggregate;
            }
        }

        var rows = sampled
            ? new List<MinuteRollup>()
            : await store.ReadRollupsAsync(from, to, filter, cancellationToken).ConfigureAwait(false);
        foreach (var row in rows)
        {
            if (LambdaMetricCatalog.Read(metric, row) is { } aggregate)
            {
                var bucket = BucketOf(row.Minute);
                aggregates[bucket] = aggregates.TryGetValue(bucket, out var existing) ? existing.Merge(aggregate) : aggregate;
            }
        }

        var samples = new Dictionary<long, List<double>>();
        if (percentiles.Count > 0 && LambdaMetricCatalog.SampleColumn(metric) is { } column)
        {
            foreach (var (startMs, value) in await store.ReadSamplesAsync(column, from * 1000, to * 1000, filter, cancellationToken).ConfigureAwait(false))
            {
                var bucket = BucketOf(startMs / 1000);
                if (!samples.TryGetValue(bucket, out var list))
                {
                    samples[bucket] = list = [];
                }

                list.Add(value);
            }
        }
        else if (percentiles.Count > 0 && sampled && LambdaMetricCatalog.KeepsEachSample(code))
        {
            foreach (var (atMs, value) in await store.ReadAsyncSamplesAsync(code, from * 1000, to * 1000, filter, cancellationToken).ConfigureAwait(false))
            {
                var bucket = BucketOf(atMs / 1000);
                if (!samples.TryGetValue(bucket, out var list))
                {
                    samples[bucket] = list = [];
                }

                list.Add(value);
            }
        }

        var result = new SortedDictionary<long, Bucket>();
        foreach (var (bucket, aggregate) in aggregates)
        {
            var values = new Dictionary<string, double>(StringComparer.Ordinal);
            if (percentiles.Count > 0)
            {
                samples.TryGetValue(bucket, out var list);
                list?.Sort();
                foreach (var (name, p) in percentiles)
                {
                    values[name] = list is { Count: > 0 } ? LambdaMetricCatalog.Percentile(p, list)
                        : metric == LambdaMetricCatalog.Errors ? LambdaMetricCatalog.BinaryPercentile(p, aggregate)
                        : aggregate.Minimum == aggregate.Maximum ? aggregate.Minimum
                        : aggregate.Average;
                }
            }

            result[bucket] = new Bucket(aggregate, values);
        }

        return result;
    }

    /// <summary>The rows a metric's dimensions select; null when no AWS/Lambda series has those dimensions.</summary>
    private static SeriesFilter? Filter(string ns, string metric, List<(string Name, string Value)> dimensions)
    {
        if (ns != LambdaMetricCatalog.Namespace || !LambdaMetricCatalog.IsKnown(metric))
        {
            return null;
        }

        string? function = null, resource = null, version = null;
        foreach (var (name, value) in dimensions)
        {
            switch (name)
            {
                case LambdaMetricCatalog.FunctionName when function is null:
                    function = value;
                    break;
                case LambdaMetricCatalog.Resource when resource is null:
                    resource = value;
                    break;
                case LambdaMetricCatalog.ExecutedVersion when version is null:
                    version = value;
                    break;
                default:
                    return null;
            }
        }

        // Lambda publishes Resource and ExecutedVersion only together with FunctionName.
        return function is null && (resource is not null || version is not null) ? null : new SeriesFilter(function, resource, version);
    }

    private static (List<(string Name, string Value)> Dimensions, WireError? Error) ReadDimensions(JsonObject input, string member)
    {
        var list = new List<(string, string)>();
        var items = Objects(input, member);
        if (items.Count > MaxDimensions)
        {
            return (list, new WireError(InvalidParameterValue, $"The collection {member} must not have a size greater than {MaxDimensions}."));
        }

        foreach (var item in items)
        {
            var name = String(item, "Name");
            var value = String(item, "Value");
            if (name is null || value is null)
            {
                return (list, new WireError(MissingParameter, $"Every dimension in {member} needs a Name and a Value."));
            }

            list.Add((name, value));
        }

        return (list, null);
    }

    private static WireError? CheckWindow(DateTimeOffset start, DateTimeOffset end, double? period, bool limitDatapoints = true)
    {
        if (period is null)
        {
            return new WireError(MissingParameter, "The parameter Period is required.");
        }

        if (period < 1 || period % 60 != 0)
        {
            return new WireError(InvalidParameterValue, $"The parameter Period must be a multiple of 60 (Nimbus keeps AWS/Lambda metrics at one-minute resolution); got {period.Value.ToString(CultureInfo.InvariantCulture)}.");
        }

        if (start >= end)
        {
            return new WireError(InvalidParameterValue, "The parameter StartTime must be less than the parameter EndTime.");
        }

        var requested = Math.Ceiling((end - start).TotalSeconds / period.Value);
        return limitDatapoints && requested > MaxDatapoints
            ? new WireError(InvalidParameterCombination, string.Create(CultureInfo.InvariantCulture,
                $"You have requested up to {requested:N0} datapoints, which exceeds the limit of {MaxDatapoints:N0}. You may reduce the datapoints requested by increasing Period, or decreasing the time range."))
            : null;
    }

    private static WireError? CheckStatistics(List<string> statistics, List<string> extended)
    {
        if ((statistics.Count == 0) == (extended.Count == 0))
        {
            return new WireError(InvalidParameterCombination, "Must specify either Statistics or ExtendedStatistics, but not both.");
        }

        if (statistics.Count > MaxStatistics || extended.Count > MaxExtendedStatistics)
        {
            return new WireError(InvalidParameterValue, $"At most {MaxStatistics} Statistics and {MaxExtendedStatistics} ExtendedStatistics may be asked for at once.");
        }

        for (var i = 0; i < statistics.Count; i++)
        {
            if (!LambdaMetricCatalog.Statistics.Contains(statistics[i]))
            {
                return new WireError(InvalidParameterValue, $"The parameter Statistics.member.{i + 1} must be a value in the set [ Maximum, Minimum, Sum, SampleCount, Average ].");
            }
        }

        foreach (var name in extended)
        {
            if (ParsePercentile(name) is null)
            {
                return new WireError(InvalidParameterValue, $"The value {name} for parameter ExtendedStatistics is not supported; Nimbus supports percentiles such as p50, p99 or p99.9.");
            }
        }

        return null;
    }

    private static bool IsFalse(JsonNode? node) =>
        node is JsonValue value && ((value.TryGetValue<bool>(out var flag) && !flag) || (value.TryGetValue<string>(out var text) && text == "false"));

    private static double? ParsePercentile(string statistic) =>
        PercentilePattern().Match(statistic) is { Success: true } match
        && double.TryParse(match.Groups[1].Value, NumberStyles.Float, CultureInfo.InvariantCulture, out var p) && p is >= 0 and <= 100
            ? p
            : null;

    [GeneratedRegex(@"^p(\d{1,3}(?:\.\d{1,10})?)$", RegexOptions.CultureInvariant)]
    private static partial Regex PercentilePattern();

    [GeneratedRegex(@"^[a-z][a-zA-Z0-9_]{0,254}$", RegexOptions.CultureInvariant)]
    private static partial Regex IdPattern();
}
