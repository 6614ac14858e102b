using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Win32.SafeHandles;
using Nimbus.Hosting;
using Nimbus.Sandboxes;

namespace Nimbus.Tests.Hosting;

/// <summary>The start-time choice of instance networks when this process may or may not create network namespaces (pure logic).</summary>
public sealed class SandboxNetworkSelectorTests
{
    private const string Refusal = "may not create network namespaces; set NIMBUS_SANDBOX_NETWORK=host";

    private static bool Allowed(out string problem)
    {
        problem = "";
        return true;
    }

    private static bool Refused(out string problem)
    {
        problem = Refusal;
        return false;
    }

    [Fact]
    public void The_default_isolated_network_falls_back_to_host_with_a_warning_when_namespaces_are_refused()
    {
        var logger = new ListLogger();

        Assert.Equal(SandboxNetwork.Host, SandboxNetworkSelector.Decide(SandboxNetwork.Isolated, explicitlySet: false, Refused, logger));
        var warning = Assert.Single(logger.Entries);
        Assert.Equal(LogLevel.Warning, warning.Level);
        Assert.Equal(8200, warning.Id.Id);
        Assert.Contains("run Nimbus as root", warning.Message, StringComparison.Ordinal);
        Assert.Contains(Refusal, warning.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_explicit_isolated_network_refuses_the_start_with_the_probes_message()
    {
        var refused = Assert.Throws<StartupException>(() => SandboxNetworkSelector.Decide(SandboxNetwork.Isolated, explicitlySet: true, Refused, NullLogger.Instance));
        Assert.Equal(Refusal, refused.Message);
    }

    [Theory]
    [InlineData(SandboxNetwork.Isolated, true)]
    [InlineData(SandboxNetwork.Isolated, false)]
    [InlineData(SandboxNetwork.Host, true)]
    public void What_is_allowed_or_asked_for_is_what_instances_get(SandboxNetwork configured, bool explicitlySet)
    {
        var logger = new ListLogger();
        Assert.Equal(configured, SandboxNetworkSelector.Decide(configured, explicitlySet, configured == SandboxNetwork.Host ? Refused : Allowed, logger));
        Assert.Empty(logger.Entries);
    }

    [Fact]
    public void The_probes_namespace_is_handed_on_once_instead_of_dropped_and_a_host_network_never_probes()
    {
        var probes = 0;
        using var probed = new SafeFileHandle(42, ownsHandle: false);
        SafeFileHandle? Create(out string problem)
        {
            probes++;
            problem = "";
            return probed;
        }

        using var isolated = new SandboxNetworkSelector(new NimbusOptions { SandboxNetwork = SandboxNetwork.Isolated }, explicitlySet: false, Create, NullLogger.Instance);
        Assert.Equal(SandboxNetwork.Isolated, isolated.Network);
        Assert.Same(probed, isolated.TakeProbedNamespace());
        Assert.Null(isolated.TakeProbedNamespace());
        Assert.Equal(1, probes);
        Assert.False(probed.IsClosed);

        using var host = new SandboxNetworkSelector(new NimbusOptions { SandboxNetwork = SandboxNetwork.Host }, explicitlySet: true, Create, NullLogger.Instance);
        Assert.Null(host.TakeProbedNamespace());
        Assert.Equal(1, probes);
    }

    [Fact]
    public void A_probed_namespace_nobody_took_is_closed_with_the_selector_and_a_refused_probe_leaves_none()
    {
        var probed = new SafeFileHandle(42, ownsHandle: false);
        var selector = new SandboxNetworkSelector(new NimbusOptions(), explicitlySet: false, (out string problem) =>
        {
            problem = "";
            return probed;
        }, NullLogger.Instance);
        Assert.Equal(SandboxNetwork.Isolated, selector.Network);
        selector.Dispose();
        Assert.True(probed.IsClosed);

        using var refused = new SandboxNetworkSelector(new NimbusOptions(), explicitlySet: false, (out string problem) =>
        {
            problem = Refusal;
            return null;
        }, NullLogger.Instance);
        Assert.Equal(SandboxNetwork.Host, refused.Network);
        Assert.True(refused.FellBack);
        Assert.Null(refused.TakeProbedNamespace());
    }

    private sealed class ListLogger : ILogger
    {
        public List<(LogLevel Level, EventId Id, string Message)> Entries { get; } = [];

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            Entries.Add((logLevel, eventId, formatter(state, exception)));
    }
}
