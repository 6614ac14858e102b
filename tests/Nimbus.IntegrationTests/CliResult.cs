using System.Text.Json;
using System.Text.RegularExpressions;

namespace Nimbus.IntegrationTests;

/// <summary>What one AWS CLI run did: exit code, stdout, stderr, and how long it took.</summary>
internal sealed partial class CliResult(string commandLine, int exitCode, string stdout, string stderr, TimeSpan elapsed, int serviceErrorExitCode)
{
    public string CommandLine { get; } = commandLine;

    public int ExitCode { get; } = exitCode;

    public string Stdout { get; } = stdout;

    public string Stderr { get; } = stderr;

    public TimeSpan Elapsed { get; } = elapsed;

    /// <summary>Requires exit code 0 and returns stdout parsed as JSON.</summary>
    public JsonElement Json()
    {
        ShouldSucceed();
        return JsonAssert.Parse(Stdout, $"the output of {CommandLine}");
    }

    public CliResult ShouldSucceed()
    {
        Assert.True(ExitCode == 0, $"Expected exit code 0.{Environment.NewLine}{this}");
        return this;
    }

    /// <summary>
    /// Requires the CLI to report a service error (exit 254 for v2, 255 for v1) and returns the parsed
    /// "An error occurred (Code) when calling the Operation operation: Message" line.
    /// </summary>
    public CliError ShouldFail()
    {
        Assert.True(ExitCode == serviceErrorExitCode, $"Expected the CLI to report a service error with exit code {serviceErrorExitCode}.{Environment.NewLine}{this}");
        var match = ServiceError().Match(Stderr);
        Assert.True(match.Success, $"Expected 'An error occurred (<Code>) when calling the <Operation> operation: <Message>' on stderr.{Environment.NewLine}{this}");
        return new CliError(match.Groups["code"].Value, match.Groups["operation"].Value, match.Groups["message"].Value.Trim());
    }

    /// <summary>Requires a service error with the given code and returns its message.</summary>
    public string ShouldFailWith(string errorCode)
    {
        var error = ShouldFail();
        Assert.True(error.Code == errorCode, $"Expected error code {errorCode}, got {error.Code}.{Environment.NewLine}{this}");
        return error.Message;
    }

    public override string ToString() =>
        $"{CommandLine}{Environment.NewLine}exit code {ExitCode} after {Elapsed.TotalSeconds:0.0} s"
        + $"{Environment.NewLine}stdout: {Stdout.Trim()}{Environment.NewLine}stderr: {Stderr.Trim()}";

    [GeneratedRegex(@"An error occurred \((?<code>[^)]+)\) when calling the (?<operation>\w+) operation(?: \([^)]*\))?: (?<message>.*)", RegexOptions.Singleline)]
    private static partial Regex ServiceError();
}

/// <summary>A service error as the CLI printed it.</summary>
internal sealed record CliError(string Code, string Operation, string Message);
