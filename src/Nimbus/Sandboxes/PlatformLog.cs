using System.Globalization;

namespace Nimbus.Sandboxes;

/// <summary>The platform's own log lines, in the exact text Lambda writes (TAB-separated fields).</summary>
internal static class PlatformLog
{
    public static string InitStart(string runtime) => $"INIT_START Runtime Version: {runtime}";

    /// <summary>Written when an external extension registers.</summary>
    public static string Extension(string name, IEnumerable<string> events) => $"EXTENSION\tName: {name}\tState: Ready\tEvents: [{string.Join(",", events)}]";

    public static string Start(string requestId, string version) => $"START RequestId: {requestId} Version: {version}";

    public static string End(string requestId) => $"END RequestId: {requestId}";

    public static string Report(string requestId, double durationMs, int memorySizeMb, int maxMemoryUsedMb, double? initDurationMs)
    {
        var line = string.Create(CultureInfo.InvariantCulture,
            $"REPORT RequestId: {requestId}\tDuration: {durationMs:0.00} ms\tBilled Duration: {BilledMs(durationMs)} ms\tMemory Size: {memorySizeMb} MB\tMax Memory Used: {maxMemoryUsedMb} MB\t");
        return initDurationMs is { } init
            ? line + string.Create(CultureInfo.InvariantCulture, $"Init Duration: {init:0.00} ms\t")
            : line;
    }

    public static string TimedOut(DateTimeOffset now, string requestId, double seconds) =>
        string.Create(CultureInfo.InvariantCulture, $"{now.UtcDateTime:yyyy-MM-ddTHH:mm:ss.fffZ} {requestId} Task timed out after {seconds:0.00} seconds");

    public static string TimedOutMessage(string requestId, double seconds) =>
        string.Create(CultureInfo.InvariantCulture, $"RequestId: {requestId} Error: Task timed out after {seconds:0.00} seconds");

    public static string Exited(string requestId, SandboxExit exit) =>
        $"RequestId: {requestId} Error: Runtime exited with error: {exit.Describe()}";

    /// <summary>Lambda bills in 1 ms steps, rounding up, with at least 1 ms.</summary>
    public static long BilledMs(double durationMs) => Math.Max(1, (long)Math.Ceiling(durationMs));
}
