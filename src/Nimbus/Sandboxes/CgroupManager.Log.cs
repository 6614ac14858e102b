using Microsoft.Extensions.Logging;

namespace Nimbus.Sandboxes;

// Sandboxes/ event ids 4030-4039 (CgroupManager). Next free id: 4032.
internal sealed partial class CgroupManager
{
    private static partial class Log
    {
        [LoggerMessage(EventId = 4030, EventName = "CgroupsInUse", Level = LogLevel.Information,
            Message = "Instances get cgroup {Version} limits (memory, CPU weight, 1024 processes, freezer) under {Path}.")]
        public static partial void CgroupsInUse(ILogger logger, string version, string path);

        [LoggerMessage(EventId = 4031, EventName = "CgroupsMissing", Level = LogLevel.Warning,
            Message = "Instances run WITHOUT memory, CPU and process limits: cgroups are not usable here ({Reason}). Run Nimbus as root on a host with a writable /sys/fs/cgroup.")]
        public static partial void CgroupsMissing(ILogger logger, string reason);
    }
}
