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
        if (!options.UseBubblewrap)
        {
            Log.BubblewrapDisabled(logger);
            return new ProcessSandboxFactory(scratch);
        }

        var bwrap = FindOnPath("bwrap");
        if (bwrap is null)
        {
            Log.BubblewrapMissing(logger);
            return new ProcessSandboxFactory(scratch);
        }

        var probe = Probe(bwrap);
        if (probe is not null)
        {
            Log.BubblewrapBroken(logger, bwrap, probe);
            return new ProcessSandboxFactory(scratch);
        }

        Log.BubblewrapInUse(logger, bwrap);
        return new BubblewrapSandboxFactory(bwrap);
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

    private static partial class Log
    {
        // Hosting/ event ids: 100-199. Next free id: 104.
        [LoggerMessage(EventId = 100, EventName = "BubblewrapInUse", Level = LogLevel.Information,
            Message = "Instances run in bubblewrap ({Path}): own mount, pid, ipc and uts namespaces, read-only code.")]
        public static partial void BubblewrapInUse(ILogger logger, string path);

        [LoggerMessage(EventId = 101, EventName = "BubblewrapMissing", Level = LogLevel.Warning,
            Message = "bubblewrap (bwrap) is not installed, so function instances run as plain processes with NO isolation from this machine. Install it with 'apt-get install bubblewrap' and restart Nimbus.")]
        public static partial void BubblewrapMissing(ILogger logger);

        [LoggerMessage(EventId = 102, EventName = "BubblewrapBroken", Level = LogLevel.Warning,
            Message = "bubblewrap at {Path} cannot create namespaces here ({Reason}), so function instances run as plain processes with NO isolation. Allow unprivileged user namespaces or run Nimbus as root.")]
        public static partial void BubblewrapBroken(ILogger logger, string path, string reason);

        [LoggerMessage(EventId = 103, EventName = "BubblewrapDisabled", Level = LogLevel.Warning,
            Message = "Nimbus:UseBubblewrap is false, so function instances run as plain processes with NO isolation from this machine.")]
        public static partial void BubblewrapDisabled(ILogger logger);
    }
}
