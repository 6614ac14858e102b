namespace Nimbus.Storage;

/// <summary>
/// The durable queue of asynchronous events: an event is stored before Invoke answers 202 and deleted only after
/// its final outcome, so a crash loses none (at-least-once). Writes are durable when the returned task completes.
/// </summary>
internal interface IAsyncEventStore
{
    Task AddAsync(StoredEvent storedEvent, CancellationToken cancellationToken);

    /// <summary>Records an event's retry state (invoke and throttle counts, next attempt).</summary>
    Task UpdateAsync(StoredEvent storedEvent, CancellationToken cancellationToken);

    Task DeleteAsync(string requestId, CancellationToken cancellationToken);

    /// <summary>Every stored event, oldest first: what a restarted node runs again.</summary>
    Task<IReadOnlyList<StoredEvent>> ListAsync(CancellationToken cancellationToken);
}
