using System.Globalization;
using Microsoft.Win32.SafeHandles;

namespace Nimbus.Sandboxes;

/// <summary>Reads a process tree from /proc. Used where no cgroup accounts for the tree.</summary>
internal static class ProcessTree
{
    /// <summary>The most processes a walk returns.</summary>
    public const int MaxProcesses = 4096;

    /// <summary>The process and its descendants, the process first (at most <see cref="MaxProcesses"/>).</summary>
    public static int[] Walk(int rootPid) => [.. WalkWithDepths(rootPid).Select(p => p.Pid)];

    /// <summary>
    /// The process and its descendants with their depth below it (the process 0, its children 1, ...), the process first,
    /// every process before its descendants (at most <see cref="MaxProcesses"/>).
    /// </summary>
    public static List<(int Pid, int Depth)> WalkWithDepths(int rootPid)
    {
        var found = new List<(int Pid, int Depth)>();
        var pending = new Stack<(int Pid, int Depth)>();
        pending.Push((rootPid, 0));
        while (pending.Count > 0 && found.Count < MaxProcesses)
        {
            var (pid, depth) = pending.Pop();
            found.Add((pid, depth));
            foreach (var child in Children(pid))
            {
                pending.Push((child, depth + 1));
            }
        }

        return found;
    }

    /// <summary>Sum of the peak resident set (VmHWM) of <paramref name="pids"/>, in bytes; a process gone counts 0.</summary>
    public static long PeakResidentBytes(ReadOnlySpan<int> pids)
    {
        long total = 0;
        foreach (var pid in pids)
        {
            total += ReadVmHwmBytes(pid);
        }

        return total;
    }

    /// <summary>Sum of the peak resident set (VmHWM) of the process and its descendants, in bytes.</summary>
    public static long PeakResidentBytes(int rootPid) => PeakResidentBytes(Walk(rootPid));

    /// <summary>VmHWM of /proc/PID/status, read into a stack buffer (no reader, no strings: it runs once per invocation).</summary>
    internal static long ReadVmHwmBytes(int pid)
    {
        try
        {
            using var handle = OpenStatus(pid);
            return ReadVmHwmBytes(handle);
        }
        catch (IOException)
        {
            return 0;
        }
        catch (UnauthorizedAccessException)
        {
            return 0;
        }
    }

    /// <summary>/proc/PID/status, opened for <see cref="ReadVmHwmBytes(SafeFileHandle)"/>.</summary>
    internal static SafeFileHandle OpenStatus(int pid) =>
        File.OpenHandle(string.Create(CultureInfo.InvariantCulture, $"/proc/{pid}/status"), FileMode.Open, FileAccess.Read, FileShare.ReadWrite);

    /// <summary>
    /// VmHWM of an open /proc/PID/status, read again from its start (the kernel renders the file anew on each read at
    /// offset 0). Throws <see cref="IOException"/> once the process is gone: an open status file stays bound to its
    /// process, never to a later one that reuses the pid.
    /// </summary>
    internal static long ReadVmHwmBytes(SafeFileHandle status)
    {
        Span<byte> buffer = stackalloc byte[4096];
        var length = RandomAccess.Read(status, buffer, 0);
        return ParseVmHwmBytes(buffer[..length]);
    }

    /// <summary>The <c>VmHWM:</c> line of a /proc status text in bytes; 0 when absent (a kernel thread, a zombie).</summary>
    internal static long ParseVmHwmBytes(ReadOnlySpan<byte> status)
    {
        var at = status.IndexOf("\nVmHWM:"u8);
        if (at < 0)
        {
            return 0;
        }

        var rest = status[(at + "\nVmHWM:"u8.Length)..].TrimStart(" \t"u8);
        long kilobytes = 0;
        var digits = 0;
        foreach (var b in rest)
        {
            if (b is < (byte)'0' or > (byte)'9')
            {
                break;
            }

            kilobytes = (kilobytes * 10) + (b - '0');
            digits++;
        }

        return digits == 0 ? 0 : kilobytes * 1024;
    }

    private static IEnumerable<int> Children(int pid)
    {
        string[] tasks;
        try
        {
            tasks = Directory.GetDirectories($"/proc/{pid}/task");
        }
        catch (IOException)
        {
            yield break;
        }
        catch (UnauthorizedAccessException)
        {
            yield break;
        }

        foreach (var task in tasks)
        {
            string text;
            try
            {
                text = File.ReadAllText(Path.Combine(task, "children"));
            }
            catch (IOException)
            {
                continue;
            }

            foreach (var part in text.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            {
                if (int.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out var child))
                {
                    yield return child;
                }
            }
        }
    }
}
