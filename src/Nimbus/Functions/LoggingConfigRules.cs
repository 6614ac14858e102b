using System.Text.RegularExpressions;

namespace Nimbus.Functions;

/// <summary>
/// Lambda's rules for a function's <c>LoggingConfig</c>: <c>LogFormat</c> Text or JSON; log levels only with JSON
/// (then INFO unless set); <c>LogGroup</c> named as CloudWatch Logs allows.
/// </summary>
internal static partial class LoggingConfigRules
{
    public const string Text = "Text";
    public const string Json = "JSON";
    public const string DefaultLevel = "INFO";

    public static readonly IReadOnlyList<string> ApplicationLevels = ["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"];
    public static readonly IReadOnlyList<string> SystemLevels = ["DEBUG", "INFO", "WARN"];

    /// <summary>Checks the members one by one, in AWS's wording.</summary>
    public static LambdaError? Validate(LoggingConfigShape? logging)
    {
        if (logging is null)
        {
            return null;
        }

        if (logging.LogFormat is { } format && format is not (Text or Json))
        {
            return LambdaError.ValidationFailed(format, "loggingConfig.logFormat", "Member must satisfy enum value set: [JSON, Text]");
        }

        if (logging.ApplicationLogLevel is { } application && !ApplicationLevels.Contains(application))
        {
            return LambdaError.ValidationFailed(application, "loggingConfig.applicationLogLevel", $"Member must satisfy enum value set: [{string.Join(", ", ApplicationLevels)}]");
        }

        if (logging.SystemLogLevel is { } system && !SystemLevels.Contains(system))
        {
            return LambdaError.ValidationFailed(system, "loggingConfig.systemLogLevel", $"Member must satisfy enum value set: [{string.Join(", ", SystemLevels)}]");
        }

        if (logging.LogGroup is { } group && (group.Length is 0 or > 512 || !LogGroupPattern().IsMatch(group)))
        {
            return LambdaError.ValidationFailed(group, "loggingConfig.logGroup", @"Member must satisfy regular expression pattern: [\.\-_/#A-Za-z0-9]+ and have length between 1 and 512");
        }

        return null;
    }

    /// <summary>The record with <paramref name="logging"/> merged into its logging settings, or why it cannot be.</summary>
    public static LambdaResult<FunctionRecord> Apply(FunctionRecord record, LoggingConfigShape? logging)
    {
        if (logging is null)
        {
            return record;
        }

        var format = logging.LogFormat ?? record.LogFormat;
        if (format == Text)
        {
            if (logging.ApplicationLogLevel is not null || logging.SystemLogLevel is not null)
            {
                return LambdaError.InvalidParameter("ApplicationLogLevel and SystemLogLevel can only be set when LogFormat is JSON. Set LoggingConfig.LogFormat to JSON as well.");
            }

            return record with { LogFormat = format, ApplicationLogLevel = null, SystemLogLevel = null, LogGroup = logging.LogGroup ?? record.LogGroup };
        }

        return record with
        {
            LogFormat = format,
            ApplicationLogLevel = logging.ApplicationLogLevel ?? record.ApplicationLogLevel ?? DefaultLevel,
            SystemLogLevel = logging.SystemLogLevel ?? record.SystemLogLevel ?? DefaultLevel,
            LogGroup = logging.LogGroup ?? record.LogGroup,
        };
    }

    [GeneratedRegex(@"^[\.\-_/#A-Za-z0-9]+$")]
    private static partial Regex LogGroupPattern();
}
