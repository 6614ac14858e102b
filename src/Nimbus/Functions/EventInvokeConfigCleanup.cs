using Nimbus.Storage;

namespace Nimbus.Functions;

/// <summary>A deleted function's event invoke configs go with it, as on Lambda.</summary>
internal sealed class EventInvokeConfigCleanup(IEventInvokeConfigStore store) : IFunctionLifecycleObserver
{
    public void OnFunctionChanged(string functionName, string? version)
    {
        // Null is a deleted function. A changed $LATEST keeps its config; a deleted version or alias leaves a row
        // no one can reach, which a new version of the same number would pick up, as it would on Lambda's side.
        if (version is null)
        {
            store.DeleteAllAsync(functionName, CancellationToken.None).GetAwaiter().GetResult();
        }
    }
}
