using Nimbus.Sandboxes;

namespace Nimbus.Tests.Sandboxes;

public sealed class PlatformLogTests
{
    [Fact]
    public void REPORT_line_has_Lambdas_fields_tab_separated_with_a_trailing_tab()
    {
        var line = PlatformLog.Report("abc", 26.731, 128, 75, initDurationMs: null);

        Assert.Equal("REPORT RequestId: abc\tDuration: 26.73 ms\tBilled Duration: 27 ms\tMemory Size: 128 MB\tMax Memory Used: 75 MB\t", line);
    }

    [Fact]
    public void Cold_start_REPORT_appends_Init_Duration_after_Max_Memory_Used()
    {
        var line = PlatformLog.Report("abc", 1.2, 256, 40, initDurationMs: 841.6);

        Assert.EndsWith("Max Memory Used: 40 MB\tInit Duration: 841.60 ms\t", line, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0.0, 1)]
    [InlineData(0.4, 1)]
    [InlineData(1.0, 1)]
    [InlineData(1.01, 2)]
    [InlineData(26.73, 27)]
    public void Billed_duration_rounds_up_to_the_millisecond(double duration, long billed)
    {
        Assert.Equal(billed, PlatformLog.BilledMs(duration));
    }

    [Fact]
    public void START_and_END_lines_match_Lambda()
    {
        Assert.Equal("START RequestId: r1 Version: $LATEST", PlatformLog.Start("r1", "$LATEST"));
        Assert.Equal("END RequestId: r1", PlatformLog.End("r1"));
    }

    [Fact]
    public void Timeout_message_gives_the_timeout_with_two_decimals()
    {
        Assert.Equal("RequestId: r1 Error: Task timed out after 3.00 seconds", PlatformLog.TimedOutMessage("r1", 3));
    }

    [Theory]
    [InlineData(3, null, "exit status 3")]
    [InlineData(null, 9, "signal: killed")]
    [InlineData(null, 6, "signal: aborted")]
    public void Runtime_exit_is_worded_as_Lambda_words_it(int? code, int? signal, string expected)
    {
        Assert.Equal(expected, new SandboxExit(1, code, signal).Describe());
    }
}
