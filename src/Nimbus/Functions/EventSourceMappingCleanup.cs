using Nimbus.Storage;

namespace Nimbus.Functions;

/// <summary>A deleted function's event source mappings go with it (their pollers stop); a changed version keeps them.</summary>
internal sealed class EventSourceMappingCleanup(IEventSourceMappingStore store, IEventSourceMappingChanges changes) : IFunctionLifecycleObserver
{
    public void OnFunctionChanged(string functionName, string? version)
    {
        if (version is not null)
        {
            return;
        }

        foreach (var uuid in store.DeleteAllAsync(functionName, CancellationToken.None).GetAwaiter().GetResult())
        {
            changes.OnMappingChanged(uuid);
        }
    }
}
