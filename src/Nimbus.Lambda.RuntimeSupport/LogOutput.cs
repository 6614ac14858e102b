using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Nimbus.Lambda.RuntimeSupport;

/// <summary>
/// The process's log output: entries written straight to the stdout pipe, one write each, so the platform sees
/// every entry before the runtime posts its result. <see cref="Console.Out"/> and <see cref="Console.Error"/>
/// are replaced by writers that turn each line into an entry (levels <c>info</c> and <c>fail</c>). With the
/// function's <c>LoggingConfig</c> <c>LogFormat</c> JSON (<c>AWS_LAMBDA_LOG_FORMAT</c>), each entry is AWS's .NET
/// JSON record (<c>timestamp</c>, <c>level</c>, <c>requestId</c>, <c>traceId</c>, <c>message</c>) and entries below
/// <c>AWS_LAMBDA_LOG_LEVEL</c> are dropped.
/// </summary>
internal static class LogOutput
{
    private static readonly Lock Gate = new();

    // The internal tags in level order, and the names AWS's .NET runtime writes for them in JSON records.
    private static readonly string[] Tags = ["trce", "dbug", "info", "warn", "fail", "crit"];
    private static readonly string[] JsonLevels = ["Trace", "Debug", "Information", "Warning", "Error", "Critical"];

    private static Stream? _stdout;
    private static bool _json;
    private static int _minimumLevel;

    /// <summary>The request id of the invocation running now; empty before the first.</summary>
    public static string RequestId { get; set; } = "";

    /// <summary>Reads the log format and level of the function's environment (after a pre-started runtime got it).</summary>
    public static void Configure()
    {
        _json = string.Equals(Environment.GetEnvironmentVariable("AWS_LAMBDA_LOG_FORMAT"), "JSON", StringComparison.OrdinalIgnoreCase);
        _minimumLevel = !_json ? 0 : Environment.GetEnvironmentVariable("AWS_LAMBDA_LOG_LEVEL")?.ToUpperInvariant() switch
        {
            "TRACE" => 0,
            "DEBUG" => 1,
            "WARN" => 3,
            "ERROR" => 4,
            "FATAL" => 5,
            _ => 2,
        };
    }

    public static void RedirectConsole()
    {
        Configure();
        if (Console.Out is EntryWriter)
        {
            return;
        }

        _stdout ??= Console.OpenStandardOutput();
        Console.SetOut(new EntryWriter("info"));
        Console.SetError(new EntryWriter("fail"));
    }

    public static void Write(string level, string? message)
    {
        if (_json)
        {
            WriteJson(level, message);
            return;
        }

        var entry = new StringBuilder(64 + (message?.Length ?? 0))
            .Append(DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture)).Append('\t')
            .Append(RequestId).Append('\t').Append(level).Append('\t').Append(message).Append('\n');
        WriteRaw(entry.ToString());
    }

    public static void WriteRaw(string text) => WriteBytes(Encoding.UTF8.GetBytes(text));

    private static void WriteJson(string level, string? message)
    {
        var index = Math.Max(0, Array.IndexOf(Tags, level));
        if (index < _minimumLevel)
        {
            return;
        }

        var buffer = new ArrayBufferWriter<byte>(128 + (message?.Length ?? 0));
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("timestamp", DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture));
            json.WriteString("level", JsonLevels[index]);
            json.WriteString("requestId", RequestId);
            if (Environment.GetEnvironmentVariable("_X_AMZN_TRACE_ID") is { Length: > 0 } trace)
            {
                json.WriteString("traceId", trace);
            }

            json.WriteString("message", message ?? "");
            json.WriteEndObject();
        }

        buffer.Write("\n"u8);
        WriteBytes(buffer.WrittenSpan);
    }

    private static void WriteBytes(ReadOnlySpan<byte> bytes)
    {
        lock (Gate)
        {
            var stdout = _stdout ??= Console.OpenStandardOutput();
            stdout.Write(bytes);
            stdout.Flush();
        }
    }

    public static string LevelTag(string? level) => level?.ToUpperInvariant() switch
    {
        "TRACE" or "TRCE" => "trce",
        "DEBUG" or "DBUG" => "dbug",
        "WARNING" or "WARN" => "warn",
        "ERROR" or "FAIL" => "fail",
        "CRITICAL" or "CRIT" or "FATAL" => "crit",
        _ => "info",
    };

    /// <summary>Buffers until a newline, then writes the line as one entry.</summary>
    private sealed class EntryWriter(string level) : TextWriter
    {
        private readonly StringBuilder _line = new();

        public override Encoding Encoding => Encoding.UTF8;

        public override void Write(char value)
        {
            lock (_line)
            {
                if (value == '\n')
                {
                    EmitLocked();
                }
                else
                {
                    _line.Append(value);
                }
            }
        }

        public override void Write(string? value)
        {
            if (value is null)
            {
                return;
            }

            lock (_line)
            {
                var start = 0;
                for (var newline = value.IndexOf('\n', StringComparison.Ordinal); newline >= 0; newline = value.IndexOf('\n', start))
                {
                    _line.Append(value, start, newline - start);
                    EmitLocked();
                    start = newline + 1;
                }

                _line.Append(value, start, value.Length - start);
            }
        }

        public override void Write(char[] buffer, int index, int count) => Write(new string(buffer, index, count));

        public override void WriteLine(string? value) => Write((value ?? "") + "\n");

        public override void WriteLine() => Write('\n');

        public override void Flush()
        {
            lock (_line)
            {
                if (_line.Length > 0)
                {
                    EmitLocked();
                }
            }
        }

        private void EmitLocked()
        {
            if (_line.Length > 0 && _line[^1] == '\r')
            {
                _line.Length--;
            }

            LogOutput.Write(level, _line.ToString());
            _line.Clear();
        }
    }
}
