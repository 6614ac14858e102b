using Microsoft.Extensions.Logging;

namespace Nimbus.Sandboxes;

// Sandboxes/ event ids 4120-4139 (network namespaces). Next free id: 4122.
// Also 4200-4209 (lazily created namespaces). Next free id: 4201.
internal sealed partial class RuntimePortPool
{
    private static partial class Log
    {
        [LoggerMessage(EventId = 4120, EventName = "NetworkNamespacesCreated", Level = LogLevel.Information,
            Message = "Instances run in network namespaces of their own ({Count} slots; the first created in {Milliseconds} ms, egress through slirp4netns checked in {EgressMilliseconds} ms more; every other slot's namespace and egress are made at the slot's first use): each reaches its Runtime API, this node's AWS APIs, other hosts and the internet, but no other instance and no service on the host's loopback. NIMBUS_SANDBOX_NETWORK=host shares the host's network instead.")]
        public static partial void NamespacesCreated(ILogger logger, int count, long milliseconds, long egressMilliseconds);

        [LoggerMessage(EventId = 4121, EventName = "NetworkNamespacesCreatedWithoutEgress", Level = LogLevel.Warning,
            Message = "Instances run in network namespaces of their own ({Count} slots; the first created in {Milliseconds} ms, the others at their first use) WITHOUT egress: each reaches its Runtime API and this node's AWS APIs, but not other hosts or the internet (see the slirp4netns warning above).")]
        public static partial void NamespacesCreatedWithoutEgress(ILogger logger, int count, long milliseconds);

        [LoggerMessage(EventId = 4200, EventName = "NetworkNamespaceCreationFailed", Level = LogLevel.Error,
            Message = "The network namespace of instance slot {Slot} could not be created: {Reason}. The instance that needed it fails to start; the slot's next rent tries again. If this repeats, check the kernel's namespace limits (/proc/sys/user/max_net_namespaces) or set NIMBUS_SANDBOX_NETWORK=host.")]
        public static partial void NamespaceCreationFailed(ILogger logger, int slot, string reason);
    }
}
