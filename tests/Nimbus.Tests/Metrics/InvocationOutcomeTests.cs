using Nimbus.Invocation;

namespace Nimbus.Tests.Metrics;

public sealed class InvocationOutcomeTests
{
    /// <summary>metrics.db stores outcomes as these numbers: renumbering one would misread every stored invocation.</summary>
    [Fact]
    public void Persisted_outcome_values_never_change()
    {
        Assert.Equal(0, (int)InvocationOutcome.Success);
        Assert.Equal(1, (int)InvocationOutcome.FunctionError);
        Assert.Equal(2, (int)InvocationOutcome.Timeout);
        Assert.Equal(3, (int)InvocationOutcome.Throttled);
        Assert.Equal(4, (int)InvocationOutcome.Rejected);
        Assert.Equal(5, Enum.GetValues<InvocationOutcome>().Length);
    }

    /// <summary>metrics.db's async_rollup stores the async event metrics as these numbers.</summary>
    [Fact]
    public void Persisted_async_event_metric_values_never_change()
    {
        Assert.Equal(0, (int)AsyncEventMetric.Received);
        Assert.Equal(1, (int)AsyncEventMetric.Age);
        Assert.Equal(2, (int)AsyncEventMetric.Dropped);
        Assert.Equal(3, (int)AsyncEventMetric.DeadLetterError);
        Assert.Equal(4, (int)AsyncEventMetric.DestinationDeliveryFailure);
        Assert.Equal(5, Enum.GetValues<AsyncEventMetric>().Length);
    }
}
