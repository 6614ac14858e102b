using System.Text;
using System.Text.Json;

namespace Nimbus.IntegrationTests;

/// <summary>
/// A successful <c>aws lambda invoke</c>: the metadata the CLI printed (StatusCode, FunctionError,
/// LogResult, ExecutedVersion) and the response payload it wrote to the output file.
/// </summary>
internal sealed class CliInvocation
{
    public CliInvocation(CliResult result, string payloadText)
    {
        Result = result;
        PayloadText = payloadText;
        Metadata = result.Json();
        var logResult = Metadata.TryGetProperty("LogResult", out var log) ? log.GetString() : null;
        Log = logResult is null ? null : Encoding.UTF8.GetString(Convert.FromBase64String(logResult));
    }

    public CliResult Result { get; }

    public JsonElement Metadata { get; }

    public string PayloadText { get; }

    public long StatusCode => Metadata.Num("StatusCode");

    public string? FunctionError => Metadata.Has("FunctionError") ? Metadata.Str("FunctionError") : null;

    public string? ExecutedVersion => Metadata.Has("ExecutedVersion") ? Metadata.Str("ExecutedVersion") : null;

    /// <summary>The base64-decoded LogResult, present with <c>--log-type Tail</c>.</summary>
    public string? Log { get; }

    public JsonElement Payload => JsonAssert.Parse(PayloadText, $"the response payload of {Result.CommandLine}");

    /// <summary>Requires StatusCode 200 without FunctionError and returns the payload.</summary>
    public JsonElement ShouldReturn()
    {
        Assert.True(StatusCode == 200 && FunctionError is null, $"Expected StatusCode 200 without FunctionError.{Environment.NewLine}{this}");
        return Payload;
    }

    /// <summary>Requires StatusCode 200 with FunctionError "Unhandled" and returns the error payload.</summary>
    public JsonElement ShouldFailUnhandled()
    {
        Assert.True(StatusCode == 200 && FunctionError == "Unhandled", $"Expected StatusCode 200 with FunctionError Unhandled.{Environment.NewLine}{this}");
        return Payload;
    }

    public string ShouldHaveLog()
    {
        Assert.True(Log is not null, $"Expected a LogResult (--log-type Tail).{Environment.NewLine}{this}");
        return Log;
    }

    public override string ToString() =>
        $"{Result}{Environment.NewLine}payload: {(PayloadText.Length > 2_000 ? PayloadText[..2_000] + "..." : PayloadText)}"
        + (Log is null ? "" : $"{Environment.NewLine}log:{Environment.NewLine}{Log}");
}
