using System.Collections.Concurrent;
using System.Diagnostics.Tracing;
using System.Globalization;
using System.Text;

/// <summary>
/// With NIMBUS_ALLOC_PROBE_FILE set: listens to the runtime's GCAllocationTick events (one per ~100 KB allocated, naming
/// the type of the allocation that crossed the mark) and writes the sampled bytes per type, largest first, to that file
/// every second. A sample of where nimbusd's allocations come from, for bench/cpu_per_invoke.py's allocated bytes.
/// </summary>
internal sealed class AllocationSampler : EventListener
{
    private const long GcKeyword = 0x1;
    private readonly ConcurrentDictionary<string, long> _bytes = new();

    public static void Start(string path)
    {
        var sampler = new AllocationSampler();
        var thread = new Thread(() =>
        {
            while (true)
            {
                Thread.Sleep(1000);
                var text = new StringBuilder();
                foreach (var (type, bytes) in sampler._bytes.OrderByDescending(p => p.Value).Take(60))
                {
                    text.Append(bytes.ToString(CultureInfo.InvariantCulture)).Append(' ').Append(type).Append('\n');
                }

                try
                {
                    File.WriteAllText(path + ".tmp", text.ToString());
                    File.Move(path + ".tmp", path, overwrite: true);
                }
                catch (IOException)
                {
                }
            }
        })
        {
            IsBackground = true,
            Name = "allocation probe",
        };
        thread.Start();
    }

    protected override void OnEventSourceCreated(EventSource eventSource)
    {
        if (eventSource.Name == "Microsoft-Windows-DotNETRuntime")
        {
            EnableEvents(eventSource, EventLevel.Verbose, (EventKeywords)GcKeyword);
        }
    }

    protected override void OnEventWritten(EventWrittenEventArgs eventData)
    {
        if (eventData.EventName is not { } name || !name.StartsWith("GCAllocationTick", StringComparison.Ordinal) || eventData.PayloadNames is null)
        {
            return;
        }

        var typeIndex = eventData.PayloadNames.IndexOf("TypeName");
        var amountIndex = eventData.PayloadNames.IndexOf("AllocationAmount64");
        if (amountIndex < 0)
        {
            amountIndex = eventData.PayloadNames.IndexOf("AllocationAmount");
        }

        var type = typeIndex >= 0 ? eventData.Payload?[typeIndex] as string ?? "?" : "?";
        var amount = amountIndex >= 0 ? Convert.ToInt64(eventData.Payload?[amountIndex], CultureInfo.InvariantCulture) : 0;
        _bytes.AddOrUpdate(type, amount, (_, total) => total + amount);
    }
}
