using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
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
