using Microsoft.Extensions.Logging;

namespace Nimbus.Sandboxes;

// Sandboxes/ event ids 4120-4139 (network namespaces). Next free id: 4121.
internal sealed partial class RuntimePortPool
{
    private static partial class Log
    {
        [LoggerMessage(EventId = 4120, EventName = "NetworkNamespacesCreated", Level = LogLevel.Information,
            Message = "Instances run in network namespaces of their own ({Count} slots, created in {Milliseconds} ms, egress through slirp4netns ready in {EgressMilliseconds} ms more): each reaches its Runtime API, this node's AWS APIs, other hosts and the internet, but no other instance and no service on the host's loopback.")]
        public static partial void NamespacesCreated(ILogger logger, int count, long milliseconds, long egressMilliseconds);
    }
}
