using Microsoft.Extensions.Logging;

namespace Nimbus.Sandboxes;

// Sandboxes/ event ids 4140-4159 (egress of isolated instance networks). Next free id: 4153.
internal sealed partial class SandboxEgress
{
    private static partial class Log
    {
        [LoggerMessage(EventId = 4140, EventName = "SandboxEgressExited", Level = LogLevel.Error,
            Message = "The slirp4netns of network slot {Slot} exited ({Reason}): instances in that slot have no egress until it is started again, in a second. If this repeats, check the server's memory and the kernel log.")]
        public static partial void EgressExited(ILogger logger, int slot, string reason);

        [LoggerMessage(EventId = 4141, EventName = "SandboxEgressRestarted", Level = LogLevel.Information,
            Message = "The slirp4netns of network slot {Slot} runs again: instances in that slot have egress again.")]
        public static partial void EgressRestarted(ILogger logger, int slot);

        [LoggerMessage(EventId = 4142, EventName = "SandboxEgressRestartFailed", Level = LogLevel.Error,
            Message = "The slirp4netns of network slot {Slot} could not be started again ({Problem}): instances in that slot have no egress. Restart the server, or set NIMBUS_SANDBOX_NETWORK=host.")]
        public static partial void EgressRestartFailed(ILogger logger, int slot, string problem);

        [LoggerMessage(EventId = 4150, EventName = "SandboxEgressMissing", Level = LogLevel.Warning,
            Message = "slirp4netns ({Program}) is not installed: instances run in network namespaces of their own as usual (no host loopback, no other instance) but have NO egress (no internet, no other hosts; this node's AWS APIs still work). Install slirp4netns (apt-get install slirp4netns) or point NIMBUS_SLIRP4NETNS at it, and restart Nimbus.")]
        public static partial void EgressMissing(ILogger logger, string program);

        [LoggerMessage(EventId = 4151, EventName = "SandboxEgressBroken", Level = LogLevel.Warning,
            Message = "slirp4netns at {Path} does not work here ({Problem}): instances run in network namespaces of their own as usual but have NO egress (no internet, no other hosts; this node's AWS APIs still work). Check that it runs (slirp4netns --version; it needs /dev/net/tun) and restart Nimbus.")]
        public static partial void EgressBroken(ILogger logger, string path, string problem);

        [LoggerMessage(EventId = 4152, EventName = "SandboxEgressStartFailed", Level = LogLevel.Error,
            Message = "The slirp4netns of network slot {Slot} could not be started ({Problem}): instances in that slot have no egress. If this repeats, check the server's memory and the kernel log, and restart the server.")]
        public static partial void EgressStartFailed(ILogger logger, int slot, string problem);
    }
}
