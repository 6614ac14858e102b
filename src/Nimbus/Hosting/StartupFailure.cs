using System.Net.Sockets;
using System.Reflection;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Nimbus.Hosting;

/// <summary>
/// Turns an exception that stopped nimbusd from starting into what a user can act on: one line on stderr per
/// problem ("Nimbus could not start: ..."), the structured log line when logging is up, and the exit code
/// (2: a setting is invalid, as for an unknown command; 1: anything else). A stack trace is printed only for
/// NIMBUS_DEBUG=1 or a Debug log level; an exception Nimbus does not expect still shows its type.
/// </summary>
public static partial class StartupFailure
{
    /// <summary>The exit code of an invalid setting (the launcher's and nimbusd's usage errors use it too).</summary>
    public const int ConfigurationExitCode = 2;

    /// <summary>The exit code of every other failed start.</summary>
    public const int FailureExitCode = 1;

    /// <summary>The host's own category: it logs a failed start (and a faulted background service) with the stack trace.</summary>
    internal const string HostLogCategory = "Microsoft.Extensions.Hosting.Internal.Host";

    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(30);

    /// <summary>Reports <paramref name="exception"/>, disposes the half-started <paramref name="app"/>, returns the exit code.</summary>
    public static async Task<int> ReportAsync(Exception exception, WebApplication? app, TextWriter stderr)
    {
        var debug = IsDebug(app?.Configuration);
        var (exitCode, problems) = Describe(Unwrap(exception), debug);
        foreach (var problem in problems)
        {
            await stderr.WriteLineAsync($"Nimbus could not start: {problem}").ConfigureAwait(false);
        }

        if (debug)
        {
            await stderr.WriteLineAsync(exception.ToString()).ConfigureAwait(false);
        }

        await stderr.FlushAsync().ConfigureAwait(false);
        if (app is not null)
        {
            var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(StartupFailure).FullName!);
            var problem = string.Join(" ", problems);
            Log.StartupFailed(logger, exitCode, problem, debug ? exception : null);
            try
            {
                // Stops the hosted services that did start (instances, stores), then flushes the log.
                using (var deadline = new CancellationTokenSource(StopTimeout))
                {
                    await app.StopAsync(deadline.Token).ConfigureAwait(false);
                }

                await app.DisposeAsync().ConfigureAwait(false);
            }
            catch (Exception disposal) when (!debug)
            {
                await stderr.WriteLineAsync($"(While stopping after that: {disposal.GetType().Name}: {disposal.Message})").ConfigureAwait(false);
            }
        }

