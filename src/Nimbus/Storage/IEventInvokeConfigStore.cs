namespace Nimbus.Storage;

/// <summary>Event invoke configs per function and qualifier (<c>$LATEST</c> for an unqualified function). Writes are durable when the task completes.</summary>
internal interface IEventInvokeConfigStore
{
    Task<EventInvokeConfigRecord?> GetAsync(string functionName, string qualifier, CancellationToken cancellationToken);

    Task PutAsync(string functionName, string qualifier, EventInvokeConfigRecord record, CancellationToken cancellationToken);

    /// <summary>False when there was none.</summary>
    Task<bool> DeleteAsync(string functionName, string qualifier, CancellationToken cancellationToken);

    /// <summary>A function's configs, ordered by qualifier.</summary>
    Task<IReadOnlyList<(string Qualifier, EventInvokeConfigRecord Record)>> ListAsync(string functionName, CancellationToken cancellationToken);

    Task DeleteAllAsync(string functionName, CancellationToken cancellationToken);
}
