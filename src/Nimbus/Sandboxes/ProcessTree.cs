using System.Globalization;

namespace Nimbus.Sandboxes;

/// <summary>Reads a process tree from /proc. Used where no cgroup accounts for the tree.</summary>
internal static class ProcessTree
{
    /// <summary>Sum of the peak resident set (VmHWM) of the process and its descendants, in bytes.</summary>
    public static long PeakResidentBytes(int rootPid)
    {
        long total = 0;
        var pending = new Stack<int>();
        pending.Push(rootPid);
        var seen = 0;
        while (pending.Count > 0 && seen++ < 4096)
        {
            var pid = pending.Pop();
            total += ReadVmHwmBytes(pid);
            foreach (var child in Children(pid))
            {
                pending.Push(child);
            }
        }

        return total;
    }

    private static long ReadVmHwmBytes(int pid)
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{pid}/status"))
            {
                if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                {
                    var value = line.AsSpan(6).Trim();
                    var space = value.IndexOf(' ');
                    return long.Parse(space < 0 ? value : value[..space], CultureInfo.InvariantCulture) * 1024;
                }
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }

        return 0;
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
