using Microsoft.Extensions.Logging;

namespace Nimbus.Hosting;

// Hosting/ event ids 8200-8209 (the sandbox network decision at start). Next free id: 8201.
internal sealed partial class SandboxNetworkSelector
{
    private static partial class Log
    {
        [LoggerMessage(EventId = 8200, EventName = "IsolatedNetworkUnavailable", Level = LogLevel.Warning,
            Message = "Instances share this machine's network: this server is not allowed to create a network namespace per instance (that needs root), "
                + "so the default Nimbus:SandboxNetwork=isolated fell back to host. Every function instance can reach any service listening on this "
                + "machine's loopback (databases, admin ports, the Runtime API ports of other instances) and the ports other instances listen on. "
                + "For isolated instance networks run Nimbus as root; set NIMBUS_SANDBOX_NETWORK=host to accept shared networking and silence this warning. "
                + "(The check said: {Problem})")]
        public static partial void IsolatedNetworkUnavailable(ILogger logger, string problem);
    }
}
