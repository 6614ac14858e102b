using System.Diagnostics;

namespace Nimbus.Sandboxes;

/// <summary>
/// Kills this server's instances when the server dies, however it dies. bwrap's <c>--die-with-parent</c> cannot
/// reach an instance frozen by the cgroup v1 freezer (a frozen task acts on no signal until thawed), so a server
/// killed with <c>kill -9</c> would leave its idle instances frozen forever. A small shell, outside every instance
/// cgroup, waits on a pipe whose only writer is this server; when the pipe closes it kills every process of this
/// server's instance cgroups, thaws them so the kills land, and removes the emptied cgroups. The shell is not the
/// server's child but a daemon in a session of its own: whoever kills the server's whole process tree (a
/// supervisor, <c>Process.Kill(entireProcessTree: true)</c>) or its process group must not take the guardian too.
/// </summary>
internal sealed class CgroupGuardian : IDisposable
{
    private const string V1Script = """
        read -r _ignored
        freezer="$1"; shift
        for c in "$freezer"/*/; do
          [ -f "${c}cgroup.procs" ] || continue
          while read -r pid; do kill -9 "$pid" 2>/dev/null; done < "${c}cgroup.procs"
          echo THAWED > "${c}freezer.state" 2>/dev/null
        done
        for _attempt in 1 2 3 4 5 6 7 8 9 10; do
          sleep 1
          left=0
          for parent in "$freezer" "$@"; do for c in "$parent"/*/; do [ -d "$c" ] || continue; rmdir "$c" 2>/dev/null || left=1; done; done
          [ "$left" = 0 ] && break
        done
        exit 0
        """;

    private const string V2Script = """
        read -r _ignored
        for c in "$1"/*/; do echo 1 > "${c}cgroup.kill" 2>/dev/null; done
        for _attempt in 1 2 3 4 5 6 7 8 9 10; do
          sleep 1
          left=0
          for c in "$1"/*/; do [ -d "$c" ] || continue; rmdir "$c" 2>/dev/null || left=1; done
          [ "$left" = 0 ] && break
        done
        exit 0
        """;

    // Starts the guardian detached (new session, reparented away from the server) with the pipe as its stdin. A
    // background job of a non-interactive shell gets /dev/null as stdin, hence the pipe's detour through fd 3.
    private const string Launcher = """
        script="$1"; shift
        exec 3<&0
        if command -v setsid >/dev/null 2>&1; then
          setsid /bin/sh -c "$script" nimbus-guardian "$@" <&3 >/dev/null 2>&1 &
        else
          /bin/sh -c "$script" nimbus-guardian "$@" <&3 >/dev/null 2>&1 &
        fi
        exit 0
        """;

    private readonly Process _shell;

    private CgroupGuardian(Process shell) => _shell = shell;

    /// <summary>Guards v1 instance cgroups: the freezer parent first, then the other controllers' parents.</summary>
    public static CgroupGuardian StartV1(string freezerParent, IEnumerable<string> otherParents) => Start(V1Script, [freezerParent, .. otherParents]);

    public static CgroupGuardian StartV2(string parent) => Start(V2Script, [parent]);

    private static CgroupGuardian Start(string script, IReadOnlyList<string> arguments)
    {
        var start = new ProcessStartInfo("/bin/sh")
        {
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add(Launcher);
        start.ArgumentList.Add("nimbus-guardian-launcher");
        start.ArgumentList.Add(script);
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        // The pipe's write end is this process's alone (.NET opens it close-on-exec), so it closes exactly when
        // the server exits. The launcher exits at once; the Process object keeps the write end open until then.
        return new CgroupGuardian(Process.Start(start) ?? throw new IOException("Could not start the instance guardian (/bin/sh)."));
    }

    public void Dispose() => _shell.Dispose();
}
