using Microsoft.Extensions.Logging;

namespace Nimbus.Hosting;

// Hosting/ event ids: the ledger ("next free id") is in SandboxFactorySelector.Log.cs.
public static partial class StartupFailure
{
    private static partial class Log
    {
        [LoggerMessage(EventId = 107, EventName = "StartupFailed", Level = LogLevel.Critical,
            Message = "Nimbus could not start (exit code {ExitCode}): {Problem}")]
        public static partial void StartupFailed(ILogger logger, int exitCode, string problem, Exception? exception);
    }
}
