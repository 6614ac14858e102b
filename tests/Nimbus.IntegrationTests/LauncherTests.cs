using System.Diagnostics;

namespace Nimbus.IntegrationTests;

/// <summary>
/// The launcher's staleness check (<c>./nimbus build</c>, which <c>./nimbus serve</c> runs first), on a copy of this
/// checkout's launcher in a scratch tree whose <c>src/Nimbus.Server</c> is a one-line program built by the real SDK.
/// </summary>
public sealed class LauncherTests
{
    private const string Building = "nimbus: building the server";

    [Fact]
    public async Task A_source_file_saved_while_nimbus_build_runs_is_built_by_the_next_launch()
    {
        using var tree = new TempDirectory("nimbus-launcher");
        var launcher = Path.Combine(tree.Path, "nimbus");
        File.Copy(NimbusServer.FindLauncher(), launcher);
        var project = Path.Combine(tree.Path, "src", "Nimbus.Server");
        Directory.CreateDirectory(project);
        await File.WriteAllTextAsync(Path.Combine(tree.Path, "Directory.Build.props"), "<Project><PropertyGroup><UseArtifactsOutput>true</UseArtifactsOutput></PropertyGroup></Project>");
        await File.WriteAllTextAsync(Path.Combine(project, "Nimbus.Server.csproj"), """
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup><OutputType>Exe</OutputType><TargetFramework>net10.0</TargetFramework><AssemblyName>nimbusd</AssemblyName></PropertyGroup>
            </Project>
            """);
        var program = Path.Combine(project, "Program.cs");
        await File.WriteAllTextAsync(program, "System.Console.WriteLine(\"v1\");");

        // The first build; the source is saved again once it has started, as an editor does while a build runs.
        using (var build = Process.Start(Launch(launcher, "build"))!)
        {
            var stderr = new List<string>();
            while (await build.StandardError.ReadLineAsync() is { } line)
            {
                stderr.Add(line);
                if (line.StartsWith(Building, StringComparison.Ordinal))
                {
                    await File.WriteAllTextAsync(program, "System.Console.WriteLine(\"v2\");");
                }
            }

            await build.WaitForExitAsync();
            Assert.True(build.ExitCode == 0, string.Join(Environment.NewLine, stderr));
            Assert.Contains(stderr, l => l.StartsWith(Building, StringComparison.Ordinal));
        }

        var second = await BoundedProcess.RunAsync(Launch(launcher, "build"), TimeSpan.FromMinutes(3));
        Assert.True(second.ExitCode == 0, second.Stderr);
        Assert.Contains(Building, second.Stderr, StringComparison.Ordinal);
        var server = new ProcessStartInfo("dotnet") { ArgumentList = { Path.Combine(tree.Path, "artifacts", "bin", "Nimbus.Server", "release", "nimbusd.dll") } };
        Assert.Equal("v2", (await BoundedProcess.RunAsync(server, TimeSpan.FromMinutes(1))).Stdout.Trim());

        // Up to date now: no third build.
        var third = await BoundedProcess.RunAsync(Launch(launcher, "build"), TimeSpan.FromMinutes(1));
        Assert.True(third.ExitCode == 0, third.Stderr);
        Assert.DoesNotContain(Building, third.Stderr, StringComparison.Ordinal);
    }

    private static ProcessStartInfo Launch(string launcher, string command)
    {
        var start = new ProcessStartInfo(launcher) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false, ArgumentList = { command } };

        // No MSBuild node or compiler server outlives the build.
        start.Environment["MSBUILDDISABLENODEREUSE"] = "1";
        start.Environment["DOTNET_CLI_USE_MSBUILD_SERVER"] = "0";
        start.Environment["UseSharedCompilation"] = "false";
        return start;
    }
}
