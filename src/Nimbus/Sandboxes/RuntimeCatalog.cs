using System.Collections.Frozen;
using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Nimbus.Functions;

namespace Nimbus.Sandboxes;

internal enum RuntimeFamily
{
    Node,
    Python,
    Dotnet,
    Java,
    Provided,
}

/// <summary>
/// An interpreter found on this machine: the real binary and the directories it needs to run. For Python, also the
/// versions of the boto3 and botocore its functions import (null when it has none).
/// </summary>
/// <remarks>
/// <see cref="SharedSdk"/> is the host directory of another interpreter's boto3 (and its pure-Python dependencies)
/// put on this one's path because it has none of its own; its sources are among <see cref="Roots"/>.
/// </remarks>
internal sealed record Interpreter(string Executable, string Version, IReadOnlyList<string> Roots, string? Boto3 = null, string? Botocore = null, string? SharedSdk = null);

/// <summary>
/// How to start an instance of a runtime, in host paths. <see cref="VersionWarning"/> is set when the interpreter is
/// not of the version the runtime identifier names (none of that version on this node): the line written to the
/// function's log at each init.
/// </summary>
internal sealed record RuntimeLaunch(RuntimeFamily Family, Interpreter? Interpreter, string? BootstrapScript, string? ExecutionEnvironment, string? VersionWarning = null);

/// <summary>
/// The runtimes this node offers, each mapped to an interpreter installed here. Interpreters are resolved once
/// to their real binaries (a version-manager shim such as pyenv's costs ~290 ms per start).
/// </summary>
internal sealed partial class RuntimeCatalog
{
    private static readonly FrozenDictionary<string, RuntimeFamily> Families = new Dictionary<string, RuntimeFamily>
    {
        ["nodejs20.x"] = RuntimeFamily.Node,
        ["nodejs22.x"] = RuntimeFamily.Node,
        ["python3.11"] = RuntimeFamily.Python,
        ["python3.12"] = RuntimeFamily.Python,
        ["python3.13"] = RuntimeFamily.Python,
        ["dotnet8"] = RuntimeFamily.Dotnet,
        ["dotnet10"] = RuntimeFamily.Dotnet,
        ["java17"] = RuntimeFamily.Java,
        ["java21"] = RuntimeFamily.Java,
        ["provided"] = RuntimeFamily.Provided,
        ["provided.al2"] = RuntimeFamily.Provided,
        ["provided.al2023"] = RuntimeFamily.Provided,
    }.ToFrozenDictionary(StringComparer.Ordinal);

    private readonly Lazy<Task<Interpreter?>> _node;
    private readonly Lazy<Task<Interpreter?>> _python;
    private readonly Lazy<Task<Interpreter?>> _dotnet;
    private readonly Lazy<Task<Interpreter?>> _java;
    private readonly ILogger<RuntimeCatalog> _logger;
    private readonly string _pythonCommand;
    private readonly FrozenDictionary<string, string> _configured;
    private readonly FrozenDictionary<string, Lazy<Task<(Interpreter? Interpreter, string? Warning)>>> _byRuntime;
    private readonly Lazy<PythonSdk?> _pythonSdk;
    private readonly string _sdkDirectory;

    /// <summary>
    /// Prints what <see cref="ResolvePython"/> needs, run with <c>-s</c> as the sandbox runs it (no user site): the
    /// binary, the version, the prefixes to mount, then the boto3 and botocore versions its sys.path holds, read
    /// from their metadata directories' names (importing boto3 would cost a quarter of a second).
    /// </summary>
    private const string PythonProbe = """
        import os, sys
        print(sys.executable); print(sys.version.split()[0]); print(sys.base_prefix); print(sys.prefix)
        def version(name):
            for directory in sys.path:
                try:
                    entries = os.listdir(directory) if directory else []
                except OSError:
                    continue
                for entry in entries:
                    if entry.startswith(name + "-") and entry.endswith((".dist-info", ".egg-info")):
                        return entry[len(name) + 1:-len(".dist-info")]
            return "-"
        print("sdk", version("boto3"), version("botocore"))
        # The runtime client's bytecode, beside it in __pycache__ (read-only in the sandbox, where Python cannot write
        # it): without it every runtime start compiles the client. Best effort: a read-only install only costs that.
        # Hash-checked (PEP 552): Python hashes the source at each import and ignores bytecode of any other content,
        # so a client edited within the same second at the same size is never run stale.
        try:
            import py_compile
            py_compile.compile(sys.argv[1], doraise=True, invalidation_mode=py_compile.PycInvalidationMode.CHECKED_HASH)
        except Exception as e:
            sys.stderr.write("%s: %s" % (type(e).__name__, e))
        """;

