using System.Collections.Concurrent;

namespace Nimbus.Functions;

/// <summary>
/// The front door's url-id → function URL lookups, so a warm request reads no SQLite. Every write of a URL goes
/// through <see cref="FunctionUrlService"/>, which drops the entry; a deleted function drops all of its URLs
/// (the store deletes their rows with it). Kept apart from the service so it can observe FunctionService without
/// a dependency cycle.
/// </summary>
internal sealed class FunctionUrlCache : IFunctionLifecycleObserver
{
    private readonly ConcurrentDictionary<string, FunctionUrlRecord> _byUrlId = new(StringComparer.Ordinal);
    private long _generation;

    public long Generation => Volatile.Read(ref _generation);

    public bool TryGet(string urlId, out FunctionUrlRecord record) => _byUrlId.TryGetValue(urlId, out record!);

    /// <summary>Caches a record read at <paramref name="generation"/> unless something was dropped since.</summary>
    public void Add(FunctionUrlRecord record, long generation)
    {
        lock (_byUrlId)
        {
            if (_generation == generation)
            {
                _byUrlId[record.UrlId] = record;
            }
        }
    }

    public void Remove(string urlId)
    {
        lock (_byUrlId)
        {
            _generation++;
            _byUrlId.TryRemove(urlId, out _);
        }
    }

    public void OnFunctionChanged(string functionName, string? version)
    {
        if (version is not null)
        {
            return;
        }

        lock (_byUrlId)
        {
            _generation++;
            foreach (var entry in _byUrlId)
            {
                if (entry.Value.FunctionName == functionName)
                {
                    _byUrlId.TryRemove(entry.Key, out _);
                }
            }
        }
    }
}
