using System.Globalization;

/// <summary>
/// Runs in nimbusd before Main (DOTNET_STARTUP_HOOKS); writes the thread pool's completed work items, the bytes the
/// process has allocated, the pool's thread count, the methods the JIT has compiled and the milliseconds it spent
/// compiling them (System.Runtime.JitInfo: tier-up work still going on shows here), on one line.
/// </summary>
internal static class StartupHook
{
    public static void Initialize()
    {
        if (Environment.GetEnvironmentVariable("NIMBUS_ALLOC_PROBE_FILE") is { Length: > 0 } allocations)
        {
            AllocationSampler.Start(allocations);
        }

        var path = Environment.GetEnvironmentVariable("NIMBUS_POOL_PROBE_FILE");
        if (string.IsNullOrEmpty(path))
        {
            return;
        }

        var thread = new Thread(() =>
        {
            var temporary = path + ".tmp";
            while (true)
            {
                try
                {
                    File.WriteAllText(temporary, string.Create(CultureInfo.InvariantCulture,
                        $"{ThreadPool.CompletedWorkItemCount} {GC.GetTotalAllocatedBytes(precise: false)} {ThreadPool.ThreadCount} {System.Runtime.JitInfo.GetCompiledMethodCount()} {(long)System.Runtime.JitInfo.GetCompilationTime().TotalMilliseconds}"));
                    File.Move(temporary, path, overwrite: true);
                }
                catch (IOException)
                {
                }

                Thread.Sleep(20);
            }
        })
        {
            IsBackground = true,
            Name = "pool probe",
        };
        thread.Start();
    }
}
