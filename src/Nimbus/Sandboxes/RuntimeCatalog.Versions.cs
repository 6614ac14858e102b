using System.Globalization;

namespace Nimbus.Sandboxes;

/// <summary>
/// Each runtime identifier on an interpreter of the version it names (python3.13 on a Python 3.13, java21 on a Java 21),
/// found in this order: the one <see cref="NimbusOptions.RuntimeInterpreters"/> names for it; the family's default
/// (<see cref="NimbusOptions.Python"/> or python3, node, java on the PATH) when it is of that version; a
/// version-named binary on the PATH (<c>python3.13</c>); the version managers' and packages' usual places (pyenv's
/// versions, nvm's, <c>/usr/lib/jvm</c>). A node without one runs the identifier on the nearest newer version it has
/// and says so: a warning in the server's log once, and a line in the function's log at each init
/// (<see cref="RuntimeLaunch.VersionWarning"/>). A node with only older ones runs it on the family's default, with the
/// same warning.
/// </summary>
internal sealed partial class RuntimeCatalog
{
    /// <summary>The default Python's boto3 and its dependencies, linked from one directory other interpreters add to their path.</summary>
    private sealed record PythonSdk(string Directory, IReadOnlyList<string> Roots, string Source, string Boto3, string Botocore);

    /// <summary>
    /// Prints the top-level entries (packages, modules, metadata directories) of boto3's distribution and of every
    /// distribution it requires, one <c>name path</c> per line: all pure Python, so another Python 3 can import them.
    /// </summary>
    private const string SdkProbe = """
        import importlib.metadata as m, re
        seen = set(); todo = ["boto3"]; tops = {}
        while todo:
            name = todo.pop()
            try:
                dist = m.distribution(name)
            except m.PackageNotFoundError:
                continue
            key = re.sub(r"[-_.]+", "-", dist.metadata["Name"]).lower()
            if key in seen:
                continue
            seen.add(key)
            for requirement in dist.requires or []:
                if "extra ==" not in requirement:
                    todo.append(re.split(r"[ ;<>=!~\[(]", requirement, maxsplit=1)[0])
            for file in dist.files or []:
                top = file.parts[0]
                if not top.startswith("..") and top != "__pycache__":
                    tops[top] = str(dist.locate_file(top))
        for top, path in sorted(tops.items()):
            print(top, path)
        """;

