using Microsoft.Extensions.Logging;

namespace Nimbus.Sandboxes;

// Sandboxes/ event ids 4120-4139 (network namespaces). Next free id: 4121.
internal sealed partial class RuntimePortPool
{
    private static partial class Log
    {
        [LoggerMessage(EventId = 4120, EventName = "NetworkNamespacesCreated", Level = LogLevel.Information,
            Message = "Instances run in network namespaces of their own ({Count} slots, created in {Milliseconds} ms): each reaches only its Runtime API and this node's AWS APIs, no other instance, no host service and not the internet.")]
        public static partial void NamespacesCreated(ILogger logger, int count, long milliseconds);
    }
}
