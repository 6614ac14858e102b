using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Win32.SafeHandles;
using Nimbus.Sandboxes;

namespace Nimbus.Hosting;

/// <summary>
/// Decides at start how instances reach the network. <see cref="SandboxNetwork.Isolated"/> (the default) needs the right
/// to create network namespaces (root). Without it, an isolated network that was asked for explicitly fails the
/// start; the default falls back to <see cref="SandboxNetwork.Host"/> with a loud warning, so a first run as an
/// ordinary user works, as a missing bubblewrap degrades loudly instead of refusing. The namespace the probe creates
/// is not thrown away: it becomes the runtime port pool's first slot (<see cref="TakeProbedNamespace"/>), so a start
/// creates one namespace, not two.
/// </summary>
internal sealed partial class SandboxNetworkSelector : IDisposable
{
    private readonly NimbusOptions _options;
    private readonly Lazy<SandboxNetwork> _network;

    // The probe's namespace until the port pool takes it (Interlocked); disposed with the selector if it never does.
    private SafeFileHandle? _probed;

    public SandboxNetworkSelector(IOptions<NimbusOptions> options, IConfiguration configuration, ILogger<SandboxNetworkSelector> logger)
        : this(options.Value, configuration[$"{NimbusOptions.SectionName}:{nameof(NimbusOptions.SandboxNetwork)}"] is { Length: > 0 },
            NetworkNamespace.TryCreate, logger)
    {
    }

    /// <summary>A selector whose probe is <paramref name="create"/> (<see cref="NetworkNamespace.TryCreate"/> in a server).</summary>
    internal SandboxNetworkSelector(NimbusOptions options, bool explicitlySet, NamespaceCreator create, ILogger logger)
    {
        _options = options;
        _network = new(() => Decide(options.SandboxNetwork, explicitlySet, (out string problem) =>
        {
            _probed = create(out problem);
            return _probed is not null;
        }, logger));
    }

    /// <summary>Creates a network namespace, or answers null and why not.</summary>
    internal delegate SafeFileHandle? NamespaceCreator(out string problem);

    /// <summary>Can this process create network namespaces; if not, why not.</summary>
    public delegate bool NamespaceProbe(out string problem);

    /// <summary>The network instances get; decided once, when the listeners are configured.</summary>
    public SandboxNetwork Network => _network.Value;

    /// <summary>True when <see cref="SandboxNetwork.Isolated"/> was the default but this process may not create network namespaces.</summary>
    public bool FellBack => _network.Value == SandboxNetwork.Host && _options.SandboxNetwork == SandboxNetwork.Isolated;

    /// <summary>
    /// The namespace the start-time probe created (its loopback up), for the caller to own and use as its first
    /// slot's; null when there was no probe (a host network) or it was taken already.
    /// </summary>
    public SafeFileHandle? TakeProbedNamespace()
    {
        _ = _network.Value;
        return Interlocked.Exchange(ref _probed, null);
    }

    public void Dispose() => Interlocked.Exchange(ref _probed, null)?.Dispose();

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
