using Microsoft.Extensions.Logging;

namespace Nimbus.Sandboxes;

// Sandboxes/ event ids: 4000-4099 (RuntimeCatalog 4000-4009). Next free id: 4002.
internal sealed partial class RuntimeCatalog
{
    private static partial class Log
    {
        [LoggerMessage(EventId = 4000, EventName = "InterpreterResolved", Level = LogLevel.Information,
            Message = "Runtime interpreter {Command} resolved to {Executable} (version {Version}).")]
        public static partial void InterpreterResolved(ILogger logger, string command, string executable, string version);

        [LoggerMessage(EventId = 4001, EventName = "InterpreterMissing", Level = LogLevel.Warning,
            Message = "Runtime interpreter {Command} is not usable ({Reason}); functions using it cannot be created until it is installed.")]
        public static partial void InterpreterMissing(ILogger logger, string command, string reason);
    }
}
