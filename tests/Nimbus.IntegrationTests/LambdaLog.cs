using System.Text.RegularExpressions;

namespace Nimbus.IntegrationTests;

/// <summary>Checks the platform lines Lambda writes around an invocation's own output.</summary>
internal static partial class LambdaLog
{
    /// <summary>
    /// Requires START, END and REPORT lines of one request id (the last invocation in the log), a REPORT
    /// line with Duration, Billed Duration, Memory Size and Max Memory Used, and the function's own
    /// printed line. <paramref name="coldStart"/> true requires Init Duration, false forbids it, null
    /// does not look.
    /// </summary>
    public static void ShouldDescribeInvocation(string log, int memorySize, bool? coldStart, string printedLine)
    {
        string Context() => $"{Environment.NewLine}log:{Environment.NewLine}{log}";

        var start = StartLine().Matches(log).LastOrDefault();
        var end = EndLine().Matches(log).LastOrDefault();
        var report = ReportLine().Matches(log).LastOrDefault();
        Assert.True(start is not null, $"Expected a 'START RequestId: ' line.{Context()}");
        Assert.True(end is not null, $"Expected an 'END RequestId: ' line.{Context()}");
        Assert.True(report is not null, $"Expected a 'REPORT RequestId: ' line.{Context()}");

        var requestId = start.Groups["id"].Value;
        Assert.True(end.Groups["id"].Value == requestId && report.Groups["id"].Value == requestId, $"START, END and REPORT should name one request id.{Context()}");

        var reportLine = report.Value;
        foreach (var field in new[] { "Duration: ", "Billed Duration: ", $"Memory Size: {memorySize} MB", "Max Memory Used: " })
        {
            Assert.True(reportLine.Contains(field, StringComparison.Ordinal), $"Expected '{field}' in the REPORT line.{Context()}");
        }

        if (coldStart is { } cold)
        {
            Assert.True(
                reportLine.Contains("Init Duration: ", StringComparison.Ordinal) == cold,
                $"The REPORT line should {(cold ? "" : "not ")}have 'Init Duration: ' on a {(cold ? "cold" : "warm")} invocation.{Context()}");
        }

        Assert.True(log.Contains(printedLine, StringComparison.Ordinal), $"Expected the function's own line '{printedLine}'.{Context()}");
    }

    [GeneratedRegex(@"START RequestId: (?<id>\S+)")]
    private static partial Regex StartLine();

    [GeneratedRegex(@"END RequestId: (?<id>\S+)")]
    private static partial Regex EndLine();

    [GeneratedRegex(@"REPORT RequestId: (?<id>\S+)[^\n]*")]
    private static partial Regex ReportLine();
}
