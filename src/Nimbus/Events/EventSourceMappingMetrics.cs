using Nimbus.Metrics;

namespace Nimbus.Events;

/// <summary>Each running event source mapping's queue backlog and concurrent batches on /metrics.</summary>
internal sealed class EventSourceMappingMetrics(QueuePollers pollers) : IMetricsSource
{
    public const string Backlog = "nimbus_event_source_mapping_backlog";
    public const string ConcurrentBatches = "nimbus_event_source_mapping_concurrent_batches";

    public void Collect(PrometheusWriter writer)
    {
        var mappings = pollers.Backlogs();
        writer.Family(Backlog, "gauge", "Messages waiting in the mapped queue, as its poller last saw them.");
        foreach (var m in mappings)
        {
            writer.Sample(Backlog, m.Backlog, ("uuid", m.Uuid), ("function_name", m.FunctionName), ("event_source_arn", m.EventSourceArn));
        }

        writer.Family(ConcurrentBatches, "gauge", "Pollers of the mapping, each running at most one batch at a time.");
        foreach (var m in mappings)
        {
            writer.Sample(ConcurrentBatches, m.ConcurrentBatches, ("uuid", m.Uuid), ("function_name", m.FunctionName), ("event_source_arn", m.EventSourceArn));
        }
    }
}
