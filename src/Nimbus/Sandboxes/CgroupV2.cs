using System.Globalization;

namespace Nimbus.Sandboxes;

/// <summary>Instance cgroups on the unified hierarchy: <c>&lt;parent&gt;/&lt;instance&gt;</c> with memory, cpu and pids enabled.</summary>
internal sealed class CgroupV2 : InstanceCgroup
{
    private readonly string _path;

    // Touched on every invocation: opened once (see CgroupFile).
    private readonly CgroupFile _freeze;
    private readonly CgroupFile _peak;

    private CgroupV2(string path)
    {
        _path = path;
        _freeze = new CgroupFile(Path.Combine(path, "cgroup.freeze"), FileAccess.Write);
        _peak = new CgroupFile(Path.Combine(path, "memory.peak"), FileAccess.Read);
        ProcsFiles = [Path.Combine(path, "cgroup.procs")];
    }

    public override IReadOnlyList<string> ProcsFiles { get; }

    public static CgroupV2 Create(string parent, string name, CgroupLimits limits)
    {
        var cgroup = new CgroupV2(Path.Combine(parent, name));
        Directory.CreateDirectory(cgroup._path);
        Write(Path.Combine(cgroup._path, "memory.max"), limits.MemoryBytes.ToString(CultureInfo.InvariantCulture));
        TryWrite(Path.Combine(cgroup._path, "memory.swap.max"), "0");
        Write(Path.Combine(cgroup._path, "cpu.weight"), limits.CpuWeight.ToString(CultureInfo.InvariantCulture));
        Write(Path.Combine(cgroup._path, "pids.max"), limits.MaxProcesses.ToString(CultureInfo.InvariantCulture));
        return cgroup;
    }

    public override void SetLimits(CgroupLimits limits)
    {
        Write(Path.Combine(_path, "memory.max"), limits.MemoryBytes.ToString(CultureInfo.InvariantCulture));
        Write(Path.Combine(_path, "cpu.weight"), limits.CpuWeight.ToString(CultureInfo.InvariantCulture));
    }

    public override void Freeze() => _freeze.TryWrite("1"u8);

    public override void Thaw() => _freeze.TryWrite("0"u8);

    public override long PeakMemoryBytes() => _peak.ReadLong();

    public override bool OutOfMemoryKilled() => ReadKeyed(Path.Combine(_path, "memory.events"), "oom_kill") > 0;

    public override void KillAll()
    {
        // cgroup.kill (5.14+) kills the whole tree at once, frozen or not.
        TryWrite(Path.Combine(_path, "cgroup.kill"), "1");
        Thaw();
        KillProcessesIn(Path.Combine(_path, "cgroup.procs"));
    }

    protected override bool TryDelete()
    {
        _freeze.Close();
        _peak.Close();
        return TryRemoveDirectory(_path);
    }

    public static void RemoveStale(string parent)
    {
        foreach (var stale in Directory.EnumerateDirectories(parent))
        {
            var cgroup = new CgroupV2(stale);
            cgroup.KillAll();
            cgroup.Delete();
        }
    }
}
