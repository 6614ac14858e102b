using Microsoft.Extensions.Logging;

namespace Nimbus.Sandboxes;

// Sandboxes/ event ids 4090-4099 (SandboxEntry). Next free id: 4093.
internal sealed partial class SandboxEntry
{
    private static partial class Log
    {
        [LoggerMessage(EventId = 4090, EventName = "LandlockInUse", Level = LogLevel.Information,
            Message = "Each instance gets a Landlock domain of its own (ABI {Abi}): no abstract Unix socket, signal or ptrace reaches outside it.")]
        public static partial void LandlockInUse(ILogger logger, int abi);

        [LoggerMessage(EventId = 4091, EventName = "LandlockScopesMissing", Level = LogLevel.Warning,
            Message = "This kernel's Landlock ABI is {Abi} (scopes need 6, Linux 6.12+): instances share the host's abstract Unix sockets, so one function can connect to another's or the host's. Run Nimbus on Linux 6.12 or later with Landlock enabled (lsm=landlock,...).")]
        public static partial void LandlockScopesMissing(ILogger logger, int abi);

        [LoggerMessage(EventId = 4092, EventName = "PerlMissing", Level = LogLevel.Warning,
            Message = "perl is not installed, so functions' loader variables (LD_PRELOAD, LD_AUDIT, GLIBC_TUNABLES, ...) are dropped and instances get no Landlock domain (abstract Unix sockets stay shared). Install perl-base and restart Nimbus.")]
        public static partial void PerlMissing(ILogger logger);
    }
}
