using Microsoft.Extensions.Logging;

namespace Nimbus.Sandboxes;

// Sandboxes/ event ids 4140-4159 (egress of isolated instance networks). Next free id: 4143.
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
    }
}
