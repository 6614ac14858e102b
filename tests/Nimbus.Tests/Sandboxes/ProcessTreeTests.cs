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

    [Fact]
    public void A_tree_peak_adds_the_wrappers_read_at_the_walk_to_the_processes_below_read_through_open_status_files()
    {
        using var shell = Process.Start(new ProcessStartInfo("sh", ["-c", "sleep 30 & wait"]) { UseShellExecute = false })!;
        try
        {
            var sleep = WaitForChild(shell.Id);
            using var peak = new ProcessTreePeak(shell.Id, wrapperDepth: 1);
            var sampled = peak.Sample(0);
            var expected = ProcessTree.ReadVmHwmBytes(shell.Id) + ProcessTree.ReadVmHwmBytes(sleep);
            Assert.Equal(expected, sampled);
            Assert.Equal(1, peak.OpenStatusFiles);
        }
        finally
        {
            shell.Kill(entireProcessTree: true);
        }
    }

    [Fact]
    public void A_tree_peak_sees_a_process_grow_between_walks_and_keeps_the_peak_after_it_exits()
    {
        using var python = Allocator();
        try
        {
            using var peak = new ProcessTreePeak(python.Id, wrapperDepth: 0);
            var before = peak.Sample(0);

            // No walk between these samples (the same clock): the open status file shows the new peak.
            python.StandardInput.WriteLine("grow");
            Assert.Equal("grown", python.StandardOutput.ReadLine());
            var after = peak.Sample(1);
            Assert.True(after >= before + (64L << 20), $"64 MB more were touched; the peak went from {before} to {after} bytes");

            python.Kill();
            python.WaitForExit();
            Assert.Equal(after, peak.Sample(2));
            Assert.Equal(after, peak.Sample(2 + ProcessTreePeak.WalkIntervalMs));
            Assert.Equal(0, peak.OpenStatusFiles);
        }
        finally
        {
            if (!python.HasExited)
            {
                python.Kill();
            }
        }
    }

    [Fact]
    public void A_tree_peak_reads_the_wrappers_again_only_at_the_next_walk()
    {
        using var python = Allocator();
        try
        {
            using var peak = new ProcessTreePeak(python.Id, wrapperDepth: 1);
            var before = peak.Sample(0);
            python.StandardInput.WriteLine("grow");
            Assert.Equal("grown", python.StandardOutput.ReadLine());
            Assert.Equal(before, peak.Sample(ProcessTreePeak.WalkIntervalMs - 1));
            Assert.True(peak.Sample(ProcessTreePeak.WalkIntervalMs) >= before + (64L << 20), "the walk reads the wrapper's peak");
        }
        finally
        {
            python.Kill();
        }
    }

    /// <summary>A python process that touches 64 MB more when told "grow", then answers "grown".</summary>
    private static Process Allocator()
    {
        var start = new ProcessStartInfo("python3", ["-c", "import sys\nsys.stdin.readline()\nb = bytearray(64 << 20)\nfor i in range(0, len(b), 4096): b[i] = 1\nprint('grown', flush=True)\nsys.stdin.readline()\n"])
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
        };
        return Process.Start(start)!;
    }

    private static int WaitForChild(int pid)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (DateTime.UtcNow < deadline)
        {
            var tree = ProcessTree.Walk(pid);
            if (tree.Length > 1)
            {
                return tree[1];
            }

            Thread.Sleep(10);
        }

        throw new TimeoutException($"Process {pid} started no child within 10 s.");
    }
}
