using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;

namespace Nimbus.IntegrationTests;

/// <summary>
/// Runs one of the two AWS CLIs against a Nimbus endpoint, as a user would: dummy credentials,
/// us-east-1, no pager, no retries, JSON output, no shared config files.
/// </summary>
internal sealed partial class AwsCli
{
    /// <summary>aws-cli 1.x (botocore, JSON protocols): the first <c>aws</c> on PATH that is not /usr/bin/aws.</summary>
    public const string V1 = "v1";

    /// <summary>aws-cli 2.x from Debian's awscli package: /usr/bin/aws.</summary>
    public const string V2 = "v2";

    private const string V2Path = "/usr/bin/aws";

    /// <summary>Inline payloads above this go through a file: one argv string may not exceed 128 KiB on Linux.</summary>
    private const int MaxInlinePayloadChars = 64 * 1024;

    private static readonly TimeSpan DefaultTimeout = TimeSpan.FromMinutes(2);
    private static readonly Lazy<Task<string>> V1Executable = new(() => LocateAsync(V1));
    private static readonly Lazy<Task<string>> V2Executable = new(() => LocateAsync(V2));

    private readonly string _endpoint;
    private readonly string _workDirectory;
    private readonly string _accessKeyId;
    private readonly string _secretAccessKey;

    /// <summary>A CLI signing with <paramref name="accessKeyId"/> (default: the test servers' root key test/test).</summary>
    public AwsCli(string version, string endpoint, string workDirectory, string accessKeyId = "test", string secretAccessKey = "test")
    {
        _accessKeyId = accessKeyId;
        _secretAccessKey = secretAccessKey;
        if (version is not (V1 or V2))
        {
            throw new ArgumentException($"Unknown AWS CLI '{version}'; use \"{V1}\" or \"{V2}\".", nameof(version));
        }

        Version = version;
        _endpoint = endpoint;
        _workDirectory = workDirectory;
    }

    public string Version { get; }

    /// <summary>Exit code of a CLI whose request reached the service and got an error back.</summary>
    public int ServiceErrorExitCode => Version == V1 ? 255 : 254;

    public Task<CliResult> LambdaAsync(params string[] arguments) => RunAsync(["lambda", .. arguments]);

    /// <summary><c>aws lambda create-function</c> with the test role and the zip written to a scratch file.</summary>
    public Task<CliResult> CreateFunctionAsync(string name, byte[] zip, string runtime, string handler, params string[] options) =>
        LambdaAsync(
        [
            "create-function", "--function-name", name, "--runtime", runtime, "--handler", handler,
            "--role", Aws.Role, "--zip-file", "fileb://" + WriteScratchFile("zip", zip), .. options,
        ]);

    public Task<CliResult> UpdateFunctionCodeAsync(string name, byte[] zip) =>
        LambdaAsync("update-function-code", "--function-name", name, "--zip-file", "fileb://" + WriteScratchFile("zip", zip));

    /// <summary>Runs <c>aws lambda invoke</c> and requires the CLI to succeed.</summary>
    public async Task<CliInvocation> InvokeAsync(string functionName, string? payload, params string[] options)
    {
        var (result, outFile) = await RunInvokeAsync(functionName, payload, options);
        result.ShouldSucceed();
        return new CliInvocation(result, File.Exists(outFile) ? await File.ReadAllTextAsync(outFile) : "");
    }

    /// <summary>Runs <c>aws lambda invoke</c> for a test that expects the CLI to fail.</summary>
    public async Task<CliResult> InvokeCommandAsync(string functionName, string? payload, params string[] options) =>
        (await RunInvokeAsync(functionName, payload, options)).Result;

    public async Task<CliResult> RunAsync(IReadOnlyList<string> arguments, TimeSpan? timeout = null)
    {
        var executable = await (Version == V1 ? V1Executable : V2Executable).Value;
        var startInfo = new ProcessStartInfo(executable) { WorkingDirectory = _workDirectory };
        foreach (var argument in arguments.Concat(["--endpoint-url", _endpoint, "--output", "json"]))
        {
            startInfo.ArgumentList.Add(argument);
        }

        ConfigureEnvironment(startInfo, _workDirectory, _accessKeyId, _secretAccessKey);
        var commandLine = $"aws({Version}) {string.Join(' ', arguments.Select(Abbreviate))}";
        var limit = timeout ?? DefaultTimeout;
        var stopwatch = Stopwatch.StartNew();
        var outcome = await BoundedProcess.RunAsync(startInfo, limit);
        Assert.False(outcome.TimedOut, $"{commandLine} did not finish within {limit.TotalSeconds:0} s.{Environment.NewLine}stdout: {outcome.Stdout}{Environment.NewLine}stderr: {outcome.Stderr}");
        return new CliResult(commandLine, outcome.ExitCode, outcome.Stdout, outcome.Stderr, stopwatch.Elapsed, ServiceErrorExitCode);
    }

    private async Task<(CliResult Result, string OutFile)> RunInvokeAsync(string functionName, string? payload, string[] options)
    {
        var outFile = Path.Combine(_workDirectory, $"invoke-{Guid.NewGuid():N}.out");
        List<string> arguments = ["invoke", "--function-name", functionName];
        if (payload is not null)
        {
            // v2 base64-decodes blob arguments unless told otherwise; v1 sends them raw and rejects the option.
            if (Version == V2)
            {
                arguments.AddRange(["--cli-binary-format", "raw-in-base64-out"]);
            }

            arguments.AddRange([
                "--payload",
                payload.Length <= MaxInlinePayloadChars ? payload : "fileb://" + WriteScratchFile("json", Encoding.UTF8.GetBytes(payload)),
            ]);
        }

        arguments.AddRange(options);
        arguments.Add(outFile);
        return (await LambdaAsync([.. arguments]), outFile);
    }

