using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;

namespace Nimbus.IntegrationTests;

/// <summary>
/// The README's five-minute tour, run as written: every <c>sh</c> block of the section after the one that starts the
/// server, in one bash script with <c>set -euo pipefail</c>, against a fresh node. Only what cannot run unattended is
/// rewritten: the endpoint's port, the function URL's <c>&lt;url-id&gt;</c> placeholder, <c>../nimbus</c> (the
/// launcher of this checkout), and <c>logs tail --follow</c> (AWS CLI v2, stopped after a few seconds).
/// </summary>
public sealed partial class ReadmeTourTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private const string TourHeading = "## A five-minute tour with the AWS CLI";
    private const string NextHeading = "## Authentication and permissions";
    private const string DefaultEndpoint = "http://127.0.0.1:4566";

    [Fact]
    public async Task The_five_minute_tour_runs_as_written_against_a_fresh_node()
    {
        var launcher = NimbusServer.FindLauncher();
        var readme = await File.ReadAllTextAsync(Path.Combine(Path.GetDirectoryName(launcher)!, "README.md"));
        using var work = new TempDirectory("nimbus-tour");
        var endpoint = fixture.Server.EndpointUri;
        var script = TourScript(readme, endpoint, launcher, Path.Combine(work.Path, "tail.out"));
        await File.WriteAllTextAsync(Path.Combine(work.Path, "tour.sh"), script);

        var (exitCode, output) = await RunBashAsync(work.Path, "tour.sh", endpoint, TimeSpan.FromMinutes(8));

        Assert.True(exitCode == 0, $"The README tour stopped with exit code {exitCode}. Script:{Environment.NewLine}{script}{Environment.NewLine}Output:{Environment.NewLine}{output}");
        Assert.Contains("\"greeting\":\"Hello, Ada!\"", output, StringComparison.Ordinal);
        Assert.Contains("REPORT RequestId:", output, StringComparison.Ordinal);
        Assert.Contains("\"ExecutedVersion\": \"", output, StringComparison.Ordinal);
        Assert.Contains("\"ScheduleArn\": \"arn:aws:scheduler:us-east-1:000000000000:schedule/default/nightly\"", output, StringComparison.Ordinal);
        var tail = await File.ReadAllTextAsync(Path.Combine(work.Path, "tail.out"));
        Assert.Contains("hello Ada", tail, StringComparison.Ordinal);
    }

    /// <summary>The tour's commands as one script for <paramref name="endpoint"/>; fails when the README changed so that a rewrite no longer applies.</summary>
    private static string TourScript(string readme, Uri endpoint, string launcher, string tailFile)
    {
        var start = readme.IndexOf(TourHeading, StringComparison.Ordinal);
        var end = readme.IndexOf(NextHeading, StringComparison.Ordinal);
        Assert.True(start >= 0 && end > start, $"README.md has no '{TourHeading}' section followed by '{NextHeading}'.");
        var blocks = ShellBlock().Matches(readme[start..end]).Select(m => m.Groups[1].Value).ToList();
        Assert.True(blocks.Count >= 2, "The tour has no command blocks after the one that starts the server.");

        var port = endpoint.Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var authority = endpoint.GetLeftPart(UriPartial.Authority);
        var script = new StringBuilder("set -euxo pipefail\n");
        foreach (var block in blocks.Skip(1))
        {
            foreach (var line in block.Split('\n'))
            {
                var rewritten = line
                    .Replace(DefaultEndpoint, authority, StringComparison.Ordinal)
                    .Replace(".localhost:4566", ".localhost:" + port, StringComparison.Ordinal)
                    .Replace("<url-id>", "$(aws $E lambda get-function-url-config --function-name hello --query FunctionUrl --output text | cut -d/ -f3 | cut -d. -f1)", StringComparison.Ordinal);
                rewritten = Launcher().Replace(rewritten, launcher + " ");
                rewritten = FollowingTail().Replace(rewritten, m =>
                    $"(PYTHONUNBUFFERED=1 timeout 15 /usr/bin/aws {m.Groups[1].Value.TrimEnd()} > '{tailFile}' || test $? -eq 124)");
                script.Append(rewritten).Append('\n');
            }
        }

        var text = script.ToString();
        Assert.DoesNotContain(":4566", text, StringComparison.Ordinal);
        Assert.Contains("timeout 15 /usr/bin/aws", text, StringComparison.Ordinal);
        Assert.Contains(launcher + " policy put", text, StringComparison.Ordinal);
        return text;
    }

    private static async Task<(int ExitCode, string Output)> RunBashAsync(string directory, string script, Uri endpoint, TimeSpan limit)
    {
        var startInfo = new ProcessStartInfo("bash") { WorkingDirectory = directory };
        startInfo.ArgumentList.Add(script);
        foreach (var key in startInfo.Environment.Keys.Where(k => k.StartsWith("AWS_", StringComparison.Ordinal) || k.StartsWith("NIMBUS_", StringComparison.Ordinal)).ToList())
        {
            startInfo.Environment.Remove(key);
        }

        // As on a user's machine with no AWS configuration; the launcher's admin commands go to this node.
        startInfo.Environment["AWS_CONFIG_FILE"] = Path.Combine(directory, "no-aws-config");
        startInfo.Environment["AWS_SHARED_CREDENTIALS_FILE"] = Path.Combine(directory, "no-aws-credentials");
        startInfo.Environment["AWS_EC2_METADATA_DISABLED"] = "true";
        startInfo.Environment["NIMBUS_ENDPOINT"] = endpoint.GetLeftPart(UriPartial.Authority);

        var outcome = await BoundedProcess.RunAsync(startInfo, limit);
        var killed = outcome.TimedOut ? $"(killed after {limit.TotalMinutes:0} minutes)\n" : "";
        return (outcome.TimedOut ? -1 : outcome.ExitCode, $"{killed}{outcome.Stdout}\n--- stderr (commands as bash ran them) ---\n{outcome.Stderr}");
    }

    [GeneratedRegex(@"```sh\n(.*?)```", RegexOptions.Singleline)]
    private static partial Regex ShellBlock();

    [GeneratedRegex(@"(?<![\w/])\.\./nimbus ")]
    private static partial Regex Launcher();

    [GeneratedRegex(@"^aws (.*--follow[^#]*)(#.*)?$")]
    private static partial Regex FollowingTail();
}
