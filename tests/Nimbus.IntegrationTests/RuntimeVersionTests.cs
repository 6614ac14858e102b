using System.Text;
using System.Text.Json;

namespace Nimbus.IntegrationTests;

/// <summary>
/// Each runtime identifier runs on an interpreter of the version it names when this machine has one (python3.13 on a
/// Python 3.13, found on the PATH, in pyenv's versions or /usr/lib/jvm); when it has none, the function runs on the
/// family's default interpreter and both the server's log and the function's log at init say which (docs/compatibility.md,
/// "Runtimes"). Each test works out on its own which case this machine is in and asserts that one, so it never passes
/// without checking either.
/// </summary>
[Collection(Name)]
public sealed class RuntimeVersionTests
{
    /// <summary>Own collection: these tests start their own servers.</summary>
    public const string Name = "runtime-version";

    private const string PythonSource = """
        import sys

        import boto3


        def lambda_handler(event, context):
            return {
                "version": "%d.%d" % sys.version_info[:2],
                "executable": sys.executable,
                "boto3": boto3.__version__,
                "s3Endpoint": boto3.client("s3").meta.endpoint_url,
            }
        """;

    private const string NodeSource = """
        exports.handler = async () => ({ version: process.versions.node, executable: process.execPath });
        """;

    [Fact]
    public Task Python_identifiers_run_on_their_own_Python_version_with_boto3_importable_or_say_which_they_run_on() =>
        WithServerAsync(async (server, lambda) =>
        {
            var defaultPython = Run("python3", "-s", "-c", "import sys, boto3; print('%d.%d' % sys.version_info[:2], boto3.__version__)").Trim().Split(' ');
            foreach (var runtime in (string[])["python3.11", "python3.12", "python3.13"])
            {
                var wanted = runtime["python".Length..];
                var installed = defaultPython[0] == wanted || Runs($"python{wanted}", "-c", "1") || PyenvHas(wanted);

                // Two functions: the second's cold start may take a runtime pre-started for the first's interpreter.
                for (var i = 0; i < 2; i++)
                {
                    var name = $"py-{Guid.NewGuid():N}"[..20];
                    var created = await lambda.CreateFunctionAsync(name, FunctionZips.FromSource("lambda_function.py", PythonSource), runtime, "lambda_function.lambda_handler", timeout: 60);
                    Assert.Equal(runtime, created.Json().Str("Runtime"));
                    var (report, log) = await InvokeAsync(lambda, name);

                    Assert.Equal(runtime, (await lambda.GetFunctionAsync(name)).Json().GetProperty("Configuration").Str("Runtime"));
                    Assert.Equal(defaultPython[1], report.Str("boto3"));
                    Assert.False(string.IsNullOrEmpty(report.Str("s3Endpoint")), report.GetRawText());
                    if (installed)
                    {
                        Assert.Equal(wanted, report.Str("version"));
                        Assert.DoesNotContain("WARNING Runtime", log);
                    }
                    else
                    {
                        Assert.Equal(defaultPython[0], report.Str("version"));
                        Assert.Contains($"WARNING Runtime {runtime} is not installed on this Nimbus node: this function runs on Python {defaultPython[0]}", log);
                        Assert.Contains($"Runtime {runtime} has no interpreter of its version", server.DescribeOutput(5000));
                    }
                }
            }
        });

    [Fact]
    public Task Nodejs22_runs_on_Node_22_or_says_which_Node_it_runs_on() =>
        WithServerAsync(async (server, lambda) =>
        {
            var pathNode = Run("node", "-p", "process.versions.node").Trim();
            var installed = pathNode.StartsWith("22.", StringComparison.Ordinal) || NvmHas("22");
            var name = $"node-{Guid.NewGuid():N}"[..20];
            await lambda.CreateFunctionAsync(name, FunctionZips.FromSource("index.js", NodeSource), "nodejs22.x", "index.handler", timeout: 30);

            var (report, log) = await InvokeAsync(lambda, name);

            Assert.Equal("nodejs22.x", (await lambda.GetFunctionAsync(name)).Json().GetProperty("Configuration").Str("Runtime"));
            if (installed)
            {
                Assert.StartsWith("22.", report.Str("version"));
                Assert.DoesNotContain("WARNING Runtime", log);
            }
            else
            {
                Assert.Equal(pathNode, report.Str("version"));
                Assert.Contains($"WARNING Runtime nodejs22.x is not installed on this Nimbus node: this function runs on Node.js {pathNode}", log);
                Assert.Contains("Runtime nodejs22.x has no interpreter of its version", server.DescribeOutput(5000));
            }
        });