    /// <summary>
    /// Links the default Python's boto3 (when it has a current one) and its dependencies into one directory of the
    /// data directory, made afresh at each start. Instances mount that directory and the links' targets read-only.
    /// </summary>
    private PythonSdk? SharePythonSdk()
    {
        var source = _python.Value.GetAwaiter().GetResult();
        if (source?.Boto3 is not { } boto3 || source.Botocore is not { } botocore || !IsCurrentBotocore(botocore)
            || Run(source.Executable, "-s", "-c", SdkProbe) is not { Length: > 0 } lines)
        {
            return null;
        }

        try
        {
            if (Directory.Exists(_sdkDirectory))
            {
                Directory.Delete(_sdkDirectory, recursive: true);
            }

            Directory.CreateDirectory(_sdkDirectory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
                | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
            List<string> roots = [_sdkDirectory];
            foreach (var line in lines)
            {
                var parts = line.Split(' ', 2);
                if (parts.Length != 2 || parts[0].Contains('/', StringComparison.Ordinal) || !Path.Exists(parts[1]))
                {
                    continue;
                }

                File.CreateSymbolicLink(Path.Combine(_sdkDirectory, parts[0]), parts[1]);
                var parent = Path.GetDirectoryName(parts[1])!;
                if (!roots.Contains(parent) && !source.Roots.Any(root => parent.StartsWith(root + "/", StringComparison.Ordinal)))
                {
                    roots.Add(parent);
                }
            }

            return new PythonSdk(_sdkDirectory, [.. roots, .. source.Roots], source.Executable, boto3, botocore);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Log.PythonSdkNotShared(_logger, source.Executable, _sdkDirectory, e.Message);
            return null;
        }
    }

    /// <summary>
    /// Writes the shared boto3's bytecode for <paramref name="executable"/> beside its sources (the default Python's
    /// site-packages, where the shared directory's links lead), once per interpreter version: instances mount them
    /// read-only, so without it every cold start of that version that imports boto3 compiles it again (~0.3 s of CPU on
    /// this machine). In the background at start; compileall skips what is up to date, so later starts cost a probe.
    /// </summary>
    private void CompileSharedSdk(string executable, string version, PythonSdk sdk)
    {
        // compileall does not follow a linked directory: it gets the links' targets (packages; a single-module link's
        // bytecode would be looked up beside the link, so those are left to compile at import as before).
        var targets = Directory.Exists(sdk.Directory)
            ? Directory.EnumerateFileSystemEntries(sdk.Directory)
                .Select(entry => new DirectoryInfo(entry).ResolveLinkTarget(returnFinalTarget: true)?.FullName)
                .Where(target => target is not null && Directory.Exists(target))
                .Cast<string>()
                .ToList()
            : [];
        if (targets.Count == 0)
        {
            return;
        }

        Log.PythonSdkCompiling(_logger, executable, version, targets.Count);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var compiled = Run(executable, ["-s", "-m", "compileall", "-q", "-j", "0", .. targets]) is not null;
        Log.PythonSdkCompiled(_logger, executable, version, clock.ElapsedMilliseconds, compiled);
    }

    /// <summary>
    /// The interpreter of one runtime identifier and the warning its functions' logs get when it is not of the
    /// identifier's version (null: the family has no interpreter at all on this node).
    /// </summary>
    /// <remarks>
    /// The order: the one named in <see cref="NimbusOptions.RuntimeInterpreters"/> (the administrator's choice, whatever
    /// its version); one of exactly the identifier's version; the nearest newer one (code compiled for Java 21 runs on a
    /// Java 25, not on a 17); else the family's default, older than the identifier, with the warning.
    /// </remarks>
    private async Task<(Interpreter? Interpreter, string? Warning)> ResolveRuntimeAsync(string runtime, RuntimeFamily family)
    {
        var wanted = WantedVersion(runtime);
        var fallback = await (family switch
        {
            RuntimeFamily.Node => _node.Value,
            RuntimeFamily.Python => _python.Value,
            _ => _java.Value,
        }).ConfigureAwait(false);

        Interpreter? chosen = null;
        if (_configured.TryGetValue(runtime, out var configured))
        {
            chosen = Probe(family, configured, quiet: false);
            if (chosen is null)
            {
                Log.ConfiguredInterpreterUnusable(_logger, runtime, configured);
            }
        }

        if (chosen is null && fallback is not null && Matches(fallback.Version, wanted))
        {
            chosen = fallback;
        }

        if (chosen is null)
        {
            foreach (var candidate in Candidates(family, wanted, newer: false))
            {
                if (Probe(family, candidate, quiet: true) is { } found && Matches(found.Version, wanted))
                {
                    chosen = found;
                    break;
                }
            }
        }

        if (chosen is null)
        {
            chosen = fallback is not null && CompareToWanted(fallback.Version, wanted) > 0 ? fallback : null;
            foreach (var candidate in Candidates(family, wanted, newer: true))
            {
                if (Probe(family, candidate, quiet: true) is { } found && CompareToWanted(found.Version, wanted) > 0
                    && (chosen is null || CompareVersions(found.Version, chosen.Version) < 0))
                {
                    chosen = found;
                }
            }
        }

        // With only older ones, the family's default, warned: most code runs alike on a neighbouring version, and a
        // refusal would break every deployment of that identifier on this node (a class compiled for a newer Java than the
        // JVM still fails at init, with Runtime.InvalidRuntime).
        chosen ??= fallback;
        if (chosen is null)
        {
            return (null, null);
        }

        var install = InstallHint(family, wanted);
        if (Matches(chosen.Version, wanted))
        {
            Log.RuntimeInterpreter(_logger, runtime, chosen.Executable, chosen.Version);
            return (chosen, null);
        }

        Log.RuntimeOnOtherVersion(_logger, runtime, chosen.Executable, chosen.Version, install);
        return (chosen, $"WARNING Runtime {runtime} is not installed on this Nimbus node: this function runs on {FamilyName(family)} {chosen.Version.TrimStart('v')} ({chosen.Executable}), and code that needs {runtime} may fail. The node's administrator can install {install}, or name one in NIMBUS_RUNTIME_INTERPRETERS, and restart Nimbus.");
    }

    /// <summary>The interpreter <paramref name="command"/> starts; <paramref name="quiet"/>: a candidate, not logged when it does not run.</summary>
    private Interpreter? Probe(RuntimeFamily family, string command, bool quiet) => family switch
    {
        RuntimeFamily.Node => Resolve(command, quiet, "-e", "console.log(process.execPath);console.log(process.version)"),
        RuntimeFamily.Python => ResolvePython(command, isDefault: false, quiet),
        _ => ResolveJava(command, quiet),
    };

    /// <summary>The version a runtime identifier names: "3.12" of python3.12, "22" of nodejs22.x, "21" of java21.</summary>
    internal static string WantedVersion(string runtime) =>
        runtime.StartsWith("python", StringComparison.Ordinal) ? runtime["python".Length..]
        : runtime.StartsWith("nodejs", StringComparison.Ordinal) ? runtime["nodejs".Length..].TrimEnd('x').TrimEnd('.')
        : runtime.StartsWith("java", StringComparison.Ordinal) ? runtime["java".Length..]
        : runtime;

    /// <summary>True when <paramref name="version"/> (3.12.1, v22.3.0, 21, 21.0.4) is of <paramref name="wanted"/> (3.12, 22, 21).</summary>
    internal static bool Matches(string version, string wanted)
    {
        var plain = version.TrimStart('v');
        return plain == wanted || plain.StartsWith(wanted + ".", StringComparison.Ordinal) || plain.StartsWith(wanted + "+", StringComparison.Ordinal)
            || plain.StartsWith(wanted + "-", StringComparison.Ordinal);
    }

    /// <summary>
    /// The sign of <paramref name="version"/> (3.12.1, v22.3.0, 25.0.3) against <paramref name="wanted"/> (3.11, 22, 21),
    /// on as many components as <paramref name="wanted"/> has: 3.12.1 is newer than 3.11, 21.0.4 is 21.
    /// </summary>
    internal static int CompareToWanted(string version, string wanted)
    {
        var want = Components(wanted);
        return CompareComponents(Components(version), want, want.Length);
    }

    /// <summary>The sign of <paramref name="left"/> against <paramref name="right"/>, on all their components.</summary>
    private static int CompareVersions(string left, string right)
    {
        var (l, r) = (Components(left), Components(right));
        return CompareComponents(l, r, Math.Max(l.Length, r.Length));
    }

    private static int CompareComponents(int[] left, int[] right, int count)
    {
        for (var i = 0; i < count; i++)
        {
            var (l, r) = (i < left.Length ? left[i] : 0, i < right.Length ? right[i] : 0);
            if (l != r)
            {
                return l.CompareTo(r);
            }
        }

        return 0;
    }

    /// <summary>The leading numeric components of a version: 25.0.3+9 is [25, 0, 3], v22.3.0 is [22, 3, 0].</summary>
    private static int[] Components(string version)
    {
        var plain = version.TrimStart('v');
        var end = 0;
        while (end < plain.Length && (char.IsAsciiDigit(plain[end]) || plain[end] == '.'))
        {
            end++;
        }

        return [.. plain[..end].Split('.', StringSplitOptions.RemoveEmptyEntries).Select(part => int.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : 0)];
    }

    private static string FamilyName(RuntimeFamily family) => family switch
    {
        RuntimeFamily.Node => "Node.js",
        RuntimeFamily.Python => "Python",
        _ => "Java",
    };

    private static string InstallHint(RuntimeFamily family, string wanted) => family switch
    {
        RuntimeFamily.Node => $"Node.js {wanted} (a node {wanted} on the server's PATH, or nvm install {wanted})",
        RuntimeFamily.Python => $"Python {wanted} (a python{wanted} on the server's PATH, or pyenv install {wanted})",
        _ => $"a Java {wanted} JDK or JRE (apt-get install openjdk-{wanted}-jre-headless, or one in /usr/lib/jvm)",
    };

    /// <summary>
    /// Binaries that may be of version <paramref name="wanted"/> (newest first within each place), or with
    /// <paramref name="newer"/> of a version newer than it (the caller probes them all and takes the nearest).
    /// </summary>
    private static IEnumerable<string> Candidates(RuntimeFamily family, string wanted, bool newer)
    {
        bool Accept(string version) => newer ? CompareToWanted(version, wanted) > 0 : Matches(version, wanted);
        var home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        switch (family)
        {
            case RuntimeFamily.Python:
                // python3.13 on the PATH for python3.13; python3.12 up to python3.20 for a newer one than python3.11.
                var minor = Components(wanted) is [3, var m] ? m : 0;
                foreach (var onPath in newer ? Enumerable.Range(minor + 1, 9).Select(n => string.Create(CultureInfo.InvariantCulture, $"3.{n}")) : [wanted])
                {
                    yield return $"python{onPath}";
                }

                var pyenv = Environment.GetEnvironmentVariable("PYENV_ROOT") is { Length: > 0 } root ? root : Path.Combine(home, ".pyenv");
                foreach (var directory in Versioned(Path.Combine(pyenv, "versions"), Accept, prefix: ""))
                {
                    var version = Components(Path.GetFileName(directory));
                    yield return Path.Combine(directory, "bin", string.Create(CultureInfo.InvariantCulture, $"python{version[0]}.{version[1]}"));
                }

                break;
            case RuntimeFamily.Node:
                var nvm = Environment.GetEnvironmentVariable("NVM_DIR") is { Length: > 0 } nvmDirectory ? nvmDirectory : Path.Combine(home, ".nvm");
                foreach (var directory in Versioned(Path.Combine(nvm, "versions", "node"), Accept, prefix: "v")
                    .Concat(Versioned("/usr/local/n/versions/node", Accept, prefix: "")))
                {
                    yield return Path.Combine(directory, "bin", "node");
                }

                break;
            default:
                HashSet<string> seen = new(StringComparer.Ordinal);
                foreach (var directory in Directory.Exists(JvmDirectory) ? Directory.EnumerateDirectories(JvmDirectory).Order(StringComparer.Ordinal) : Enumerable.Empty<string>())
                {
                    var java = Path.Combine(directory, "bin", "java");
                    var real = new DirectoryInfo(directory).ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? directory;
                    if (File.Exists(java) && seen.Add(real) && ReleaseVersion(directory) is { } version && Accept(version))
                    {
                        yield return java;
                    }
                }

                break;
        }
    }

    private const string JvmDirectory = "/usr/lib/jvm";

    /// <summary>JAVA_VERSION of a JDK's or JRE's <c>release</c> file.</summary>
    private static string? ReleaseVersion(string home)
    {
        var release = Path.Combine(home, "release");
        if (!File.Exists(release))
        {
            return null;
        }

        foreach (var line in File.ReadLines(release))
        {
            if (line.StartsWith("JAVA_VERSION=", StringComparison.Ordinal))
            {
                return line["JAVA_VERSION=".Length..].Trim('"');
            }
        }

        return null;
    }

    /// <summary>Subdirectories named <paramref name="prefix"/> + a version that <paramref name="accept"/> takes, newest first.</summary>
    private static IEnumerable<string> Versioned(string parent, Func<string, bool> accept, string prefix)
    {
        if (!Directory.Exists(parent))
        {
            return [];
        }

        return Directory.EnumerateDirectories(parent)
            .Select(directory => (directory, name: Path.GetFileName(directory)))
            .Where(entry => entry.name.StartsWith(prefix, StringComparison.Ordinal) && Version.TryParse(entry.name[prefix.Length..], out _)
                && accept(entry.name[prefix.Length..]))
            .OrderByDescending(entry => Version.Parse(entry.name[prefix.Length..]))
            .Select(entry => entry.directory);
    }

    /// <summary>The identifiers whose interpreter may be named in <see cref="NimbusOptions.RuntimeInterpreters"/>.</summary>
    private static IEnumerable<string> Nameable => Supported.Where(runtime => Families[runtime] is RuntimeFamily.Node or RuntimeFamily.Python or RuntimeFamily.Java);

    /// <summary>
    /// <c>python3.13=/opt/python3.13/bin/python3.13,java21=/usr/lib/jvm/temurin-21-jdk/bin/java</c> as a map; null
    /// with every problem in <paramref name="errors"/> when it does not parse.
    /// </summary>
    internal static Dictionary<string, string>? ParseInterpreters(string? value, out List<string> errors)
    {
        errors = [];
        Dictionary<string, string> map = new(StringComparer.Ordinal);
        foreach (var entry in (value ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var parts = entry.Split('=', 2, StringSplitOptions.TrimEntries);
            if (parts.Length != 2 || parts[1].Length == 0)
            {
                errors.Add(string.Create(CultureInfo.InvariantCulture, $"RuntimeInterpreters entry '{entry}' must be runtime=interpreter, such as python3.13=/usr/local/bin/python3.13."));
            }
            else if (!Nameable.Contains(parts[0], StringComparer.Ordinal))
            {
                errors.Add($"RuntimeInterpreters entry '{entry}' names '{parts[0]}', which is not one of: {string.Join(", ", Nameable)}.");
            }
            else if (!map.TryAdd(parts[0], parts[1]))
            {
                errors.Add($"RuntimeInterpreters names an interpreter for '{parts[0]}' twice.");
            }
        }

        return errors.Count == 0 ? map : null;
    }
}