    /// <summary>The Python runtime client's module, which bootstrap.py imports: its bytecode is cached, a script's is not.</summary>
    private const string PythonClientModule = "_nimbus_bootstrap";

    public RuntimeCatalog(IOptions<NimbusOptions> options, ILogger<RuntimeCatalog> logger)
    {
        _logger = logger;
        RuntimesDirectory = Path.GetFullPath(options.Value.RuntimesDirectory ?? Path.Combine(AppContext.BaseDirectory, "lambda-runtimes"));
        _node = new(() => Task.Run(() => Resolve("node", quiet: false, "-e", "console.log(process.execPath);console.log(process.version)")));
        _pythonCommand = options.Value.Python ?? DefaultPython;
        _python = new(() => Task.Run(() => ResolvePython(_pythonCommand, isDefault: true)));
        _dotnet = new(() => Task.Run(ResolveDotnet));
        _java = new(() => Task.Run(() => ResolveJava("java")));
        _configured = (ParseInterpreters(options.Value.RuntimeInterpreters, out _) ?? []).ToFrozenDictionary(StringComparer.Ordinal);
        _sdkDirectory = Path.Combine(Path.GetFullPath(options.Value.DataDirectory), "runtimes", "python-sdk");
        _pythonSdk = new(SharePythonSdk);
        _byRuntime = Families.Where(f => f.Value is RuntimeFamily.Node or RuntimeFamily.Python or RuntimeFamily.Java)
            .ToFrozenDictionary(f => f.Key, f => new Lazy<Task<(Interpreter?, string?)>>(() => Task.Run(() => ResolveRuntimeAsync(f.Key, f.Value))), StringComparer.Ordinal);
    }

    /// <summary>The interpreter Python functions run on when <see cref="NimbusOptions.Python"/> is not set.</summary>
    public const string DefaultPython = "python3";

    /// <summary>
    /// The first botocore that reads <c>AWS_ENDPOINT_URL</c> (1.31.0, with boto3 1.28.0): with an older one a function's
    /// SDK calls go to AWS instead of this node.
    /// </summary>
    private static readonly Version EndpointUrlBotocore = new(1, 31);

    /// <summary>The .NET major version the host in runtimes/dotnet is built for: the least a node needs for dotnet8 and dotnet10.</summary>
    public const int DotnetHostMajor = 10;

    /// <summary>Host directory holding nodejs/ and python/ bootstraps; mounted at /var/runtime.</summary>
    public string RuntimesDirectory { get; }

    public static IEnumerable<string> Supported => Families.Keys.Order(StringComparer.Ordinal);

    /// <summary>Starts resolving interpreters in the background so the first CreateFunction does not wait.</summary>
    public void Warm()
    {
        _ = _dotnet.Value;
        foreach (var runtime in _byRuntime.Values)
        {
            _ = runtime.Value;
        }
    }

    /// <summary>The Java release the runtime client in runtimes/java is compiled for: the least java17 and java21 need.</summary>
    public const int JavaClientRelease = 17;

