using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;

namespace Nimbus.Sandboxes;

/// <summary>
/// The last step inside a bubblewrap sandbox before the runtime starts, after setpriv has dropped to the
/// instance's user: a few lines of perl (perl-base is part of every Debian and Ubuntu) that
/// <list type="number">
/// <item>restore the function's environment, which travels through the host-side processes (the instance shell,
/// bwrap, setpriv, all started as root) under <see cref="EnvironmentPrefix"/>d names, so a function's
/// <c>LD_PRELOAD</c>, <c>LD_DEBUG_OUTPUT</c>, <c>GLIBC_TUNABLES</c> and the like act on its own runtime only, never
/// on a process outside the sandbox or still holding root inside it;</item>
/// <item>put the runtime in a Landlock domain of its own (ABI 6, Linux 6.12+) scoped for abstract Unix sockets and
/// signals: instances share the host's network namespace, and with it the abstract socket namespace, so without
/// the scope one instance could connect to another's abstract sockets or the host's. It also keeps the
/// instance from ptracing anything outside its domain.</item>
/// </list>
/// Without perl, the loader variables are dropped from the environment instead (and a warning says so); without
/// Landlock scopes, abstract sockets stay shared (and a warning says so).
/// </summary>
internal sealed partial class SandboxEntry
{
    /// <summary>Prefix of the function's environment variables between the server and the entry script.</summary>
    public const string EnvironmentPrefix = "_NIMBUS_ENV_";

    /// <summary>First Landlock ABI with scopes (LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET, LANDLOCK_SCOPE_SIGNAL).</summary>
    public const int ScopedAbi = 6;

    /// <summary>LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET | LANDLOCK_SCOPE_SIGNAL.</summary>
    private const int Scopes = 1 | 2;

    // landlock_create_ruleset and landlock_restrict_self have these numbers on every architecture (asm-generic).
    private const long LandlockCreateRuleset = 444;
    private const int LandlockCreateRulesetVersion = 1;

    // Argument 1 is the Landlock scopes to apply (0: none), the rest is the runtime's command line. A failure to
    // apply Landlock is fatal: the instance does not start rather than start less isolated than promised.
    private const string Script = """
        my $scopes = shift @ARGV;
        my %env;
        for my $key (keys %ENV) { $env{$1} = $ENV{$key} if $key =~ /\A_NIMBUS_ENV_(.+)\z/s }
        %ENV = %env;
        if ($scopes) {
          my $attr = pack("QQQ", 0, 0, $scopes);
          my $fd = syscall(444, $attr, length($attr), 0);
          if ($fd < 0) { print STDERR "nimbus: Landlock is not available ($!); the instance does not start without it.\n"; exit 126 }
          if (syscall(446, $fd, 0) != 0) { print STDERR "nimbus: landlock_restrict_self failed ($!); the instance does not start without it.\n"; exit 126 }
        }
        exec { $ARGV[0] } @ARGV;
        print STDERR "nimbus: cannot run $ARGV[0]: $!\n";
        exit 127;
        """;

    /// <summary>What the dynamic loader and libc act on in a process that is not set-uid (glibc's unsecure list).</summary>
    private static readonly string[] LoaderVariables =
    [
        "GCONV_PATH", "GETCONF_DIR", "GLIBC_TUNABLES", "HOSTALIASES", "LD_AUDIT", "LD_DEBUG", "LD_DEBUG_OUTPUT",
        "LD_DYNAMIC_WEAK", "LD_HWCAP_MASK", "LD_ORIGIN_PATH", "LD_PRELOAD", "LD_PROFILE", "LD_PROFILE_OUTPUT",
        "LD_SHOW_AUXV", "LD_BIND_NOW", "LD_BIND_NOT", "LOCALDOMAIN", "LOCPATH", "MALLOC_TRACE", "NIS_PATH", "NLSPATH",
        "RESOLV_HOST_CONF", "RES_OPTIONS", "TMPDIR", "TZDIR",
    ];

    private readonly string? _perl;
    private readonly int _scopes;

    private SandboxEntry(string? perl, int scopes)
    {
        _perl = perl;
        _scopes = scopes;
    }

    /// <summary>True when instances get their own Landlock domain scoped for abstract sockets and signals.</summary>
    public bool Scoped => _perl is not null && _scopes != 0;

    /// <summary>Finds perl and the kernel's Landlock ABI, and says what instances will lack.</summary>
    public static SandboxEntry Detect(string? perl, ILogger logger)
    {
        if (perl is null)
        {
            Log.PerlMissing(logger);
            return new SandboxEntry(null, 0);
        }

        var abi = LandlockAbi();
        if (abi < ScopedAbi)
        {
            Log.LandlockScopesMissing(logger, abi);
            return new SandboxEntry(perl, 0);
        }

        Log.LandlockInUse(logger, abi);
        return new SandboxEntry(perl, Scopes);
    }

    /// <summary>The command that runs inside the sandbox in front of the runtime's own; empty without perl.</summary>
    public IEnumerable<string> Prefix()
    {
        if (_perl is null)
        {
            yield break;
        }

        yield return _perl;
        yield return "-e";
        yield return Script;
        yield return "--";
        yield return _scopes.ToString(System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// The environment the host-side processes start with: the function's, every name prefixed, for the entry
    /// script to restore; without perl, the function's minus what the loader acts on.
    /// </summary>
    public IEnumerable<KeyValuePair<string, string>> HostEnvironment(IReadOnlyDictionary<string, string> environment)
    {
        foreach (var (key, value) in environment)
        {
            if (_perl is not null)
            {
                yield return new(EnvironmentPrefix + key, value);
            }
            else if (!LoaderVariables.Contains(key, StringComparer.Ordinal))
            {
                yield return new(key, value);
            }
        }
    }

    /// <summary>The kernel's Landlock ABI version; 0 when Landlock is missing or disabled.</summary>
    public static int LandlockAbi()
    {
        try
        {
            var version = Syscall(LandlockCreateRuleset, 0, 0, LandlockCreateRulesetVersion);
            return version < 0 ? 0 : (int)version;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return 0;
        }
    }

    [LibraryImport("libc", EntryPoint = "syscall", SetLastError = true)]
    private static partial long Syscall(long number, nint attr, nint size, nint flags);
}