        return exitCode;
    }

    /// <summary>The exit code and the lines to print for the exception that stopped the start.</summary>
    internal static (int ExitCode, IReadOnlyList<string> Problems) Describe(Exception cause, bool debug = false)
    {
        switch (cause)
        {
            case OptionsValidationException invalid:
                return (ConfigurationExitCode, invalid.Failures.Select(failure => $"invalid configuration: {WithSetting(failure)}").ToArray());
            case InvalidOperationException when ConversionFailure().Match(cause.Message) is { Success: true } conversion:
                return (ConfigurationExitCode, [$"invalid configuration: the value of {Named(conversion.Groups["key"].Value)} is not a valid {TypeName(conversion.Groups["type"].Value)}. Fix it and start again."]);
            case StartupException:
                return (FailureExitCode, [cause.Message]);
            case IOException { InnerException: AddressInUseException } or IOException { InnerException: SocketException { SocketErrorCode: SocketError.AddressAlreadyInUse } }:
                return (FailureExitCode, [$"{cause.Message.TrimEnd('.')}. Another process (perhaps another Nimbus) listens there: stop it, or choose another port with --listen (NIMBUS_LISTEN) or --tls-listen (NIMBUS_TLS_LISTEN); port 0 picks a free one."]);
            case IOException { InnerException: SocketException { SocketErrorCode: SocketError.AddressNotAvailable } }:
                return (FailureExitCode, [$"{cause.Message.TrimEnd('.')}. That address is not one of this machine's: listen on 127.0.0.1, 0.0.0.0 or an address of a local interface (--listen, NIMBUS_LISTEN)."]);
            case UnauthorizedAccessException:
                return (FailureExitCode, [$"{cause.Message.TrimEnd('.')}. The server needs to read and write its data directory (--data, NIMBUS_DATA): fix the owner or mode of that path, run Nimbus as the user that owns it, or point --data at another directory."]);
            case IOException or Microsoft.Data.Sqlite.SqliteException:
                return (FailureExitCode, [$"{cause.Message.TrimEnd('.')}. Check the data directory (--data, NIMBUS_DATA): a directory (or a path one can be made at) on a writable disk with free space, owned by the user running Nimbus; or point --data at another directory."]);
            default:
                return (FailureExitCode, [$"unexpected error {cause.GetType().FullName}: {cause.Message}"
                    + (debug ? "" : " Set NIMBUS_DEBUG=1 for the stack trace, and report it if the message does not say what to change.")]);
        }
    }

    private static Exception Unwrap(Exception exception)
    {
        while (true)
        {
            switch (exception)
            {
                case AggregateException { InnerExceptions.Count: 1 } aggregate:
                    exception = aggregate.InnerExceptions[0];
                    break;
                case TargetInvocationException { InnerException: { } inner }:
                    exception = inner;
                    break;
                default:
                    return exception;
            }
        }
    }

    /// <summary>True with Nimbus:Debug (NIMBUS_DEBUG=1 or true) or a Debug/Trace default log level: stack traces are shown.</summary>
    internal static bool IsDebug(IConfiguration? configuration)
    {
        var flag = configuration?["Nimbus:Debug"] ?? Environment.GetEnvironmentVariable("NIMBUS_DEBUG");
        if (flag is "1" || string.Equals(flag, "true", StringComparison.OrdinalIgnoreCase))
        {
            return true;
        }

        var level = configuration?["Logging:LogLevel:Default"];
        return string.Equals(level, "Debug", StringComparison.OrdinalIgnoreCase) || string.Equals(level, "Trace", StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>Adds the environment variable and switch to a validation failure that names a setting ("Listen '...' must ...").</summary>
    private static string WithSetting(string failure)
    {
        var name = failure.Split(' ', 2)[0];
        var setting = NimbusSettings.All.FirstOrDefault(s => s.Key == $"Nimbus:{name}");
        return setting is null ? failure : $"{failure} (set with {Named(setting.Key)})";
    }

    /// <summary>A configuration key as the user sets it: "Nimbus:MaxInstances (NIMBUS_MAX_INSTANCES, --max-instances)".</summary>
    private static string Named(string key)
    {
        var setting = NimbusSettings.All.FirstOrDefault(s => string.Equals(s.Key, key, StringComparison.OrdinalIgnoreCase));
        return setting is null ? key : setting.Switch is null ? $"{key} ({setting.EnvironmentVariable})" : $"{key} ({setting.EnvironmentVariable}, {setting.Switch})";
    }

    private static string TypeName(string clrType) => clrType switch
    {
        "System.Int32" or "System.Int64" => "whole number",
        "System.Boolean" => "boolean (true or false)",
        "System.TimeSpan" => "duration such as 00:01:00",
        "System.Double" or "System.Decimal" => "number",
        _ when typeof(StartupFailure).Assembly.GetType(clrType) is { IsEnum: true } choices =>
            $"choice: use one of {string.Join(", ", Enum.GetNames(choices).Select(n => n.ToLowerInvariant()))}",
        _ => clrType,
    };

    // Microsoft.Extensions.Configuration.Binder: "Failed to convert configuration value at 'Nimbus:MaxInstances' to type 'System.Int32'."
    [GeneratedRegex(@"^Failed to convert configuration value(?: '[^']*')? at '(?<key>[^']+)' to type '(?<type>[^']+)'")]
    private static partial Regex ConversionFailure();
}