    /// <summary>The launch recipe, or an error a user can act on when the interpreter is not installed.</summary>
    public async Task<(RuntimeLaunch? Launch, LambdaError? Error)> ResolveAsync(string runtime)
    {
        if (!Families.TryGetValue(runtime, out var family))
        {
            return (null, LambdaError.ValidationFailed(runtime, "runtime", $"Member must satisfy enum value set: [{string.Join(", ", Supported)}]"));
        }

        switch (family)
        {
            case RuntimeFamily.Node:
                var (node, nodeWarning) = await _byRuntime[runtime].Value.ConfigureAwait(false);
                return node is null
                    ? (null, Missing(runtime, "node", "apt-get install nodejs (Node.js 20 or newer)"))
                    : (new RuntimeLaunch(family, node, Path.Combine(RuntimesDirectory, "nodejs", "bootstrap.js"), $"AWS_Lambda_{runtime}", nodeWarning), null);
            case RuntimeFamily.Python:
                var (python, pythonWarning) = await _byRuntime[runtime].Value.ConfigureAwait(false);
                return python is null
                    ? (null, Missing(runtime, _pythonCommand, "apt-get install python3, or name an interpreter with NIMBUS_PYTHON"))
                    : (new RuntimeLaunch(family, python, Path.Combine(RuntimesDirectory, "python", "bootstrap.py"), $"AWS_Lambda_{runtime}", pythonWarning), null);
            case RuntimeFamily.Dotnet:
                var dotnet = await _dotnet.Value.ConfigureAwait(false);
                if (dotnet is null)
                {
                    return (null, Missing(runtime, "dotnet", $"the .NET {DotnetHostMajor} runtime, apt-get install dotnet-runtime-{DotnetHostMajor}.0"));
                }

                return MajorOf(dotnet.Version) < DotnetHostMajor
                    ? (null, LambdaError.InvalidParameter(
                        $"The runtime parameter of {runtime} is not available on this Nimbus node: its .NET host needs the .NET {DotnetHostMajor} runtime (Microsoft.NETCore.App {DotnetHostMajor}.x), and the newest installed is {dotnet.Version}. Install it (apt-get install dotnet-runtime-{DotnetHostMajor}.0) and restart Nimbus."))
                    : (new RuntimeLaunch(family, dotnet, Path.Combine(RuntimesDirectory, "dotnet", "Nimbus.Runtime.Dotnet.dll"), $"AWS_Lambda_{runtime}"), null);
            case RuntimeFamily.Java:
                var (java, javaWarning) = await _byRuntime[runtime].Value.ConfigureAwait(false);
                if (java is null)
                {
                    return (null, Missing(runtime, "java", $"a JDK or JRE {JavaClientRelease} or newer, apt-get install openjdk-{JavaClientRelease}-jre-headless"));
                }

                return MajorOf(java.Version) < JavaClientRelease
                    ? (null, LambdaError.InvalidParameter(
                        $"The runtime parameter of {runtime} is not available on this Nimbus node: its runtime client needs Java {JavaClientRelease} or newer, and the java on the server's PATH is {java.Version}. Install it (apt-get install openjdk-{JavaClientRelease}-jre-headless) and restart Nimbus."))
                    : (new RuntimeLaunch(family, java, Path.Combine(RuntimesDirectory, "java", "classes"), $"AWS_Lambda_{runtime}", javaWarning), null);
            default:
                return (new RuntimeLaunch(family, null, null, null), null);
        }
    }

    private static LambdaError Missing(string runtime, string binary, string fix) =>
        LambdaError.InvalidParameter(
            binary.Contains('/', StringComparison.Ordinal)
                ? $"The runtime parameter of {runtime} is not available on this Nimbus node: '{binary}' does not run. Install it ({fix}) and restart Nimbus."
                : $"The runtime parameter of {runtime} is not available on this Nimbus node: '{binary}' was not found on the server's PATH. Install it ({fix}) and restart Nimbus.");

    private static int MajorOf(string version) =>
        int.TryParse(version.Split('.')[0], System.Globalization.CultureInfo.InvariantCulture, out var major) ? major : 0;

    /// <summary>
    /// The newest Microsoft.NETCore.App that <c>dotnet --list-runtimes</c> reports, and the muxer of its install
    /// (lines look like <c>Microsoft.NETCore.App 10.0.12 [/usr/share/dotnet/shared/Microsoft.NETCore.App]</c>).
    /// </summary>
    private Interpreter? ResolveDotnet()
    {
        var lines = Run("dotnet", "--list-runtimes");
        Interpreter? newest = null;
        foreach (var line in lines ?? [])
        {
            var parts = line.Split(' ', 3);
            if (parts.Length < 3 || parts[0] != "Microsoft.NETCore.App" || !Version.TryParse(parts[1].Split('-')[0], out var version))
            {
                continue;
            }

            var root = Path.GetDirectoryName(Path.GetDirectoryName(parts[2].Trim('[', ']')))!;
            var muxer = Path.Combine(root, "dotnet");
            if (File.Exists(muxer) && (newest is null || version > Version.Parse(newest.Version.Split('-')[0])))
            {
                newest = new Interpreter(muxer, parts[1], [root]);
            }
        }

        if (newest is null)
        {
            Log.InterpreterMissing(_logger, "dotnet", lines is null ? "not found" : "no Microsoft.NETCore.App runtime listed");
            return null;
        }

        Log.InterpreterResolved(_logger, "dotnet", newest.Executable, newest.Version);
        return newest;
    }

