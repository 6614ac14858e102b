using Nimbus.Invocation;
using Nimbus.Sandboxes;

namespace Nimbus.Metrics;

/// <summary>Renders GET /metrics from the live counters, the pools, the async queue and any other sources.</summary>
internal sealed class MetricsExposition(
    FunctionMetrics functions,
    RequestCounters requests,
    SandboxManager sandboxes,
    AsyncInvocationQueue events,
    IEnumerable<IMetricsSource> sources,
    TimeProvider time)
{
    private const string Function = "function";
    private const string Version = "version";

    public string Render()
    {
        var writer = new PrometheusWriter();
        WriteFunctionCounters(writer);
        WriteInstances(writer);
        WritePrestartPool(writer);
        WriteAsyncQueue(writer);
        WritePlatform(writer);
        foreach (var source in sources)
        {
            source.Collect(writer);
        }

        return writer.ToString();
    }

    private void WriteFunctionCounters(PrometheusWriter writer)
    {
        var series = functions.Snapshot().OrderBy(s => s.Key.Function, StringComparer.Ordinal).ThenBy(s => s.Key.Version, StringComparer.Ordinal).ToList();
        Counter(writer, series, "nimbus_lambda_invocations_total", "Invocations that ran (successes and errors), as CloudWatch's Invocations.", s => s.Invocations);
        Counter(writer, series, "nimbus_lambda_errors_total", "Invocations that ended in a function error or timeout, as CloudWatch's Errors.", s => s.Errors);
        Counter(writer, series, "nimbus_lambda_timeouts_total", "Invocations stopped at their timeout (also counted in errors).", s => s.Timeouts);
        Counter(writer, series, "nimbus_lambda_throttles_total", "Invocations refused for lack of concurrency (429), as CloudWatch's Throttles.", s => s.Throttles);
        Counter(writer, series, "nimbus_lambda_cold_starts_total", "Invocations that started a new instance and waited for its init.", s => s.ColdStarts);
        Counter(writer, series, "nimbus_lambda_billed_duration_milliseconds_total", "Billed duration (REPORT's, rounded up to 1 ms) summed.", s => s.BilledMs);

        const string duration = "nimbus_lambda_duration_milliseconds";
        writer.Family(duration, "histogram", "Duration of invocations as in REPORT, in milliseconds.");
        foreach (var (key, s) in series)
        {
            var buckets = s.CumulativeBuckets();
            for (var i = 0; i < buckets.Length; i++)
            {
                var le = i < FunctionMetrics.DurationBucketsMs.Length ? PrometheusWriter.Format(FunctionMetrics.DurationBucketsMs[i]) : "+Inf";
                writer.Sample(duration + "_bucket", buckets[i], (Function, key.Function), (Version, key.Version), ("le", le));
            }

            writer.Sample(duration + "_sum", s.DurationSumMs, (Function, key.Function), (Version, key.Version));
            writer.Sample(duration + "_count", buckets[^1], (Function, key.Function), (Version, key.Version));
        }

        const string init = "nimbus_lambda_init_duration_milliseconds";
        writer.Family(init, "summary", "Init duration of cold starts as in REPORT, in milliseconds.");
        foreach (var (key, s) in series)
        {
            writer.Sample(init + "_sum", s.InitSumMs, (Function, key.Function), (Version, key.Version));
            writer.Sample(init + "_count", s.InitCount, (Function, key.Function), (Version, key.Version));
        }
    }

    private static void Counter(
        PrometheusWriter writer,
        List<KeyValuePair<(string Function, string Version), FunctionMetrics.Series>> series,
        string name,
        string help,
        Func<FunctionMetrics.Series, double> value)
    {
        writer.Family(name, "counter", help);
        foreach (var (key, s) in series)
        {
            writer.Sample(name, value(s), (Function, key.Function), (Version, key.Version));
        }
    }

    private void WriteInstances(PrometheusWriter writer)
    {
        var pools = sandboxes.Pools.ToList();
        var byState = new Dictionary<InstanceState, int>
        {
            [InstanceState.Initializing] = 0,
            [InstanceState.Idle] = 0,
            [InstanceState.Busy] = 0,
        };

        const string concurrent = "nimbus_lambda_concurrent_executions";
        const string provisionedInUse = "nimbus_lambda_provisioned_concurrency_in_use";
        const string provisionedReady = "nimbus_lambda_provisioned_concurrency_ready";
        writer.Family(concurrent, "gauge", "Instances of the function version running an invocation (or starting for one) now.");
        var rows = new List<(string Function, string Version, int Busy, int Requested, int Ready)>();
        foreach (var pool in pools)
        {
            foreach (var instance in pool.Snapshot())
            {
                if (instance.State != InstanceState.Dead)
                {
                    byState[instance.State]++;
                }
            }

            var (requested, ready, _) = pool.ProvisionedStatus;
            rows.Add((pool.Function.Name, pool.Function.Version, pool.BusyCount, requested, ready));
        }

        rows.Sort((a, b) => (a.Function, a.Version).CompareTo((b.Function, b.Version)));
        foreach (var row in rows)
        {
            writer.Sample(concurrent, row.Busy, (Function, row.Function), (Version, row.Version));
        }

        writer.Family(provisionedInUse, "gauge", "Provisioned instances of the function version running an invocation now.");
        foreach (var row in rows.Where(r => r.Requested > 0))
        {
            writer.Sample(provisionedInUse, Math.Min(row.Busy, row.Ready), (Function, row.Function), (Version, row.Version));
        }

        writer.Family(provisionedReady, "gauge", "Provisioned instances of the function version initialized and ready.");
        foreach (var row in rows.Where(r => r.Requested > 0))
        {
            writer.Sample(provisionedReady, row.Ready, (Function, row.Function), (Version, row.Version));
        }

        const string instances = "nimbus_instances";
        writer.Family(instances, "gauge", "Function instances on this node by state.");
        foreach (var (state, count) in byState)
        {
            writer.Sample(instances, count, ("state", state.ToString().ToLowerInvariant()));
        }
    }

    private void WritePrestartPool(PrometheusWriter writer)
    {
        if (sandboxes.Prestart is not { } prestart)
        {
            return;
        }

        const string takes = "nimbus_prestart_takes_total";
        var (waiting, loading, none) = prestart.Takes;
        writer.Family(takes, "counter", "Cold starts of functions a pre-started runtime can serve, by what they found: a runtime waiting, one still loading, none.");
        writer.Sample(takes, waiting, ("result", "waiting"));
        writer.Sample(takes, loading, ("result", "loading"));
        writer.Sample(takes, none, ("result", "none"));

        const string runtimes = "nimbus_prestart_runtimes";
        const string target = "nimbus_prestart_target";
        var shapes = prestart.Snapshot();
        writer.Family(runtimes, "gauge", "Pre-started runtimes no function has taken yet, by shape and state (waiting for a function, or loading).");
        foreach (var shape in shapes)
        {
            var family = shape.Key.Family.ToString().ToLowerInvariant();
            var heap = shape.Key.HeapMb.ToString(System.Globalization.CultureInfo.InvariantCulture);
            writer.Sample(runtimes, shape.Waiting, ("family", family), ("heap_mb", heap), ("state", "waiting"));
            writer.Sample(runtimes, shape.Loading, ("family", family), ("heap_mb", heap), ("state", "loading"));
        }

        writer.Family(target, "gauge", "Pre-started runtimes each shape keeps now: NIMBUS_PRESTART_POOL, raised by cold starts that found none waiting up to NIMBUS_PRESTART_POOL_MAX.");
        foreach (var shape in shapes)
        {
            writer.Sample(target, shape.Target, ("family", shape.Key.Family.ToString().ToLowerInvariant()), ("heap_mb", shape.Key.HeapMb.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        }
    }

    private void WriteAsyncQueue(PrometheusWriter writer)
    {
        var now = time.GetUtcNow();
        var queued = events.LiveEvents
            .GroupBy(e => (e.FunctionName, Version: e.Qualifier ?? Functions.FunctionRecord.Latest))
            .Select(g => (g.Key.FunctionName, g.Key.Version, Depth: g.Count(), Oldest: g.Min(e => e.AcceptedAt)))
            .OrderBy(g => g.FunctionName, StringComparer.Ordinal).ThenBy(g => g.Version, StringComparer.Ordinal)
            .ToList();
        const string depth = "nimbus_async_queue_depth";
        const string age = "nimbus_async_oldest_event_age_seconds";
        writer.Family(depth, "gauge", "Asynchronous events accepted and not finished (queued, running or waiting for a retry), by function and qualifier.");
        foreach (var q in queued)
        {
            writer.Sample(depth, q.Depth, (Function, q.FunctionName), (Version, q.Version));
        }

        writer.Family(age, "gauge", "Age of the oldest unfinished asynchronous event, in seconds.");
        foreach (var q in queued)
        {
            writer.Sample(age, Math.Max(0, (now - q.Oldest).TotalSeconds), (Function, q.FunctionName), (Version, q.Version));
        }

        var series = functions.AsyncSnapshot().OrderBy(s => s.Key.Function, StringComparer.Ordinal).ThenBy(s => s.Key.Version, StringComparer.Ordinal).ToList();
        void AsyncCounter(string name, string help, AsyncEventMetric metric)
        {
            writer.Family(name, "counter", help);
            foreach (var (key, s) in series)
            {
                writer.Sample(name, s.Count(metric), (Function, key.Function), (Version, key.Version));
            }
        }

        AsyncCounter("nimbus_lambda_async_events_received_total", "Asynchronous events accepted (Invoke answered 202), as CloudWatch's AsyncEventsReceived.", AsyncEventMetric.Received);
        AsyncCounter("nimbus_lambda_async_events_dropped_total", "Asynchronous events that ended without a successful run, as CloudWatch's AsyncEventsDropped.", AsyncEventMetric.Dropped);
        AsyncCounter("nimbus_lambda_dead_letter_errors_total", "Events that could not be sent to the function's dead-letter queue, as CloudWatch's DeadLetterErrors.", AsyncEventMetric.DeadLetterError);
        AsyncCounter("nimbus_lambda_destination_delivery_failures_total", "Records that could not be delivered to a destination, as CloudWatch's DestinationDeliveryFailures.", AsyncEventMetric.DestinationDeliveryFailure);
        const string eventAge = "nimbus_lambda_async_event_age_milliseconds";
        writer.Family(eventAge, "summary", "Time from an asynchronous event's acceptance to each of its attempts, in milliseconds, as CloudWatch's AsyncEventAge.");
        foreach (var (key, s) in series)
        {
            writer.Sample(eventAge + "_sum", s.AgeSumMs, (Function, key.Function), (Version, key.Version));
            writer.Sample(eventAge + "_count", s.Count(AsyncEventMetric.Age), (Function, key.Function), (Version, key.Version));
        }
    }

    private void WritePlatform(PrometheusWriter writer)
    {
        writer.Family("nimbus_memory_committed_megabytes", "gauge", "Memory committed to running instances: the sum of their MemorySize.");
        writer.Sample("nimbus_memory_committed_megabytes", sandboxes.CommittedMemoryMb);
        writer.Family("nimbus_memory_limit_megabytes", "gauge", "Memory the instances of this node may add up to.");
        writer.Sample("nimbus_memory_limit_megabytes", sandboxes.MemoryLimitMb);

        // The server's own garbage collections, so a benchmark can tell a slow run that collected from one that did not
        // (the runtime's counters, no EventPipe session needed).
        const string collections = "nimbus_dotnet_gc_collections_total";
        writer.Family(collections, "counter", "Garbage collections of the server process by generation (a gen2 collection also counts in gen0 and gen1).");
        for (var generation = 0; generation <= GC.MaxGeneration; generation++)
        {
            writer.Sample(collections, GC.CollectionCount(generation), ("generation", generation.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        }

        writer.Family("nimbus_dotnet_gc_pause_seconds_total", "counter", "Time the server's threads were paused by the garbage collector.");
        writer.Sample("nimbus_dotnet_gc_pause_seconds_total", GC.GetTotalPauseDuration().TotalSeconds);
        writer.Family("nimbus_dotnet_allocated_bytes_total", "counter", "Bytes the server process has allocated on the managed heap.");
        writer.Sample("nimbus_dotnet_allocated_bytes_total", GC.GetTotalAllocatedBytes());

        const string requestsTotal = "nimbus_http_requests_total";
        writer.Family(requestsTotal, "counter", "Requests to the main port by API (the SigV4 service, or the unsigned endpoint) and status code.");
        foreach (var ((api, code), count) in requests.Snapshot().OrderBy(r => r.Key.Api, StringComparer.Ordinal).ThenBy(r => r.Key.Code))
        {
            writer.Sample(requestsTotal, count, ("api", api), ("code", code.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        }
    }
}
