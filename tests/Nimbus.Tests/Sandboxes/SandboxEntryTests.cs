using Microsoft.Extensions.Logging.Abstractions;
using Nimbus.Sandboxes;

namespace Nimbus.Tests.Sandboxes;

public sealed class SandboxEntryTests
{
    private static readonly Dictionary<string, string> Function = new(StringComparer.Ordinal)
    {
        ["PATH"] = "/usr/bin:/bin",
        ["LD_LIBRARY_PATH"] = "/var/task/lib",
        ["LD_PRELOAD"] = "/var/task/evil.so",
        ["GLIBC_TUNABLES"] = "glibc.malloc.check=3",
        ["GREETING"] = "hello",
    };

    [Fact]
    public void With_perl_no_variable_reaches_the_host_side_processes_under_its_own_name()
    {
        var entry = SandboxEntry.Detect("/usr/bin/perl", NullLogger.Instance);

        var host = entry.HostEnvironment(Function).ToDictionary(StringComparer.Ordinal);

        // The entry script restores exactly these, right before the runtime.
        Assert.Equal(Function.Keys.Select(key => SandboxEntry.EnvironmentPrefix + key).Order(StringComparer.Ordinal), host.Keys.Order(StringComparer.Ordinal));
        Assert.All(Function, pair => Assert.Equal(pair.Value, host[SandboxEntry.EnvironmentPrefix + pair.Key]));
        Assert.Equal("/usr/bin/perl", entry.Prefix().First());
    }

    [Fact]
    public void Without_perl_the_loader_variables_are_dropped_and_the_rest_is_kept()
    {
        var entry = SandboxEntry.Detect(null, NullLogger.Instance);

        var host = entry.HostEnvironment(Function).ToDictionary(StringComparer.Ordinal);

        Assert.Equal(["GREETING", "LD_LIBRARY_PATH", "PATH"], host.Keys.Order(StringComparer.Ordinal));
        Assert.Empty(entry.Prefix());
        Assert.False(entry.Scoped);
    }
}
