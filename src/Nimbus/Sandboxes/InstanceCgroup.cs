namespace Nimbus.Sandboxes;

/// <summary>
/// The cgroup of one instance: memory limit, CPU weight, pids limit and freezer. The sandbox's first process
/// joins it before it starts anything (see <see cref="ProcsFiles"/>), so the whole tree is inside.
/// </summary>
internal abstract class InstanceCgroup
{
    /// <summary>Files a process writes its pid to, to join every controller of this cgroup.</summary>
    public abstract IReadOnlyList<string> ProcsFiles { get; }

    /// <summary>Stops every process of the instance; it uses no CPU until <see cref="Thaw"/>.</summary>
    public abstract void Freeze();

    public abstract void Thaw();

    /// <summary>Applies the limits of another memory size (a pre-started instance taking on its function's).</summary>
    public abstract void SetLimits(CgroupLimits limits);

    /// <summary>Peak memory charged to the instance since it started, in bytes.</summary>
    public abstract long PeakMemoryBytes();

    /// <summary>True once the kernel has killed a process of the instance for exceeding its memory limit.</summary>
    public abstract bool OutOfMemoryKilled();

    /// <summary>Thaws and SIGKILLs every process still in the cgroup.</summary>
    public abstract void KillAll();

    /// <summary>Removes the cgroup; call after the processes have exited. Best effort.</summary>
    public void Delete()
    {
        for (var attempt = 0; attempt < DeleteAttempts && !TryDelete(); attempt++)
        {
            Thread.Sleep(DeleteRetryDelay);
        }
    }

    /// <summary><see cref="Delete"/> without blocking a thread while the cgroup empties.</summary>
    public async Task DeleteAsync()
    {
        for (var attempt = 0; attempt < DeleteAttempts && !TryDelete(); attempt++)
        {
            await Task.Delay(DeleteRetryDelay).ConfigureAwait(false);
        }
    }

    /// <summary>Removes what it can; true once nothing of the cgroup is left.</summary>
    protected abstract bool TryDelete();

    // A cgroup empties a moment after its last process is reaped.
    private const int DeleteAttempts = 50;
    private static readonly TimeSpan DeleteRetryDelay = TimeSpan.FromMilliseconds(10);

    protected static string? ReadOrNull(string path)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>The number after <paramref name="key"/> in a flat keyed file such as memory.events.</summary>
    protected static long ReadKeyed(string path, string key)
    {
        foreach (var line in (ReadOrNull(path) ?? "").Split('\n'))
        {
            var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length == 2 && parts[0] == key && long.TryParse(parts[1], System.Globalization.CultureInfo.InvariantCulture, out var value))
            {
                return value;
            }
        }

        return 0;
    }

    protected static void Write(string path, string value) => File.WriteAllText(path, value);

    protected static void TryWrite(string path, string value)
    {
        try
        {
            File.WriteAllText(path, value);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    protected static void KillProcessesIn(string procsFile)
    {
        foreach (var line in (ReadOrNull(procsFile) ?? "").Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            if (int.TryParse(line, System.Globalization.CultureInfo.InvariantCulture, out var pid))
            {
                _ = Kill(pid, 9);
            }
        }
    }

    /// <summary>True when the directory is gone (or was never there).</summary>
    protected static bool TryRemoveDirectory(string path)
    {
        try
        {
            Directory.Delete(path);
            return true;
        }
        catch (DirectoryNotFoundException)
        {
            return true;
        }
        catch (IOException)
        {
            return false;
        }
        catch (UnauthorizedAccessException)
        {
            // Not ours to remove: stop trying.
            return true;
        }
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);
}