    private string WriteScratchFile(string extension, byte[] content)
    {
        var path = Path.Combine(_workDirectory, $"{Guid.NewGuid():N}.{extension}");
        File.WriteAllBytes(path, content);
        return path;
    }

    private static void ConfigureEnvironment(ProcessStartInfo startInfo, string workDirectory, string accessKeyId, string secretAccessKey)
    {
        foreach (var key in startInfo.Environment.Keys.Where(k => k.StartsWith("AWS_", StringComparison.Ordinal)).ToList())
        {
            startInfo.Environment.Remove(key);
        }

        startInfo.Environment["AWS_ACCESS_KEY_ID"] = accessKeyId;
        startInfo.Environment["AWS_SECRET_ACCESS_KEY"] = secretAccessKey;
        startInfo.Environment["AWS_DEFAULT_REGION"] = Aws.Region;
        startInfo.Environment["AWS_PAGER"] = "";
        startInfo.Environment["AWS_MAX_ATTEMPTS"] = "1";
        startInfo.Environment["AWS_RETRY_MODE"] = "standard";
        startInfo.Environment["AWS_EC2_METADATA_DISABLED"] = "true";

        // A developer's ~/.aws/config (cli_binary_format, profiles, endpoints) must not change what runs.
        startInfo.Environment["AWS_CONFIG_FILE"] = Path.Combine(workDirectory, "no-aws-config");
        startInfo.Environment["AWS_SHARED_CREDENTIALS_FILE"] = Path.Combine(workDirectory, "no-aws-credentials");
    }

    private static string Abbreviate(string argument) =>
        argument.Length <= 200 ? argument : string.Concat(argument.AsSpan(0, 200), $"... ({argument.Length} chars)");

    /// <summary>Finds the CLI of a major version and checks what <c>--version</c> says; fails with how to install it.</summary>
    private static async Task<string> LocateAsync(string version)
    {
        string? candidate;
        string install;
        if (version == V2)
        {
            candidate = File.Exists(V2Path) ? V2Path : null;
            install = $"AWS CLI v2 not found at {V2Path}. Install Debian's package: apt-get install awscli (aws-cli 2.x on Debian 12).";
        }
        else
        {
            var v2Real = RealPath(V2Path);
            candidate = (Environment.GetEnvironmentVariable("PATH") ?? "")
                .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
                .Select(directory => Path.Combine(directory, "aws"))
                .FirstOrDefault(path => File.Exists(path) && RealPath(path) != v2Real);
            install = $"AWS CLI v1 not found: no `aws` on PATH other than {V2Path}. Install it from PyPI: pip install awscli (aws-cli 1.x).";
        }

        if (candidate is null)
        {
            throw new InvalidOperationException(install);
        }

        candidate = await PastPyenvShimAsync(candidate);
        var outcome = await BoundedProcess.RunAsync(new ProcessStartInfo(candidate, "--version"), TimeSpan.FromSeconds(60));
        var banner = (outcome.Stdout + outcome.Stderr).Trim();
        var expected = version == V1 ? "aws-cli/1." : "aws-cli/2.";
        return banner.StartsWith(expected, StringComparison.Ordinal)
            ? candidate
            : throw new InvalidOperationException($"{candidate} --version says '{banner}', expected {expected}x. {install}");
    }

    /// <summary>
    /// The executable a pyenv shim runs (<c>pyenv which</c>), or <paramref name="path"/> when it is no shim: the shim (bash,
    /// then <c>pyenv exec</c>'s scripts) costs about 0.1 s of CPU per call before the CLI starts, and tests call the CLI
    /// some thousand times per run.
    /// </summary>
    private static async Task<string> PastPyenvShimAsync(string path)
    {
        var shim = PyenvShim().Match(File.ReadLines(path).Take(20).FirstOrDefault(line => line.Contains("pyenv", StringComparison.Ordinal) && line.Contains(" exec ", StringComparison.Ordinal)) ?? "");
        if (!shim.Success)
        {
            return path;
        }

        var which = new ProcessStartInfo(shim.Groups["pyenv"].Value);
        which.ArgumentList.Add("which");
        which.ArgumentList.Add(Path.GetFileName(path));
        var outcome = await BoundedProcess.RunAsync(which, TimeSpan.FromSeconds(60));
        var resolved = outcome.Stdout.Trim();
        return outcome.ExitCode == 0 && !outcome.TimedOut && File.Exists(resolved) ? resolved : path;
    }

    [GeneratedRegex("""exec "(?<pyenv>/[^"]+/pyenv)" exec """)]
    private static partial Regex PyenvShim();

    /// <summary>The path with every symbolic link resolved, so /bin/aws (via /bin -> usr/bin) equals /usr/bin/aws.</summary>
    private static string RealPath(string path)
    {
        var resolved = "/";
        var hops = 0;
        var pending = new Queue<string>(Path.GetFullPath(path).Split('/', StringSplitOptions.RemoveEmptyEntries));
        while (pending.Count > 0)
        {
            var next = Path.Combine(resolved, pending.Dequeue());
            var target = new FileInfo(next).LinkTarget;
            if (target is null || ++hops > 40)
            {
                resolved = next;
                continue;
            }

            var absolute = Path.GetFullPath(target, resolved);
            resolved = "/";
            var rest = pending.ToList();
            pending.Clear();
            foreach (var part in absolute.Split('/', StringSplitOptions.RemoveEmptyEntries).Concat(rest))
            {
                pending.Enqueue(part);
            }
        }

        return resolved;
    }
}
