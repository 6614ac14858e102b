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
}
