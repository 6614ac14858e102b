using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Nimbus.Sandboxes;

namespace Nimbus.Hosting;

/// <summary>
/// Decides at start how instances reach the network. <see cref="SandboxNetwork.Isolated"/> (the default) needs the right
/// to create network namespaces (root). Without it, an isolated network that was asked for explicitly fails the
/// start; the default falls back to <see cref="SandboxNetwork.Host"/> with a loud warning, so a first run as an
/// ordinary user works, as a missing bubblewrap degrades loudly instead of refusing.
/// </summary>
internal sealed partial class SandboxNetworkSelector(IOptions<NimbusOptions> options, IConfiguration configuration, ILogger<SandboxNetworkSelector> logger)
{
    private readonly Lazy<SandboxNetwork> _network = new(() => Decide(options.Value.SandboxNetwork,
        configuration[$"{NimbusOptions.SectionName}:{nameof(NimbusOptions.SandboxNetwork)}"] is { Length: > 0 },
        (out string problem) => NetworkNamespace.CanCreate(out problem), logger));

    /// <summary>Can this process create network namespaces; if not, why not.</summary>
    public delegate bool NamespaceProbe(out string problem);

    /// <summary>The network instances get; decided once, when the listeners are configured.</summary>
    public SandboxNetwork Network => _network.Value;

    /// <summary>True when <see cref="SandboxNetwork.Isolated"/> was the default but this process may not create network namespaces.</summary>
    public bool FellBack => _network.Value == SandboxNetwork.Host && options.Value.SandboxNetwork == SandboxNetwork.Isolated;

    /// <summary>One line for the ready banner.</summary>
    public string Describe() => Network switch
    {
        SandboxNetwork.Isolated => "isolated",
        _ when FellBack => "host (not root: instances share this machine's network; run as root for isolated networks)",
        _ => "host",
    };

    internal static SandboxNetwork Decide(SandboxNetwork configured, bool explicitlySet, NamespaceProbe probe, ILogger logger)
    {
        if (configured != SandboxNetwork.Isolated || probe(out var problem))
        {
            return configured;
        }

        if (explicitlySet)
        {
            throw new StartupException(problem);
        }

        Log.IsolatedNetworkUnavailable(logger, problem);
        return SandboxNetwork.Host;
    }
}
