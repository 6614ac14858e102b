using Microsoft.Extensions.Logging;

namespace Nimbus.Sandboxes;

// Sandboxes/ event ids 4040-4049 (PrestartPool). Next free id: 4041.
internal sealed partial class PrestartPool
{
    private static partial class Log
    {
        [LoggerMessage(EventId = 4040, EventName = "PrestartedRuntimeDied", Level = LogLevel.Warning,
            Message = "A pre-started {Family} runtime ({RuntimeId}) exited before any function used it ({Exit}); its shape is not pre-started for {PauseSeconds} s. Cold starts of that shape start a fresh process meanwhile; check the runtime clients in Nimbus:RuntimesDirectory.")]
        public static partial void PrestartedRuntimeDied(ILogger logger, RuntimeFamily family, string runtimeId, string exit, double pauseSeconds);
    }
}
