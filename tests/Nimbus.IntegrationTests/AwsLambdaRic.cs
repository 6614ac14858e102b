using System.Diagnostics;

namespace Nimbus.IntegrationTests;

/// <summary>
/// AWS's own Node.js runtime interface client, <c>aws-lambda-ric</c> from npm, installed once per checkout into
/// <c>artifacts/aws-lambda-ric/&lt;version&gt;</c> and reused. Its native part builds with autoconf, automake,
/// libtool, cmake and g++ (scripts/test.sh installs them); the first install takes minutes.
/// </summary>
internal static class AwsLambdaRic
{
    public const string Version = "3.3.0";

    private static readonly TimeSpan InstallTimeout = TimeSpan.FromMinutes(20);

    private static readonly Lazy<Task<string>> Installed = new(InstallAsync);

    /// <summary>The installed package's directory (…/node_modules/aws-lambda-ric).</summary>
    public static Task<string> PackageDirectoryAsync() => Installed.Value;

    private static async Task<string> InstallAsync()
    {
        var root = Path.Combine(RepositoryRoot(), "artifacts", "aws-lambda-ric", Version);
        var package = Path.Combine(root, "node_modules", "aws-lambda-ric");
        if (File.Exists(Path.Combine(package, "dist", "rapid-client.node")))
        {
            return package;
        }

        Directory.CreateDirectory(root);
        await File.WriteAllTextAsync(Path.Combine(root, "package.json"), """{"name":"nimbus-ric-install","version":"1.0.0","private":true}""");
        var start = new ProcessStartInfo("npm") { WorkingDirectory = root, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in (string[])["install", "--no-audit", "--no-fund", $"aws-lambda-ric@{Version}"])
        {
            start.ArgumentList.Add(argument);
        }

        using var npm = Process.Start(start)!;
        var output = npm.StandardOutput.ReadToEndAsync();
        var errors = npm.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(InstallTimeout);
        try
        {
            await npm.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            npm.Kill(entireProcessTree: true);
            throw new InvalidOperationException($"npm install aws-lambda-ric@{Version} did not finish within {InstallTimeout.TotalMinutes} minutes.");
        }

        if (npm.ExitCode != 0 || !File.Exists(Path.Combine(package, "dist", "rapid-client.node")))
        {
            var tail = (await output + await errors) is var text && text.Length > 4_000 ? text[^4_000..] : await output + await errors;
            throw new InvalidOperationException(
                $"npm install aws-lambda-ric@{Version} failed (exit {npm.ExitCode}); its native part needs autoconf, automake, libtool, cmake and g++ (scripts/test.sh installs them):{Environment.NewLine}{tail}");
        }

        return package;
    }

    private static string RepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Nimbus.slnx")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException($"No directory above {AppContext.BaseDirectory} contains Nimbus.slnx.");
    }
}
