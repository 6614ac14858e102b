using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Nimbus.Functions;

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

    // ---- LoggingConfig: the same events as JSON records when LogFormat is JSON, left out below SystemLogLevel ----

    /// <summary>INIT_START, or <c>platform.initStart</c>; null when the function's SystemLogLevel is above INFO.</summary>
    public static string? InitStartLine(FunctionRecord function, DateTimeOffset now, bool provisioned) =>
        !IsJson(function) ? InitStart(function.Runtime)
        : !LogsInfo(function) ? null
        : Json(now, "platform.initStart", writer =>
        {
            writer.WriteString("initializationType", provisioned ? "provisioned-concurrency" : "on-demand");
            writer.WriteString("phase", "init");
            writer.WriteString("runtimeVersion", function.Runtime);
            writer.WriteString("functionName", function.Name);
            writer.WriteString("functionVersion", function.Version);
        });

    /// <summary>
    /// The warning of a function whose runtime identifier runs on an interpreter of another version (after INIT_START):
    /// the text itself, or a <c>platform.runtimeVersionWarning</c> record; null when there is none or SystemLogLevel is ERROR.
    /// </summary>
    public static string? VersionWarningLine(FunctionRecord function, DateTimeOffset now, string? warning) =>
        warning is null ? null
        : !IsJson(function) ? warning
        : function.SystemLogLevel is "ERROR" or "FATAL" ? null
        : Json(now, "platform.runtimeVersionWarning", writer =>
        {
            writer.WriteString("runtime", function.Runtime);
            writer.WriteString("message", warning);
        });

    public static string? StartLine(FunctionRecord function, DateTimeOffset now, string requestId) =>
        !IsJson(function) ? Start(requestId, function.Version)
        : !LogsInfo(function) ? null
        : Json(now, "platform.start", writer =>
        {
            writer.WriteString("requestId", requestId);
            writer.WriteString("version", function.Version);
        });

    /// <summary>END in text; Lambda's JSON system log has no record for it (platform.report follows).</summary>
    public static string? EndLine(FunctionRecord function, string requestId) => IsJson(function) ? null : End(requestId);

    public static string? ReportLine(FunctionRecord function, DateTimeOffset now, string requestId, double durationMs, int maxMemoryUsedMb, double? initDurationMs, string status) =>
        !IsJson(function) ? Report(requestId, durationMs, function.MemorySize, maxMemoryUsedMb, initDurationMs)
        : !LogsInfo(function) ? null
        : Json(now, "platform.report", writer =>
        {
            writer.WriteString("requestId", requestId);
            writer.WriteStartObject("metrics");
            writer.WriteNumber("durationMs", Math.Round(durationMs, 3));
            writer.WriteNumber("billedDurationMs", BilledMs(durationMs));
            writer.WriteNumber("memorySizeMB", function.MemorySize);
            writer.WriteNumber("maxMemoryUsedMB", maxMemoryUsedMb);
            if (initDurationMs is { } init)
            {
                writer.WriteNumber("initDurationMs", Math.Round(init, 3));
            }

            writer.WriteEndObject();
            writer.WriteString("status", status);
        });

    /// <summary>platform.report's status: success, error (the function answered with an error) or timeout.</summary>
    public static string Status(Sandboxes.InvokeOutcomeKind kind, bool timedOut) =>
        timedOut ? "timeout" : kind == Sandboxes.InvokeOutcomeKind.Response ? "success" : "error";

    private static bool IsJson(FunctionRecord function) => function.LogFormat == LoggingConfigRules.Json;

    // platform.initStart, platform.start and platform.report are INFO records: SystemLogLevel WARN leaves them out.
    private static bool LogsInfo(FunctionRecord function) => function.SystemLogLevel is null or "DEBUG" or "INFO";

    private static string Json(DateTimeOffset now, string type, Action<Utf8JsonWriter> record)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("time", now.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture));
            writer.WriteString("type", type);
            writer.WriteStartObject("record");
            record(writer);
            writer.WriteEndObject();
            writer.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }
}
