using System.Collections.Concurrent;
using System.IO.Compression;
using System.Security.Cryptography;

namespace Nimbus.IntegrationTests;

/// <summary>
/// Builds deployment packages from Fixtures/functions/&lt;name&gt;/ at test time. Entries carry Unix
/// modes (0755 for <c>bootstrap</c> and scripts, 0644 otherwise) and a fixed timestamp, so one fixture
/// always yields the same bytes.
/// </summary>
internal static class FunctionZips
{
    public const string NodeCjs = "node-cjs";
    public const string NodeCjsV2 = "node-cjs-v2";
    public const string NodeEsm = "node-esm";
    public const string NodeCallback = "node-callback";
    public const string NodeBehaviours = "node-behaviours";
    public const string NodeInitError = "node-init-error";
    public const string Python = "python";
    public const string Provided = "provided";
    public const string NodeLimits = "node-limits";
    public const string PythonSandbox = "python-sandbox";
    public const string Prestart = "prestart";
    public const string NodeProvisioned = "node-provisioned";
    public const string NodeLayers = "node-layers";
    public const string NodeUrl = "node-url";
    public const string PythonLayers = "python-layers";

    /// <summary>Response streaming: <c>index.stream</c> (awslambda.streamifyResponse) and <c>index.buffered</c>.</summary>
    public const string NodeStream = "node-stream";

    /// <summary>Reports each event to an <see cref="EventRecorder"/>; throws when the event says <c>"fail": true</c>.</summary>
    public const string NodeRecorder = "node-recorder";

    /// <summary>Layer contents (zipped like functions): two Node layers that both ship "greeting", and a Python one.</summary>
    public const string LayerNodeA = "layer-node-a";
    public const string LayerNodeB = "layer-node-b";
    public const string LayerPython = "layer-python";

    /// <summary>A layer with one external extension, extensions/recorder (bash + curl); node-extension reads what it records.</summary>
    public const string LayerExtension = "layer-extension";
    public const string NodeExtension = "node-extension";

    /// <summary>Two extensions, extensions/crasher (dies on demand) and extensions/watcher (prints its SHUTDOWN reason), for node-extension-crash.</summary>
    public const string LayerExtensionPair = "layer-extension-pair";
    public const string NodeExtensionCrash = "node-extension-crash";

    /// <summary>Publish output of tests/Fixtures/dotnet/DotnetFunction (net8.0, look-alike Amazon.Lambda.Core).</summary>
    public const string DotnetFunction = "dotnet-function";

    /// <summary>Publish output of tests/Fixtures/dotnet/Net10Function (net10.0, no dependencies).</summary>
    public const string DotnetNet10 = "dotnet-net10";

    /// <summary>Publish output of tests/Fixtures/dotnet/ProvidedBootstrap: a self-contained bootstrap on Nimbus.Lambda.RuntimeSupport.</summary>
    public const string DotnetProvided = "dotnet-provided";

    /// <summary>tests/Fixtures/java compiled: example/*.class at the root, lib/aws-lambda-java-core.jar (look-alike).</summary>
    public const string JavaFunction = "java-function";

    private const int RegularFile = 0x8000;

    private const UnixFileMode Executable =
        UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
        | UnixFileMode.GroupRead | UnixFileMode.GroupExecute
        | UnixFileMode.OtherRead | UnixFileMode.OtherExecute;

    private const UnixFileMode Readable =
        UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead;

    private static readonly DateTimeOffset EntryTimestamp = new(2024, 1, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>Each fixture's zip, built once per test run (a fixture always yields the same bytes).</summary>
    private static readonly ConcurrentDictionary<string, Lazy<byte[]>> Built = new(StringComparer.Ordinal);

    /// <summary>The fixture's zip: built on first use, then a copy of the same bytes (callers may change theirs).</summary>
    public static byte[] Build(string fixture) =>
        (byte[])Built.GetOrAdd(fixture, name => new Lazy<byte[]>(() => Build(name, []))).Value.Clone();

    /// <summary>
    /// The fixture plus, for each extra, the named files and directories of <c>Directory</c> under the zip
    /// path <c>Prefix</c> (for example an npm package under node_modules/).
    /// </summary>
    public static byte[] Build(string fixture, params (string Directory, string Prefix, string[] Names)[] extras)
    {
        var root = Path.Combine(AppContext.BaseDirectory, "Fixtures", "functions", fixture);
        if (!Directory.Exists(root))
        {
            throw new InvalidOperationException($"No function fixture at {root}.");
        }

        var files = Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories)
            .Select(path => (Path: path, Name: Path.GetRelativePath(root, path).Replace('\\', '/')))
            .Where(file => !file.Name.Contains("__pycache__", StringComparison.Ordinal) && !file.Name.EndsWith(".pdb", StringComparison.Ordinal))
            .Concat(extras.SelectMany(extra => extra.Names.SelectMany(name =>
            {
                var path = Path.Combine(extra.Directory, name);
                return Directory.Exists(path)
                    ? Directory.EnumerateFiles(path, "*", SearchOption.AllDirectories).Select(file => (Path: file, Name: $"{extra.Prefix}/{Path.GetRelativePath(extra.Directory, file).Replace('\\', '/')}"))
                    : [(Path: path, Name: $"{extra.Prefix}/{name}")];
            })))
            .OrderBy(file => file.Name, StringComparer.Ordinal);

        using var buffer = new MemoryStream();
        using (var archive = new ZipArchive(buffer, ZipArchiveMode.Create, leaveOpen: true))
        {
            foreach (var (path, name) in files)
            {
                var entry = archive.CreateEntry(name, CompressionLevel.Optimal);
                entry.LastWriteTime = EntryTimestamp;
                var mode = IsExecutable(name) ? Executable : Readable;
                entry.ExternalAttributes = unchecked((int)((uint)(RegularFile | (int)mode) << 16));
                using var source = File.OpenRead(path);
                using var target = entry.Open();
                source.CopyTo(target);
            }
        }

        return buffer.ToArray();
    }

    /// <summary>A zip of one file made at test time, such as a generated <c>index.js</c>.</summary>
    public static byte[] FromSource(string fileName, string content)
    {
        using var buffer = new MemoryStream();
        using (var archive = new ZipArchive(buffer, ZipArchiveMode.Create, leaveOpen: true))
        {
            var entry = archive.CreateEntry(fileName, CompressionLevel.Optimal);
            entry.LastWriteTime = EntryTimestamp;
            entry.ExternalAttributes = unchecked((int)((uint)(RegularFile | (int)Readable) << 16));
            using var target = new StreamWriter(entry.Open());
            target.Write(content);
        }

        return buffer.ToArray();
    }

    /// <summary>Bytes that are not a zip archive (no "PK" signature anywhere near the start).</summary>
    public static byte[] NotAZip(int length = 4_096)
    {
        var bytes = RandomNumberGenerator.GetBytes(length);
        bytes[0] = (byte)'X';
        return bytes;
    }

    /// <summary>The CodeSha256 Lambda reports: base64 of the SHA-256 of the zip.</summary>
    public static string CodeSha256(byte[] zip) => Convert.ToBase64String(SHA256.HashData(zip));

    private static bool IsExecutable(string name) =>
        Path.GetFileName(name) == "bootstrap" || name.EndsWith(".sh", StringComparison.Ordinal) || name.StartsWith("extensions/", StringComparison.Ordinal) || name.EndsWith(".mjs", StringComparison.Ordinal) && name.Contains("/bin/", StringComparison.Ordinal);
}
