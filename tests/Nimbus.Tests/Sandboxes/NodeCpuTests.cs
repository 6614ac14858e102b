using System.Text;
using Nimbus.Sandboxes;

namespace Nimbus.Tests.Sandboxes;

public sealed class NodeCpuTests
{
    [Fact]
    public void Busy_time_is_everything_but_idle_and_iowait_from_user_through_steal()
    {
        var stat = Encoding.ASCII.GetBytes("cpu  100 5 50 800 20 0 10 15 7 0\ncpu0 50 2 25 400 10 0 5 8 3 0\nintr 1 2 3\n");

        Assert.True(NodeCpu.TryParse(stat, out var busy, out var total));

        // Guest time (7) is counted in user already.
        Assert.Equal(100 + 5 + 50 + 800 + 20 + 0 + 10 + 15, total);
        Assert.Equal(100 + 5 + 50 + 0 + 10 + 15, busy);
    }

    [Fact]
    public void A_first_line_that_is_not_the_cpu_totals_or_lacks_iowait_is_refused()
    {
        Assert.False(NodeCpu.TryParse(Encoding.ASCII.GetBytes("cpu0 100 5 50 800 20\n"), out _, out _));
        Assert.False(NodeCpu.TryParse(Encoding.ASCII.GetBytes("cpu  100 5 50 800\n"), out _, out _));
        Assert.False(NodeCpu.TryParse(Encoding.ASCII.GetBytes("cpu  100 x 50 800 20\n"), out _, out _));
    }

    [Fact]
    public void With_sampling_off_the_busy_ratio_is_unknown_and_the_node_never_counts_as_saturated()
    {
        using var off = new NodeCpu(TimeProvider.System, enabled: false);

        Assert.True(double.IsNaN(off.BusyRatio));
        Assert.False(off.Saturated);
    }

    [Fact]
    public void FreeSince_is_the_first_sample_of_the_current_free_stretch_and_zero_while_saturated()
    {
        using var cpu = new NodeCpu(TimeProvider.System, enabled: false);
        Assert.Equal(NodeCpu.Unknown, cpu.FreeSince);

        cpu.Record(0.95, 100);
        Assert.True(cpu.Saturated);
        Assert.Equal(0, cpu.FreeSince);

        cpu.Record(0.40, 200);
        cpu.Record(0.84, 300);
        Assert.False(cpu.Saturated);
        Assert.Equal(200, cpu.FreeSince);

        cpu.Record(0.85, 400);
        Assert.Equal(0, cpu.FreeSince);
        cpu.Record(0.10, 500);
        Assert.Equal(500, cpu.FreeSince);

        cpu.Record(double.NaN, 600);
        Assert.Equal(NodeCpu.Unknown, cpu.FreeSince);
        Assert.False(cpu.Saturated);
    }
}
