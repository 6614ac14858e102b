namespace Nimbus.Sandboxes;

/// <summary>The limits of one instance, derived from its function's configuration as Lambda derives them.</summary>
internal readonly record struct CgroupLimits(long MemoryBytes, int CpuShares, int CpuWeight, int MaxProcesses)
{
    /// <summary>Lambda gives one full vCPU at 1,769 MB and CPU in proportion to memory below and above.</summary>
    public const int MemoryMbPerCpu = 1_769;

    /// <summary>Lambda's limit on processes and threads per execution environment.</summary>
    public const int DefaultMaxProcesses = 1_024;

    public static CgroupLimits ForMemory(int memoryMb) => new(
        MemoryBytes: (long)memoryMb * 1024 * 1024,
        CpuShares: Math.Max(2, (int)(1024L * memoryMb / MemoryMbPerCpu)),
        CpuWeight: Math.Clamp((int)(100L * memoryMb / MemoryMbPerCpu), 1, 10_000),
        MaxProcesses: DefaultMaxProcesses);

    /// <summary>
    /// The limits of <see cref="ForMemory"/> at the lowest CPU weight (cgroup v1 <c>cpu.shares</c> 2, v2 <c>cpu.weight</c> 1):
    /// a pre-started runtime loads on CPU time the instances and the server leave idle, and takes on its function's weight at
    /// specialization (<see cref="ISandbox.Specialize"/>).
    /// </summary>
    public static CgroupLimits Background(int memoryMb) => ForMemory(memoryMb) with { CpuShares = 2, CpuWeight = 1 };
}
