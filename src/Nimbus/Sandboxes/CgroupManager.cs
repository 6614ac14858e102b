using Microsoft.Extensions.Logging;

namespace Nimbus.Sandboxes;

/// <summary>
/// Finds the cgroup hierarchy this server runs in (v1 with separate controllers, or the unified v2), creates
/// a <c>nimbus/&lt;node&gt;</c> subtree under the server's own cgroup, and hands out one child per instance. The
/// node name derives from the data directory, which one server at a time owns, so instance cgroups left by a
/// killed server on the same data directory are cleaned up at start-up (frozen processes included) while
/// other servers on the machine are left alone.
/// </summary>
internal sealed partial class CgroupManager
{
    private const string Root = "/sys/fs/cgroup";
    private static readonly string[] V1Controllers = ["memory", "cpu", "pids", "freezer"];

    private readonly Dictionary<string, string>? _v1Parents;
    private readonly string? _v2Parent;

    // Lives as long as the server: its pipe closing is the signal to kill what the server leaves behind.
    private readonly CgroupGuardian? _guardian;

    private CgroupManager(Dictionary<string, string>? v1Parents, string? v2Parent, CgroupGuardian? guardian = null)
    {
        _v1Parents = v1Parents;
        _v2Parent = v2Parent;
        _guardian = guardian;
    }

    /// <summary>"cgroup v1", "cgroup v2" or "none".</summary>
    public string Kind => _v1Parents is not null ? "cgroup v1" : _v2Parent is not null ? "cgroup v2" : "none";

    public bool IsAvailable => _v1Parents is not null || _v2Parent is not null;

    public static CgroupManager Disabled { get; } = new(null, null);

    /// <summary>Detects and prepares the hierarchy; falls back to <see cref="Disabled"/> with a warning.</summary>
    public static CgroupManager Detect(string dataDirectory, ILogger logger)
    {
        try
        {
            var own = OwnCgroups();
            var node = Path.Combine("nimbus", Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(dataDirectory)))[..16]);
            if (V1Controllers.All(c => File.Exists(Path.Combine(Root, c, "cgroup.procs"))))
            {
                var parents = V1Controllers.ToDictionary(c => c, c => Path.Combine(Root, c, Relative(own.GetValueOrDefault(c, "/")), node), StringComparer.Ordinal);
                foreach (var parent in parents.Values)
                {
                    Directory.CreateDirectory(parent);
                }

                CgroupV1.RemoveStale(parents);
                Log.CgroupsInUse(logger, "v1", parents["memory"]);
                return new CgroupManager(parents, null, CgroupGuardian.StartV1(parents["freezer"], parents.Where(p => p.Key != "freezer").Select(p => p.Value)));
            }

            if (File.Exists(Path.Combine(Root, "cgroup.controllers")))
            {
                var own2 = Path.Combine(Root, Relative(own.GetValueOrDefault("", "/")));
                var parent = Path.Combine(own2, node);
                Directory.CreateDirectory(parent);

                // Instances need the controllers delegated down the nimbus subtree to each child.
                File.WriteAllText(Path.Combine(own2, "cgroup.subtree_control"), "+memory +cpu +pids");
                File.WriteAllText(Path.Combine(own2, "nimbus", "cgroup.subtree_control"), "+memory +cpu +pids");
                File.WriteAllText(Path.Combine(parent, "cgroup.subtree_control"), "+memory +cpu +pids");
                CgroupV2.RemoveStale(parent);
                Log.CgroupsInUse(logger, "v2", parent);
                return new CgroupManager(null, parent, CgroupGuardian.StartV2(parent));
            }

            Log.CgroupsMissing(logger, "no cgroup hierarchy is mounted at /sys/fs/cgroup");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.ComponentModel.Win32Exception)
        {
            Log.CgroupsMissing(logger, e.Message);
        }

        return Disabled;
    }

    /// <summary>
    /// A new cgroup for one instance, or null when cgroups are not available here. <paramref name="background"/>: at the
    /// lowest CPU weight (<see cref="CgroupLimits.Background"/>) until its limits are set again.
    /// </summary>
    public InstanceCgroup? Create(string instanceId, int memoryMb, bool background = false)
    {
        var limits = background ? CgroupLimits.Background(memoryMb) : CgroupLimits.ForMemory(memoryMb);
        if (_v1Parents is not null)
        {
            return CgroupV1.Create(_v1Parents, instanceId, limits);
        }

        return _v2Parent is not null ? CgroupV2.Create(_v2Parent, instanceId, limits) : null;
    }

    /// <summary>Controller name (v1) or "" (v2) → this process's cgroup path, from /proc/self/cgroup.</summary>
    private static Dictionary<string, string> OwnCgroups()
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var line in File.ReadAllLines("/proc/self/cgroup"))
        {
            var parts = line.Split(':', 3);
            if (parts.Length != 3)
            {
                continue;
            }

            foreach (var controller in parts[1].Split(','))
            {
                result[controller] = parts[2];
            }
        }

        return result;
    }

    private static string Relative(string cgroupPath) => cgroupPath.TrimStart('/');
}