    /// <summary>
    /// The JVM that <c>java</c> on the PATH starts: its real binary, version and home, plus the /etc directories
    /// its home links into (Debian keeps jvm.cfg and the security properties in /etc/java-17-openjdk).
    /// </summary>
    private Interpreter? ResolveJava(string command, bool quiet = false)
    {
        var lines = Run(command, stderr: true, "-XshowSettings:properties", "-version");
        string? Setting(string name) => lines?.Select(line => line.Split(" = ", 2)).FirstOrDefault(parts => parts.Length == 2 && parts[0].Trim() == name)?[1].Trim();
        if (Setting("java.home") is not { } home || Setting("java.version") is not { } version || !File.Exists(Path.Combine(home, "bin", "java")))
        {
            if (!quiet)
            {
                Log.InterpreterMissing(_logger, command, lines is null ? "not found" : "no java.home in -XshowSettings:properties");
            }

            return null;
        }

        var roots = new List<string> { home };
        foreach (var directory in (string[])["conf", "lib", "conf/security"])
        {
            var path = Path.Combine(home, directory);
            if (!Directory.Exists(path))
            {
                continue;
            }

            foreach (var entry in new DirectoryInfo(path).EnumerateFileSystemInfos())
            {
                if (entry.LinkTarget is { } target && Path.GetFullPath(target, path) is var full && full.StartsWith("/etc/", StringComparison.Ordinal))
                {
                    var top = "/etc/" + full["/etc/".Length..].Split('/')[0];
                    if (!roots.Contains(top))
                    {
                        roots.Add(top);
                    }
                }
            }
        }

        var interpreter = new Interpreter(Path.Combine(home, "bin", "java"), version, roots);
        Log.InterpreterResolved(_logger, command, interpreter.Executable, version);
        return interpreter;
    }

    /// <summary>
    /// A Python interpreter (<see cref="NimbusOptions.Python"/>, else python3 on the PATH, is the default one). Its own
    /// site-packages are the functions' (after /var/task and layers), so the boto3 they import is that interpreter's;
    /// one without boto3 gets the default interpreter's, shared (<see cref="SharePythonSdk"/>). Logged at start, with
    /// a warning when there is none or it is too old to reach this node.
    /// </summary>
    private Interpreter? ResolvePython(string command, bool isDefault, bool quiet = false)
    {
        var client = Path.Combine(RuntimesDirectory, "python", PythonClientModule + ".py");
        var lines = Run(command, "-s", "-c", PythonProbe, client);
        if (lines is null || lines.Length < 5 || lines[^1].Split(' ') is not ["sdk", var boto3, var botocore])
        {
            if (!quiet)
            {
                Log.InterpreterMissing(_logger, command, lines is null ? "not found, or it failed" : "unexpected answer to the probe");
            }

            return null;
        }

        // A virtual environment's python is a link to its base interpreter and is found by that link's path (its
        // pyvenv.cfg is beside it): it runs as named, with the environment's prefix mounted.
        var virtualEnvironment = lines[2] != lines[3];
        var executable = virtualEnvironment ? lines[0] : new FileInfo(lines[0]).ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? lines[0];
        var interpreter = new Interpreter(executable, lines[1], lines[2..^1].Distinct(StringComparer.Ordinal).ToArray(),
            boto3 == "-" ? null : boto3, botocore == "-" ? null : botocore);
        Log.InterpreterResolved(_logger, command, executable, interpreter.Version);
        if (!HasFreshBytecode(client, interpreter.Version))
        {
            var cache = Path.Combine(Path.GetDirectoryName(client)!, "__pycache__");
            Log.PythonClientNotCompiled(_logger, executable, cache);
        }

        if (!isDefault && interpreter.Boto3 is null && _pythonSdk.Value is { } sdk)
        {
            Log.PythonSharedSdk(_logger, executable, interpreter.Version, sdk.Boto3, sdk.Botocore, sdk.Source, sdk.Directory);
            _ = Task.Run(() => CompileSharedSdk(executable, interpreter.Version, sdk));
            return interpreter with { Roots = [.. interpreter.Roots, .. sdk.Roots], Boto3 = sdk.Boto3, Botocore = sdk.Botocore, SharedSdk = sdk.Directory };
        }

        if (interpreter.Boto3 is null || interpreter.Botocore is null)
        {
            Log.PythonWithoutBoto3(_logger, executable, interpreter.Version);
        }
        else if (!IsCurrentBotocore(interpreter.Botocore))
        {
            Log.PythonBoto3TooOld(_logger, executable, interpreter.Boto3, interpreter.Botocore);
        }
        else
        {
            Log.PythonBoto3(_logger, executable, interpreter.Version, interpreter.Boto3, interpreter.Botocore);
        }

        return interpreter;
    }

