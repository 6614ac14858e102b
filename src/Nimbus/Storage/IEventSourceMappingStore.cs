using Nimbus.Functions;

namespace Nimbus.Storage;

/// <summary>Event source mappings (metadata.db). Writes are durable when the task completes.</summary>
internal interface IEventSourceMappingStore
{
    Task<EventSourceMappingRecord?> GetAsync(string uuid, CancellationToken cancellationToken);

    /// <summary>Every mapping, ordered by UUID.</summary>
    Task<IReadOnlyList<EventSourceMappingRecord>> ListAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Stores a new mapping unless one already maps the same event source to the same function and qualifier;
    /// then returns that one (checked and written in one transaction).
    /// </summary>
    Task<EventSourceMappingRecord?> TryCreateAsync(EventSourceMappingRecord record, CancellationToken cancellationToken);

    /// <summary>Replaces a mapping; false when it is gone.</summary>
    Task<bool> UpdateAsync(EventSourceMappingRecord record, CancellationToken cancellationToken);

    /// <summary>Replaces a mapping only if its stored record is still <paramref name="expected"/> (the pollers settling a state).</summary>
    Task<bool> UpdateIfUnchangedAsync(EventSourceMappingRecord expected, EventSourceMappingRecord record, CancellationToken cancellationToken);

    Task<bool> DeleteAsync(string uuid, CancellationToken cancellationToken);

    /// <summary>The UUIDs of a function's mappings, removed with it.</summary>
    Task<IReadOnlyList<string>> DeleteAllAsync(string functionName, CancellationToken cancellationToken);
}