    /// <summary>The fixture is compiled for Java 17, so it runs on whichever JVM java21 gets.</summary>
    [Fact]
    public Task Java21_runs_on_a_Java_21_or_says_which_JVM_it_runs_on() =>
        WithServerAsync(async (server, lambda) =>
        {
            var pathJava = JavaMajor(Run("java", stderr: true, "-XshowSettings:properties", "-version"));
            var installed = pathJava == "21" || JvmHas("21");
            var request = LambdaHttp.CreateFunctionRequest($"java-{Guid.NewGuid():N}"[..20], FunctionZips.Build(FunctionZips.JavaFunction), "java21", "example.Handlers::context");
            request["Timeout"] = 60;
            var name = request["FunctionName"]!.GetValue<string>();
            Assert.Equal(201, (await lambda.CreateFunctionAsync(request)).StatusCode);

            var (report, log) = await InvokeAsync(lambda, name);

            Assert.Equal("java21", (await lambda.GetFunctionAsync(name)).Json().GetProperty("Configuration").Str("Runtime"));
            Assert.Equal("AWS_Lambda_java21", report.Str("executionEnv"));
            if (installed)
            {
                Assert.Equal("21", report.Str("javaVersion"));
                Assert.DoesNotContain("WARNING Runtime", log);
            }
            else
            {
                Assert.Equal(pathJava, report.Str("javaVersion"));
                Assert.Contains("WARNING Runtime java21 is not installed on this Nimbus node: this function runs on Java " + pathJava, log);
                Assert.Contains("Runtime java21 has no interpreter of its version", server.DescribeOutput(5000));
            }
        });

    private static async Task<(JsonElement Report, string Log)> InvokeAsync(LambdaHttp lambda, string name)
    {
        var response = await lambda.InvokeAsync(name, "{}", logType: "Tail");
        Assert.True(response.StatusCode == 200 && response.Header("X-Amz-Function-Error") is null, $"Expected 200 without X-Amz-Function-Error.{Environment.NewLine}{response}");
        var log = Encoding.UTF8.GetString(Convert.FromBase64String(response.Header("X-Amz-Log-Result") ?? ""));
        return (response.Json(), log);
    }

    private static bool PyenvHas(string wanted)
    {
        var root = Environment.GetEnvironmentVariable("PYENV_ROOT") is { Length: > 0 } set ? set : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".pyenv");
        var versions = Path.Combine(root, "versions");
        return Directory.Exists(versions) && Directory.EnumerateDirectories(versions)
            .Any(directory => Version.TryParse(Path.GetFileName(directory), out _) && Path.GetFileName(directory).StartsWith(wanted + ".", StringComparison.Ordinal)
                && Runs(Path.Combine(directory, "bin", $"python{wanted}"), "-c", "1"));
    }

    private static bool NvmHas(string major)
    {
        var root = Environment.GetEnvironmentVariable("NVM_DIR") is { Length: > 0 } set ? set : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nvm");
        var versions = Path.Combine(root, "versions", "node");
        return Directory.Exists(versions) && Directory.EnumerateDirectories(versions).Any(directory => Path.GetFileName(directory).StartsWith($"v{major}.", StringComparison.Ordinal));
    }

    private static bool JvmHas(string major) =>
        Directory.Exists("/usr/lib/jvm") && Directory.EnumerateDirectories("/usr/lib/jvm").Any(directory =>
            File.Exists(Path.Combine(directory, "release")) && File.ReadLines(Path.Combine(directory, "release"))
                .Any(line => line.StartsWith($"JAVA_VERSION=\"{major}\"", StringComparison.Ordinal) || line.StartsWith($"JAVA_VERSION=\"{major}.", StringComparison.Ordinal)));

    private static string JavaMajor(string properties) =>
        properties.Split('\n').Select(line => line.Split(" = ", 2)).First(parts => parts.Length == 2 && parts[0].Trim() == "java.specification.version")[1].Trim();

    private static bool Runs(string command, params string[] arguments)
    {
        try
        {
            Run(command, arguments);
            return true;
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or Xunit.Sdk.XunitException)
        {
            return false;
        }
    }

    private static string Run(string command, params string[] arguments) => BoundedProcess.Output(command, arguments);

    private static string Run(string command, bool stderr, params string[] arguments) => BoundedProcess.Output(command, arguments, stderr);

    private static async Task WithServerAsync(Func<NimbusServer, LambdaHttp, Task> test)
    {
        using var data = new TempDirectory("nimbus-it-runtime-version");
        var server = await NimbusServer.StartAsync(data.Path);
        try
        {
            await Failures.WithContextAsync(() => test(server, new LambdaHttp(server.Http)), () => server.DescribeOutput());
        }
        finally
        {
            await server.DisposeAsync();
        }
    }
}