    /// <summary>
    /// Whether the probe left bytecode of <paramref name="source"/> for this Python version (CPython's cache tag
    /// cpython-312, PyPy's pypy310) at least as new as the source.
    /// </summary>
    private static bool HasFreshBytecode(string source, string version)
    {
        var parts = version.Split('.');
        var cache = Path.Combine(Path.GetDirectoryName(source)!, "__pycache__");
        if (parts.Length < 2 || !Directory.Exists(cache))
        {
            return false;
        }

        var sourceTime = File.GetLastWriteTimeUtc(source);
        return Directory.EnumerateFiles(cache, $"{Path.GetFileNameWithoutExtension(source)}.*{parts[0]}{parts[1]}.pyc")
            .Any(file => File.GetLastWriteTimeUtc(file) >= sourceTime);
    }

    private static bool IsCurrentBotocore(string botocore) =>
        !Version.TryParse(string.Concat(botocore.TakeWhile(c => char.IsAsciiDigit(c) || c == '.')), out var version) || version >= EndpointUrlBotocore;

    private static string[]? Run(string command, params string[] arguments) => Run(command, stderr: false, arguments);

    /// <summary>The output lines of a command (stdout, or stderr), or null when it cannot run or fails.</summary>
    private static string[]? Run(string command, bool stderr, params string[] arguments)
    {
        try
        {
            var start = new ProcessStartInfo(command) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (var argument in arguments)
            {
                start.ArgumentList.Add(argument);
            }

            using var process = Process.Start(start)!;
            var error = process.StandardError.ReadToEndAsync();
            var output = process.StandardOutput.ReadToEnd();
            process.WaitForExit();
            var text = stderr ? error.Result : output;
            return process.ExitCode == 0 ? text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) : null;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return null;
        }
    }

    private Interpreter? Resolve(string command, bool quiet, params string[] arguments)
    {
        try
        {
            var start = new ProcessStartInfo(command)
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            foreach (var argument in arguments)
            {
                start.ArgumentList.Add(argument);
            }

            using var process = Process.Start(start)!;
            var lines = process.StandardOutput.ReadToEnd().Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            process.WaitForExit();
            if (process.ExitCode != 0 || lines.Length < 2)
            {
                if (!quiet)
                {
                    Log.InterpreterMissing(_logger, command, $"exit code {process.ExitCode}");
                }

                return null;
            }

            var executable = new FileInfo(lines[0]).ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? lines[0];
            var roots = lines.Length > 2
                ? lines.Skip(2).Distinct(StringComparer.Ordinal).ToArray()
                : [Path.GetDirectoryName(Path.GetDirectoryName(executable))!];
            var interpreter = new Interpreter(executable, lines[1], roots);
            Log.InterpreterResolved(_logger, command, executable, interpreter.Version);
            return interpreter;
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            if (!quiet)
            {
                Log.InterpreterMissing(_logger, command, e.Message);
            }

            return null;
        }
    }
}
