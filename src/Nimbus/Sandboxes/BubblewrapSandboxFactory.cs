using System.Diagnostics;
using System.Globalization;

namespace Nimbus.Sandboxes;

/// <summary>
/// Starts each instance in bubblewrap: its own mount, pid, ipc and uts namespaces, no capabilities, the code
/// read-only at /var/task, the runtime clients read-only at /var/runtime, a private size-capped /tmp, and of the
/// host only the system directories a runtime needs, read-only. Killing bwrap kills the whole namespace.
/// </summary>
internal sealed class BubblewrapSandboxFactory(string bwrapPath, CgroupManager cgroups) : ISandboxFactory
{
    private static readonly string[] SystemDirectories = ["/usr", "/bin", "/sbin", "/lib", "/lib64", "/lib32", "/libx32"];

    private static readonly string[] EtcFiles =
    [
        "/etc/alternatives", "/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/localtime",
        "/etc/nsswitch.conf", "/etc/hosts", "/etc/resolv.conf", "/etc/passwd", "/etc/group", "/etc/ssl",
        "/etc/ca-certificates", "/etc/mime.types",
    ];

    public string Kind => cgroups.IsAvailable ? $"bubblewrap + {cgroups.Kind}" : "bubblewrap";

    public SandboxPaths PathsFor(string codeDirectory, string runtimesDirectory) => new("/var/task", "/var/runtime");

    public ISandbox Start(SandboxSpec spec, Func<string, ValueTask> onOutputLine)
    {
        var start = new ProcessStartInfo(bwrapPath);
        var args = start.ArgumentList;
        foreach (var argument in (string[])["--die-with-parent", "--new-session", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try", "--cap-drop", "ALL", "--hostname", "localhost"])
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

        foreach (var path in EtcFiles)
        {
            Add(args, "--ro-bind-try", path, path);
        }

        foreach (var path in spec.ReadOnlyHostPaths)
        {
            Add(args, "--ro-bind", path, path);
        }

        args.Add("--proc");
        args.Add("/proc");
        args.Add("--dev");
        args.Add("/dev");
        args.Add("--size");
        args.Add(((long)spec.EphemeralStorageMb * 1024 * 1024).ToString(CultureInfo.InvariantCulture));
        args.Add("--tmpfs");
        args.Add("/tmp");
        Add(args, "--ro-bind", spec.CodeDirectory, "/var/task");
        Add(args, "--ro-bind", spec.RuntimesDirectory, "/var/runtime");
        args.Add("--chdir");
        args.Add("/var/task");
        args.Add("--");
        args.Add(spec.Executable);
        foreach (var argument in spec.Arguments)
        {
            args.Add(argument);
        }

        start.Environment.Clear();
        foreach (var (key, value) in spec.Environment)
        {
            start.Environment[key] = value;
        }

        return new SandboxProcess(start, onOutputLine, killTree: false, cgroups.Create(spec.InstanceId, spec.MemoryMb));
    }

    private static void Add(System.Collections.ObjectModel.Collection<string> args, string option, string source, string destination)
    {
        args.Add(option);
        args.Add(source);
        args.Add(destination);
    }
}
