using Microsoft.Extensions.Logging;

namespace Nimbus.Sandboxes;

// Sandboxes/ event ids 4040-4049 and 9500-9509 (PrestartPool). Next free id: 4041, 9503.
internal sealed partial class PrestartPool
{
    private static partial class Log
    {
        [LoggerMessage(EventId = 4040, EventName = "PrestartedRuntimeDied", Level = LogLevel.Warning,
            Message = "A pre-started {Family} runtime ({RuntimeId}) exited before any function used it ({Exit}), the {Failures}th in a row; its shape is not pre-started for {PauseSeconds} s. Cold starts of that shape start a fresh process meanwhile; check the runtime clients in Nimbus:RuntimesDirectory. Its last output: {Output}")]
        public static partial void PrestartedRuntimeDied(ILogger logger, RuntimeFamily family, string runtimeId, string exit, int failures, double pauseSeconds, string output);

        [LoggerMessage(EventId = 9500, EventName = "PrestartedRuntimeDiedOnce", Level = LogLevel.Warning,
            Message = "A pre-started {Family} runtime ({RuntimeId}) exited before any function used it ({Exit}); another is started in its place. Its last output: {Output}")]
        public static partial void PrestartedRuntimeDiedOnce(ILogger logger, RuntimeFamily family, string runtimeId, string exit, string output);

        [LoggerMessage(EventId = 9501, EventName = "PrestartPoolGrew", Level = LogLevel.Debug,
            Message = "Cold starts of {Family} (heap {HeapMb} MB) found no pre-started runtime waiting: its pool now keeps {Target}.")]
        public static partial void PoolGrew(ILogger logger, RuntimeFamily family, int heapMb, int target);

        [LoggerMessage(EventId = 9502, EventName = "PrestartPoolShrunk", Level = LogLevel.Debug,
            Message = "No shortfall of pre-started {Family} runtimes (heap {HeapMb} MB) for a while: its pool goes from {Target} back to {Floor}.")]
        public static partial void PoolShrunk(ILogger logger, RuntimeFamily family, int heapMb, int target, int floor);
    }
}
