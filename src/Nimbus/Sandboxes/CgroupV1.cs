using System.Globalization;

namespace Nimbus.Sandboxes;

/// <summary>
/// Instance cgroups on the legacy hierarchy: one directory per controller (memory, cpu, pids, freezer) under
/// <c>&lt;this server's cgroup&gt;/nimbus/&lt;instance&gt;</c>.
/// </summary>
internal sealed class CgroupV1 : InstanceCgroup
{
    private readonly string _memory;
    private readonly string _cpu;
    private readonly string _pids;
    private readonly string _freezer;

    // Touched on every invocation: opened once (see CgroupFile).
    private readonly CgroupFile _freezerState;
    private readonly CgroupFile _maxUsage;

    private CgroupV1(string memory, string cpu, string pids, string freezer)
    {
        _memory = memory;
        _cpu = cpu;
        _pids = pids;
        _freezer = freezer;
        _freezerState = new CgroupFile(Path.Combine(freezer, "freezer.state"), FileAccess.Write);
        _maxUsage = new CgroupFile(Path.Combine(memory, "memory.max_usage_in_bytes"), FileAccess.Read);
        ProcsFiles = [.. new[] { memory, cpu, pids, freezer }.Select(d => Path.Combine(d, "cgroup.procs"))];
    }

    public override IReadOnlyList<string> ProcsFiles { get; }

    public static CgroupV1 Create(IReadOnlyDictionary<string, string> parents, string name, CgroupLimits limits)
    {
        var cgroup = new CgroupV1(
            Path.Combine(parents["memory"], name),
            Path.Combine(parents["cpu"], name),
            Path.Combine(parents["pids"], name),
            Path.Combine(parents["freezer"], name));
        foreach (var directory in (string[])[cgroup._memory, cgroup._cpu, cgroup._pids, cgroup._freezer])
        {
            Directory.CreateDirectory(directory);
        }

        var memory = limits.MemoryBytes.ToString(CultureInfo.InvariantCulture);
        Write(Path.Combine(cgroup._memory, "memory.limit_in_bytes"), memory);

        // Where swap is accounted, memory+swap gets the same limit so an instance cannot swap past it.
        TryWrite(Path.Combine(cgroup._memory, "memory.memsw.limit_in_bytes"), memory);
        TryWrite(Path.Combine(cgroup._memory, "memory.swappiness"), "0");
        Write(Path.Combine(cgroup._cpu, "cpu.shares"), limits.CpuShares.ToString(CultureInfo.InvariantCulture));
        Write(Path.Combine(cgroup._pids, "pids.max"), limits.MaxProcesses.ToString(CultureInfo.InvariantCulture));
        return cgroup;
    }

    public override void SetLimits(CgroupLimits limits)
    {
        var memory = limits.MemoryBytes.ToString(CultureInfo.InvariantCulture);
        var memoryLimit = Path.Combine(_memory, "memory.limit_in_bytes");
        var swapLimit = Path.Combine(_memory, "memory.memsw.limit_in_bytes");

        // memory+swap may never be below memory: raise it first when growing, lower it last when shrinking.
        var growing = !long.TryParse(ReadOrNull(memoryLimit)?.Trim(), CultureInfo.InvariantCulture, out var current) || limits.MemoryBytes >= current;
        if (growing)
        {
            TryWrite(swapLimit, memory);
        }

        Write(memoryLimit, memory);
        if (!growing)
        {
            TryWrite(swapLimit, memory);
        }

        Write(Path.Combine(_cpu, "cpu.shares"), limits.CpuShares.ToString(CultureInfo.InvariantCulture));
    }

    public override void Freeze() => _freezerState.TryWrite("FROZEN"u8);

    public override void Thaw() => _freezerState.TryWrite("THAWED"u8);

    public override long PeakMemoryBytes() => _maxUsage.ReadLong();

    public override bool OutOfMemoryKilled() => ReadKeyed(Path.Combine(_memory, "memory.oom_control"), "oom_kill") > 0;

    public override void KillAll()
    {
        Thaw();
        KillProcessesIn(Path.Combine(_freezer, "cgroup.procs"));
    }

    protected override bool TryDelete()
    {
        _freezerState.Close();
        _maxUsage.Close();
        var gone = true;
        foreach (var directory in (string[])[_memory, _cpu, _pids, _freezer])
        {
            gone &= TryRemoveDirectory(directory);
        }

        return gone;
    }

    /// <summary>Kills and removes instance cgroups a previous run of the server left behind.</summary>
    public static void RemoveStale(IReadOnlyDictionary<string, string> parents)
    {
        foreach (var stale in Directory.EnumerateDirectories(parents["freezer"]))
        {
            var name = Path.GetFileName(stale);
            var cgroup = new CgroupV1(
                Path.Combine(parents["memory"], name),
                Path.Combine(parents["cpu"], name),
                Path.Combine(parents["pids"], name),
                stale);
            cgroup.KillAll();
            cgroup.Delete();
        }
    }
}
