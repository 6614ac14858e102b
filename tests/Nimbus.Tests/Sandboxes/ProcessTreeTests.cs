using System.Diagnostics;
using System.Text;
using Nimbus.Sandboxes;

namespace Nimbus.Tests.Sandboxes;

public sealed class ProcessTreeTests
{
    [Fact]
    public void The_peak_of_a_status_text_is_its_VmHWM_line_in_bytes()
    {
        var status = "Name:\tnode\nVmPeak:\t  999999 kB\nVmSize:\t  1000 kB\nVmHWM:\t    1936 kB\nVmRSS:\t    1800 kB\n";
        Assert.Equal(1936L * 1024, ProcessTree.ParseVmHwmBytes(Encoding.ASCII.GetBytes(status)));
    }

    [Theory]
    [InlineData("Name:\tkthreadd\nState:\tS (sleeping)\n")]
    [InlineData("Name:\tx\nVmHWM:\t kB\n")]
    [InlineData("")]
    public void A_status_without_a_peak_counts_nothing(string status)
    {
        Assert.Equal(0, ProcessTree.ParseVmHwmBytes(Encoding.ASCII.GetBytes(status)));
    }

    [Fact]
    public void A_real_process_tree_is_walked_and_its_peaks_summed()
    {
        using var child = Process.Start(new ProcessStartInfo("sleep", "30") { UseShellExecute = false })!;
        try
        {
            var self = Environment.ProcessId;
            var tree = ProcessTree.Walk(self);
            Assert.Equal(self, tree[0]);
            Assert.Contains(child.Id, tree);

            var own = ProcessTree.ReadVmHwmBytes(self);
            Assert.True(own > 1024 * 1024, $"this process's peak is {own} bytes");
            Assert.True(ProcessTree.PeakResidentBytes(tree) > own, "the child's peak is added");
            Assert.Equal(0, ProcessTree.ReadVmHwmBytes(int.MaxValue));
        }
        finally
        {
            child.Kill();
        }
    }
}
