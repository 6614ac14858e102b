using Microsoft.Extensions.Logging;

namespace Nimbus.Hosting;

// Hosting/ event ids: 100-199. Next free id: 108. 8200-8209: start as an ordinary user (8200 SandboxNetworkSelector, 8201 here); next free 8202.
internal static partial class SandboxFactorySelector
{
    private static partial class Log
    {
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

        [LoggerMessage(EventId = 104, EventName = "CgroupsDisabled", Level = LogLevel.Warning,
            Message = "Nimbus:UseCgroups is false, so instances run WITHOUT memory, CPU and process limits.")]
        public static partial void CgroupsDisabled(ILogger logger);

        [LoggerMessage(EventId = 105, EventName = "SetprivMissing", Level = LogLevel.Warning,
            Message = "setpriv (util-linux) is not installed, so function runtimes run as root inside their namespaces, without capabilities. Install util-linux to run each instance as a user of its own.")]
        public static partial void SetprivMissing(ILogger logger);

        [LoggerMessage(EventId = 8201, EventName = "InstancesRunAsServerUser", Level = LogLevel.Warning,
            Message = "Nimbus is not running as root, so instances cannot get a user of their own: every instance runs as this server's user, "
                + "inside bubblewrap and without capabilities. Instances cannot tell each other apart by user: on host networks one instance can "
                + "connect to another's Runtime API port. Run Nimbus as root for a user per instance.")]
        public static partial void InstancesRunAsServerUser(ILogger logger);

        [LoggerMessage(EventId = 106, EventName = "PrestartUnavailable", Level = LogLevel.Warning,
            Message = "Runtimes cannot be pre-started here ({Reason}), so every cold start starts a fresh process (~100 ms instead of a few ms). Pre-starting mounts code into running sandboxes: run Nimbus as root, or set Nimbus:PrestartPool to 0 to silence this.")]
        public static partial void PrestartUnavailable(ILogger logger, string reason);
    }
}
