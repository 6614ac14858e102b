using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Nimbus.Sandboxes;

namespace Nimbus.Hosting;

/// <summary>Picks bubblewrap when it is installed and works here; otherwise the plain-process fallback, loudly.</summary>
internal static partial class SandboxFactorySelector
{
    public static ISandboxFactory Select(NimbusOptions options, DataDirectory data, ILogger logger)
    {
        var scratch = Path.Combine(data.Path, "scratch");
        var cgroups = options.UseCgroups ? CgroupManager.Detect(data.Path, logger) : CgroupManager.Disabled;
        if (!options.UseCgroups)
        {
            Log.CgroupsDisabled(logger);
        }

        if (!options.UseBubblewrap)
        {
            Log.BubblewrapDisabled(logger);
            return new ProcessSandboxFactory(scratch, cgroups);
        }

        var bwrap = FindOnPath("bwrap");
        if (bwrap is null)
        {
            Log.BubblewrapMissing(logger);
            return new ProcessSandboxFactory(scratch, cgroups);
        }

        var probe = Probe(bwrap);
        if (probe is not null)
        {
            Log.BubblewrapBroken(logger, bwrap, probe);
            return new ProcessSandboxFactory(scratch, cgroups);
        }

        var setpriv = FindOnPath("setpriv");
        if (setpriv is null)
        {
            Log.SetprivMissing(logger);
        }
        else if (!Environment.IsPrivilegedProcess)
        {
            // An ordinary user's bubblewrap maps only that user into its user namespace: setresuid to an instance's
            // own uid fails (EINVAL) and every runtime would exit 127 before it starts.
            Log.InstancesRunAsServerUser(logger);
            setpriv = null;
        }

        CodeMounts? mounts = null;
        if (options.PrestartPoolSize() > 0)
        {
            (mounts, var problem) = CodeMounts.TryCreate(Path.Combine(data.Path, "prestart"));
            if (problem is not null)
            {
                Log.PrestartUnavailable(logger, problem);
            }
        }

        Log.BubblewrapInUse(logger, bwrap);
        return new BubblewrapSandboxFactory(bwrap, setpriv, cgroups, SandboxIdentities.Write(Path.Combine(data.Path, "sandbox"), options.MaxInstances), mounts,
            SandboxEntry.Detect(FindOnPath("perl"), logger));
    }

    private static string? FindOnPath(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin:/bin")
            .Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Select(directory => Path.Combine(directory, name))
            .FirstOrDefault(File.Exists);

    /// <summary>Null when bwrap can create the namespaces we use; otherwise its complaint.</summary>
    private static string? Probe(string bwrap)
    {
        var start = new ProcessStartInfo(bwrap)
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        foreach (var argument in (string[])["--ro-bind", "/", "/", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--proc", "/proc", "--dev", "/dev", "--", "/bin/true"])
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        return process.ExitCode == 0 ? null : $"exit code {process.ExitCode}: {error.Trim()}";
    }
}
