using Nimbus.Sandboxes;

namespace Nimbus.Tests.Sandboxes;

public sealed class ScaleOutGateTests
{
    private static readonly TimeProvider Time = TimeProvider.System;

    /// <summary>A timestamp <paramref name="ms"/> after an arbitrary origin.</summary>
    private static long At(double ms) => 1_000_000_000L + (long)(ms * Time.TimestampFrequency / 1000);

    [Fact]
    public void A_pool_below_its_target_is_never_held_back_whatever_the_CPU()
    {
        var gate = new ScaleOutGate(Time);

        Assert.False(gate.Holds(atTarget: false, cpuFreeSince: 0, At(0)));
        Assert.False(gate.Holds(atTarget: false, cpuFreeSince: At(-5_000), At(10)));
    }

    [Fact]
    public void A_pool_at_its_target_on_saturated_CPUs_holds_its_callers_back()
    {
        var gate = new ScaleOutGate(Time);

        Assert.True(gate.Holds(atTarget: true, cpuFreeSince: 0, At(0)));
        Assert.True(gate.Holds(atTarget: true, cpuFreeSince: 0, At(60_000)));
    }

    [Fact]
    public void A_dip_of_the_CPU_shorter_than_FreeFor_keeps_holding_and_a_longer_one_lets_callers_scale_out()
    {
        var gate = new ScaleOutGate(Time);
        Assert.True(gate.Holds(atTarget: true, cpuFreeSince: 0, At(0)));

        // The CPUs read free from 10 s on: held back for FreeFor more, then not.
        var dip = At(10_000);
        Assert.True(gate.Holds(atTarget: true, cpuFreeSince: dip, At(10_100)));
        Assert.True(gate.Holds(atTarget: true, cpuFreeSince: dip, At(10_000 + ScaleOutGate.FreeFor.TotalMilliseconds - 50)));
        Assert.False(gate.Holds(atTarget: true, cpuFreeSince: dip, At(10_000 + ScaleOutGate.FreeFor.TotalMilliseconds + 50)));

        // Saturated again: held back at once.
        Assert.True(gate.Holds(atTarget: true, cpuFreeSince: 0, At(12_000)));
    }

    [Fact]
    public void A_burst_on_an_idle_node_waits_for_the_CPU_signal_from_when_the_pool_reached_its_target()
    {
        var gate = new ScaleOutGate(Time);

        // The node has been idle for minutes; the burst brings the pool to its target at 0.
        var idleSince = At(-300_000);
        Assert.False(gate.Holds(atTarget: false, cpuFreeSince: idleSince, At(-10)));
        Assert.True(gate.Holds(atTarget: true, cpuFreeSince: idleSince, At(0)));
        Assert.True(gate.Holds(atTarget: true, cpuFreeSince: idleSince, At(ScaleOutGate.FreeFor.TotalMilliseconds - 50)));

        // Still free a FreeFor later (a short function waiting on I/O): more instances may help.
        Assert.False(gate.Holds(atTarget: true, cpuFreeSince: idleSince, At(ScaleOutGate.FreeFor.TotalMilliseconds + 50)));

        // Below the target, then at it again: counted from the new arrival at the target.
        Assert.False(gate.Holds(atTarget: false, cpuFreeSince: idleSince, At(5_000)));
        Assert.True(gate.Holds(atTarget: true, cpuFreeSince: idleSince, At(5_010)));
    }

    [Fact]
    public void An_unknown_CPU_signal_never_holds_back()
    {
        var gate = new ScaleOutGate(Time);

        Assert.False(gate.Holds(atTarget: true, cpuFreeSince: NodeCpu.Unknown, At(0)));
        Assert.False(gate.Holds(atTarget: true, cpuFreeSince: NodeCpu.Unknown, At(100)));
    }
}
