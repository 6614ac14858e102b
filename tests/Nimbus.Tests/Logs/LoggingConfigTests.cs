using System.Text.Json;
using Nimbus.Functions;
using Nimbus.Sandboxes;

namespace Nimbus.Tests.Logs;

public sealed class LoggingConfigTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 3, 10, 0, 0, 123, TimeSpan.Zero);

    private static FunctionRecord Function(string format = "Text", string? system = null) => new()
    {
        Name = "fn",
        Runtime = "nodejs20.x",
        Handler = "index.handler",
        Role = "arn:aws:iam::000000000000:role/x",
        CodeSha256Hex = new string('a', 64),
        CodeSize = 1,
        LastModified = Now,
        RevisionId = "r1",
        LogFormat = format,
        SystemLogLevel = system,
    };

    [Fact]
    public void Text_functions_keep_Lambdas_text_platform_lines()
    {
        var function = Function();
        Assert.Equal("START RequestId: abc Version: $LATEST", PlatformLog.StartLine(function, Now, "abc"));
        Assert.Equal("END RequestId: abc", PlatformLog.EndLine(function, "abc"));
        Assert.StartsWith("REPORT RequestId: abc\tDuration: 1.50 ms\t", PlatformLog.ReportLine(function, Now, "abc", 1.5, 40, null, "success"), StringComparison.Ordinal);
        Assert.Equal("INIT_START Runtime Version: nodejs20.x", PlatformLog.InitStartLine(function, Now, provisioned: false));
    }

    [Fact]
    public void JSON_functions_get_platform_records_with_time_type_and_record()
    {
        var function = Function("JSON", "INFO");
        using var start = JsonDocument.Parse(PlatformLog.StartLine(function, Now, "abc")!);
        Assert.Equal("2026-12-03T10:00:00.123Z", start.RootElement.GetProperty("time").GetString());
        Assert.Equal("platform.start", start.RootElement.GetProperty("type").GetString());
        Assert.Equal("abc", start.RootElement.GetProperty("record").GetProperty("requestId").GetString());
        Assert.Equal("$LATEST", start.RootElement.GetProperty("record").GetProperty("version").GetString());

        using var report = JsonDocument.Parse(PlatformLog.ReportLine(function, Now, "abc", 26.7312, 75, 841.6, "success")!);
        Assert.Equal("platform.report", report.RootElement.GetProperty("type").GetString());
        var metrics = report.RootElement.GetProperty("record").GetProperty("metrics");
        Assert.Equal(26.731, metrics.GetProperty("durationMs").GetDouble());
        Assert.Equal(27, metrics.GetProperty("billedDurationMs").GetInt64());
        Assert.Equal(128, metrics.GetProperty("memorySizeMB").GetInt32());
        Assert.Equal(75, metrics.GetProperty("maxMemoryUsedMB").GetInt32());
        Assert.Equal(841.6, metrics.GetProperty("initDurationMs").GetDouble());
        Assert.Equal("success", report.RootElement.GetProperty("record").GetProperty("status").GetString());

        using var init = JsonDocument.Parse(PlatformLog.InitStartLine(function, Now, provisioned: true)!);
        Assert.Equal("platform.initStart", init.RootElement.GetProperty("type").GetString());
        Assert.Equal("provisioned-concurrency", init.RootElement.GetProperty("record").GetProperty("initializationType").GetString());
        Assert.Null(PlatformLog.EndLine(function, "abc"));
    }

    [Fact]
    public void System_log_level_WARN_leaves_out_the_INFO_platform_records()
    {
        var function = Function("JSON", "WARN");
        Assert.Null(PlatformLog.StartLine(function, Now, "abc"));
        Assert.Null(PlatformLog.ReportLine(function, Now, "abc", 1, 1, null, "success"));
        Assert.Null(PlatformLog.InitStartLine(function, Now, provisioned: false));
    }

    [Fact]
    public void Report_status_says_how_the_invocation_ended()
    {
        Assert.Equal("success", PlatformLog.Status(InvokeOutcomeKind.Response, timedOut: false));
        Assert.Equal("error", PlatformLog.Status(InvokeOutcomeKind.FunctionError, timedOut: false));
        Assert.Equal("timeout", PlatformLog.Status(InvokeOutcomeKind.FunctionError, timedOut: true));
    }

    [Fact]
    public void JSON_defaults_both_levels_to_INFO_and_Text_clears_them()
    {
        var json = LoggingConfigRules.Apply(Function(), new LoggingConfigShape { LogFormat = "JSON" });
        Assert.Equal(("JSON", "INFO", "INFO"), (json.Value!.LogFormat, json.Value.ApplicationLogLevel, json.Value.SystemLogLevel));
        var text = LoggingConfigRules.Apply(json.Value, new LoggingConfigShape { LogFormat = "Text" });
        Assert.Equal(("Text", null, null), (text.Value!.LogFormat, text.Value.ApplicationLogLevel, text.Value.SystemLogLevel));
        var kept = LoggingConfigRules.Apply(json.Value with { ApplicationLogLevel = "ERROR" }, new LoggingConfigShape { LogGroup = "/custom/g" });
        Assert.Equal(("JSON", "ERROR", "/custom/g"), (kept.Value!.LogFormat, kept.Value.ApplicationLogLevel, kept.Value.LogGroup));
    }

    [Fact]
    public void Levels_need_JSON_and_values_must_be_Lambdas()
    {
        Assert.Equal(LambdaError.InvalidParameterValue, LoggingConfigRules.Apply(Function(), new LoggingConfigShape { ApplicationLogLevel = "DEBUG" }).Error!.Type);
        Assert.NotNull(LoggingConfigRules.Validate(new LoggingConfigShape { LogFormat = "XML" }));
        Assert.NotNull(LoggingConfigRules.Validate(new LoggingConfigShape { ApplicationLogLevel = "LOUD" }));
        Assert.NotNull(LoggingConfigRules.Validate(new LoggingConfigShape { SystemLogLevel = "ERROR" }));
        Assert.NotNull(LoggingConfigRules.Validate(new LoggingConfigShape { LogGroup = "bad group" }));
        Assert.Null(LoggingConfigRules.Validate(new LoggingConfigShape { LogFormat = "JSON", ApplicationLogLevel = "TRACE", SystemLogLevel = "DEBUG", LogGroup = "/a/b_c-d.e#f" }));
    }
}
