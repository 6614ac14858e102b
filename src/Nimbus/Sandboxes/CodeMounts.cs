using System.Runtime.InteropServices;

namespace Nimbus.Sandboxes;

/// <summary>
/// Hands a function's code to a sandbox that is already running. A pre-started sandbox sees a per-instance
/// host directory (the slot) at /var/task; the slot is a shared bind mount, so a mount placed on it on the host
/// propagates into the sandbox's mount namespace (bubblewrap makes its mounts slaves of the host's). The code is
/// bound read-only first on a private staging point, so the copy that propagates is read-only too.
/// Every mount lives under one root directory per server; <see cref="RemoveStale"/> clears what a killed server
/// left there.
/// </summary>
internal sealed partial class CodeMounts
{
    private const ulong MsRdonly = 1;
    private const ulong MsRemount = 32;
    private const ulong MsBind = 4096;
    private const ulong MsPrivate = 1 << 18;
    private const ulong MsShared = 1 << 20;
    private const int MntDetach = 2;

    private CodeMounts(string root) => Root = root;

    /// <summary>Directory holding one subdirectory per pre-started sandbox.</summary>
    public string Root { get; }

    /// <summary>
    /// Prepares the root and checks that this process may mount (root in its mount namespace); null with the
    /// reason otherwise.
    /// </summary>
    public static (CodeMounts? Mounts, string? Problem) TryCreate(string root)
    {
        try
        {
            RemoveStale(root);
            Directory.CreateDirectory(root);
            var mounts = new CodeMounts(root);
            var probe = mounts.PrepareSlot("probe");
            Release(probe);
            return (mounts, null);
        }
        catch (IOException e)
        {
            return (null, e.Message);
        }
        catch (UnauthorizedAccessException e)
        {
            return (null, e.Message);
        }
    }

    /// <summary>Creates an empty slot for one sandbox and makes it a shared mount; returns the slot directory.</summary>
    public CodeSlot PrepareSlot(string id)
    {
        var directory = Path.Combine(Root, id);
        var slot = new CodeSlot(Path.Combine(directory, "task"), Path.Combine(directory, "stage"));
        Directory.CreateDirectory(slot.Task);
        Directory.CreateDirectory(slot.Stage);
        File.SetUnixFileMode(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        File.SetUnixFileMode(slot.Task, (UnixFileMode)0b111_101_101);
        Check(Mount(slot.Task, slot.Task, null, MsBind, null), "bind", slot.Task);
        Check(Mount(null, slot.Task, null, MsShared, null), "make shared", slot.Task);
        return slot;
    }

    /// <summary>Mounts <paramref name="codeDirectory"/> read-only on the slot, and so at /var/task in its sandbox.</summary>
    public static void Assign(CodeSlot slot, string codeDirectory)
    {
        Check(Mount(codeDirectory, slot.Stage, null, MsBind, null), "bind", slot.Stage);
        try
        {
            Check(Mount(null, slot.Stage, null, MsRemount | MsBind | MsRdonly, null), "remount read-only", slot.Stage);
            Check(Mount(null, slot.Stage, null, MsPrivate, null), "make private", slot.Stage);
            Check(Mount(slot.Stage, slot.Task, null, MsBind, null), "bind", slot.Task);
        }
        finally
        {
            _ = Umount2(slot.Stage, MntDetach);
        }
    }

    /// <summary>Detaches everything mounted on the slot and removes its directories. Best effort.</summary>
    public static void Release(CodeSlot slot)
    {
        _ = Umount2(slot.Stage, MntDetach);

        // The code (when assigned) on top of the slot's own bind: each call detaches the topmost.
        for (var depth = 0; depth < 4 && Umount2(slot.Task, MntDetach) == 0; depth++)
        {
        }

        try
        {
            Directory.Delete(Path.GetDirectoryName(slot.Task)!, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    /// <summary>Detaches mounts a previous run left under <paramref name="root"/> (deepest first), then removes it.</summary>
    private static void RemoveStale(string root)
    {
        var prefix = Path.TrimEndingDirectorySeparator(Path.GetFullPath(root)) + "/";
        var stale = File.ReadLines("/proc/self/mountinfo")
            .Select(line => line.Split(' '))
            .Where(fields => fields.Length > 4)
            .Select(fields => UnescapeMountPath(fields[4]))
            .Where(mountPoint => mountPoint.StartsWith(prefix, StringComparison.Ordinal))
            .OrderByDescending(mountPoint => mountPoint.Length)
            .ToList();
        foreach (var mountPoint in stale)
        {
            _ = Umount2(mountPoint, MntDetach);
        }

        if (Directory.Exists(root))
        {
            Directory.Delete(root, recursive: true);
        }
    }

    /// <summary>mountinfo escapes space, tab, newline and backslash as octal (\040).</summary>
    private static string UnescapeMountPath(string value) =>
        value.Replace("\\040", " ", StringComparison.Ordinal).Replace("\\011", "\t", StringComparison.Ordinal)
            .Replace("\\012", "\n", StringComparison.Ordinal).Replace("\\134", "\\", StringComparison.Ordinal);

    private static void Check(int result, string what, string path)
    {
        if (result != 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            throw new IOException($"mount ({what}) of {path} failed: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno}).");
        }
    }

    [LibraryImport("libc", EntryPoint = "mount", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Mount(string? source, string target, string? fileSystemType, ulong flags, string? data);

    [LibraryImport("libc", EntryPoint = "umount2", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Umount2(string target, int flags);
}

/// <summary>A pre-started sandbox's slot: <see cref="Task"/> is its /var/task, <see cref="Stage"/> a private staging point.</summary>
internal sealed record CodeSlot(string Task, string Stage);
