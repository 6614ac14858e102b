using System.Diagnostics;
using System.Globalization;

namespace Nimbus.Sandboxes;

/// <summary>
/// Starts each instance in bubblewrap: its own mount, pid, ipc and uts namespaces, the code read-only at
/// /var/task, the runtime clients read-only at /var/runtime, a private size-capped /tmp, and of the host only
/// the system directories a runtime needs, read-only. Inside, setpriv drops to the instance's own unprivileged
/// uid with no capabilities, then <see cref="SandboxEntry"/> restores the function's environment (which no
/// process outside the sandbox sees under its own names) and applies Landlock before the runtime starts. Killing
/// bwrap kills the whole namespace. With
/// <paramref name="mounts"/>, sandboxes can be pre-started with an empty /var/task that receives its code later.
/// </summary>
internal sealed class BubblewrapSandboxFactory(string bwrapPath, string? setprivPath, CgroupManager cgroups, SandboxIdentities identities, CodeMounts? mounts, SandboxEntry entry) : ISandboxFactory
{
    /// <summary>
    /// The processes bwrap keeps above the command (with <c>--unshare-pid</c>: itself, and its pid-1 child that reaps the
    /// namespace's orphans): they only wait once the command started.
    /// </summary>
    internal const int BwrapProcesses = 2;

    private static readonly string[] SystemDirectories = ["/usr", "/bin", "/sbin", "/lib", "/lib64", "/lib32", "/libx32"];

    private const string ResolvConf = "/etc/resolv.conf";

    private static readonly string[] EtcFiles =
    [
        "/etc/alternatives", "/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/localtime",
        "/etc/nsswitch.conf", "/etc/hosts", ResolvConf, "/etc/ssl",
        "/etc/ca-certificates", "/etc/mime.types",
    ];

    public string Kind => cgroups.IsAvailable ? $"bubblewrap + {cgroups.Kind}" : "bubblewrap";

    public SandboxPaths PathsFor(string codeDirectory, string runtimesDirectory) => new("/var/task", "/var/runtime");

    public bool CanPrestart => mounts is not null;

    public async Task<ISandbox> StartAsync(SandboxSpec spec, Func<string, ValueTask> onOutputLine)
    {
        var start = new ProcessStartInfo(bwrapPath);
        var args = start.ArgumentList;
        foreach (var argument in (string[])["--die-with-parent", "--new-session", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try", "--hostname", "localhost"])
        {
            args.Add(argument);
        }

        foreach (var directory in SystemDirectories)
        {
            var info = new DirectoryInfo(directory);
            if (info.LinkTarget is { } target)
            {
                Add(args, "--symlink", target, directory);
            }
            else if (info.Exists)
            {
                Add(args, "--ro-bind", directory, directory);
            }
        }

        // Directories bwrap would create implicitly for mount points get 0700, locking the runtime user out.
        Add(args, "--perms", "0755", "--dir", "/etc", "--perms", "0755", "--dir", "/var");
        // The sandbox's own passwd and group name its users (sbx_user<uid>) and nothing of the host's.
        Add(args, "--ro-bind", identities.PasswdFile, "/etc/passwd", "--ro-bind", identities.GroupFile, "/etc/group");
        foreach (var path in EtcFiles)
        {
            if (path == ResolvConf && spec.Network is not null)
            {
                // In a network namespace of its own, the host's resolvers may be on a loopback it cannot reach.
                Add(args, "--ro-bind", identities.IsolatedResolvConfFile, ResolvConf);
            }
            else
            {
                Add(args, "--ro-bind-try", path, path);
            }
        }

        args.Add("--proc");
        args.Add("/proc");
        args.Add("--dev");
        args.Add("/dev");
        args.Add("--perms");
        args.Add("01777");
        args.Add("--size");
        args.Add(((long)spec.EphemeralStorageMb * 1024 * 1024).ToString(CultureInfo.InvariantCulture));
        args.Add("--tmpfs");
        args.Add("/tmp");
        foreach (var path in spec.ReadOnlyHostPaths)
        {
            // The parents of an interpreter's prefix (such as /root/.pyenv/versions) get 0755 too. After /tmp's tmpfs, so
            // that a host path under /tmp (a data directory's shared boto3) is not hidden by it.
            foreach (var ancestor in Ancestors(path))
            {
                Add(args, "--perms", "0755", "--dir", ancestor);
            }

            Add(args, "--ro-bind", path, path);
        }

        CodeSlot? slot = null;
        if (spec.CodeDirectory is not null)
        {
            Add(args, "--ro-bind", spec.CodeDirectory, "/var/task");
        }
        else
        {
            slot = (mounts ?? throw new InvalidOperationException("This node cannot pre-start sandboxes.")).PrepareSlot(spec.InstanceId);
            Add(args, "--ro-bind", slot.Task, "/var/task");
        }

        Add(args, "--ro-bind", spec.RuntimesDirectory, "/var/runtime");
        if (spec.OptDirectory is { } opt)
        {
            Add(args, "--ro-bind", opt, "/opt");
        }

        args.Add("--chdir");
        args.Add("/var/task");
        args.Add("--");
        if (setprivPath is not null)
        {
            var id = spec.UserId.ToString(CultureInfo.InvariantCulture);
            foreach (var argument in (string[])[setprivPath, $"--reuid={id}", $"--regid={id}", "--clear-groups", "--inh-caps=-all", "--bounding-set=-all", "--"])
            {
                args.Add(argument);
            }
        }
        else
        {
            // Without setpriv the runtime stays root inside its namespaces; at least it holds no capabilities.
            args.Insert(0, "ALL");
            args.Insert(0, "--cap-drop");
        }

        foreach (var argument in entry.Prefix())
        {
            args.Add(argument);
        }

        args.Add(spec.Executable);
        foreach (var argument in spec.Arguments)
        {
            args.Add(argument);
        }

        start.Environment.Clear();
        foreach (var (key, value) in entry.HostEnvironment(spec.Environment))
        {
            start.Environment[key] = value;
        }

        InstanceCgroup? cgroup;
        try
        {
            cgroup = cgroups.Create(spec.InstanceId, spec.MemoryMb, spec.Background);
        }
        catch
        {
            ReleaseSlot(slot);
            throw;
        }

        return await SandboxProcess.StartAsync(start, onOutputLine, killTree: false, cgroup,
            cleanup: slot is null ? null : () => ReleaseSlot(slot),
            userId: setprivPath is null ? null : spec.UserId,
            assignCode: slot is null ? null : code => CodeMounts.Assign(slot, code), network: spec.Network, wrapperDepth: BwrapProcesses).ConfigureAwait(false);
    }

    private static void ReleaseSlot(CodeSlot? slot)
    {
        if (slot is not null)
        {
            CodeMounts.Release(slot);
        }
    }

    private static void Add(System.Collections.ObjectModel.Collection<string> args, params string[] parts)
    {
        foreach (var part in parts)
        {
            args.Add(part);
        }
    }

    /// <summary>"/root/.pyenv/versions/3.11.7" → "/root", "/root/.pyenv", "/root/.pyenv/versions".</summary>
    private static IEnumerable<string> Ancestors(string path)
    {
        var parts = path.Split('/', StringSplitOptions.RemoveEmptyEntries);
        for (var i = 1; i < parts.Length; i++)
        {
            yield return "/" + string.Join('/', parts.Take(i));
        }
    }
}
