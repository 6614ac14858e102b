using Microsoft.Extensions.Logging;

namespace Nimbus.Sandboxes;

// Sandboxes/ event ids 4120-4139 (network namespaces). Next free id: 4122.
internal sealed partial class RuntimePortPool
{
    private static partial class Log
    {
        [LoggerMessage(EventId = 4120, EventName = "NetworkNamespacesCreated", Level = LogLevel.Information,
            Message = "Instances run in network namespaces of their own ({Count} slots, created in {Milliseconds} ms; egress through slirp4netns checked in {EgressMilliseconds} ms more, and started for each slot at its first use): each reaches its Runtime API, this node's AWS APIs, other hosts and the internet, but no other instance and no service on the host's loopback. NIMBUS_SANDBOX_NETWORK=host shares the host's network instead.")]
        public static partial void NamespacesCreated(ILogger logger, int count, long milliseconds, long egressMilliseconds);

        [LoggerMessage(EventId = 4121, EventName = "NetworkNamespacesCreatedWithoutEgress", Level = LogLevel.Warning,
            Message = "Instances run in network namespaces of their own ({Count} slots, created in {Milliseconds} ms) WITHOUT egress: each reaches its Runtime API and this node's AWS APIs, but not other hosts or the internet (see the slirp4netns warning above).")]
        public static partial void NamespacesCreatedWithoutEgress(ILogger logger, int count, long milliseconds);
    }
}
