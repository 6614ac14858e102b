using Nimbus.Metrics;

namespace Nimbus.Tests.Metrics;

public sealed class LambdaTraceHeaderTests
{
    private const string Root = "1-5759e988-bd862e3fe1be46a994272793";

    [Theory]
    [InlineData("Root=" + Root + ";Sampled=1", "1")]
    [InlineData("Root=" + Root + ";Parent=53995c3f42cd8ad8;Sampled=0", "0")]
    [InlineData("Root=" + Root, "0")]
    [InlineData("Self=1-67891234-12456789abcdef012345678;Root=" + Root + ";Sampled=1", "1")]
    public void A_callers_root_and_sampling_decision_are_kept_with_a_new_parent(string header, string sampled)
    {
        var passed = LambdaTraceHeader.ForFunction(header, TimeProvider.System);

        Assert.Matches($"^Root={Root};Parent=[0-9a-f]{{16}};Sampled={sampled}$", passed);
        Assert.DoesNotContain("53995c3f42cd8ad8", passed, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("Root=not-a-trace")]
    [InlineData("Root=1-5759e988-bd862e3fe1be46a99427279")]
    public void Without_a_valid_root_a_new_trace_starts(string? header)
    {
        var passed = LambdaTraceHeader.ForFunction(header, TimeProvider.System);

        Assert.Matches("^Root=1-[0-9a-f]{8}-[0-9a-f]{24};Parent=[0-9a-f]{16};Sampled=0$", passed);
    }

    [Theory]
    [InlineData("Root=" + Root + ";Parent=53995c3f42cd8ad8;Sampled=1", "1")]
    [InlineData("Root=" + Root, "0")]
    public void An_async_event_keeps_the_callers_root_and_sampling_without_a_parent(string header, string sampled)
    {
        var stored = LambdaTraceHeader.ForEvent(header, TimeProvider.System);

        Assert.Equal($"Root={Root};Sampled={sampled}", stored);
        Assert.Matches($"^Root={Root};Parent=[0-9a-f]{{16}};Sampled={sampled}$", LambdaTraceHeader.ForFunction(stored, TimeProvider.System));
    }

    [Fact]
    public void An_async_event_without_a_callers_header_gets_a_root_of_its_own_for_all_its_attempts()
    {
        var stored = LambdaTraceHeader.ForEvent(null, TimeProvider.System);

        Assert.Matches("^Root=1-[0-9a-f]{8}-[0-9a-f]{24};Sampled=0$", stored);
        var root = stored[..stored.IndexOf(';', StringComparison.Ordinal)];
        Assert.StartsWith(root + ";Parent=", LambdaTraceHeader.ForFunction(stored, TimeProvider.System), StringComparison.Ordinal);
    }

    [Fact]
    public void A_new_trace_carries_the_current_epoch_seconds_and_fresh_random_ids()
    {
        var at = new FixedTime(DateTimeOffset.FromUnixTimeSeconds(0x5759e988));

        // 300 traces take 6,000 random bytes: more than one refill of a thread's block.
        var traces = Enumerable.Range(0, 300).Select(_ => LambdaTraceHeader.ForFunction(null, at)).ToList();

        Assert.All(traces, trace => Assert.Matches("^Root=1-5759e988-[0-9a-f]{24};Parent=[0-9a-f]{16};Sampled=0$", trace));
        Assert.Equal(traces.Count, traces.Select(t => t[16..40]).Distinct(StringComparer.Ordinal).Count());
        Assert.Equal(traces.Count, traces.Select(t => t[48..64]).Distinct(StringComparer.Ordinal).Count());
    }

    private sealed class FixedTime(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }
}
