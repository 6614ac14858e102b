using System.Globalization;
using System.IO.Compression;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Nimbus.IntegrationTests;

/// <summary>
/// Each runtime identifier runs on an interpreter of the version it names when this machine has one (python3.13 on a
/// Python 3.13, found on the PATH, in pyenv's versions or /usr/lib/jvm); when it has none, on the nearest newer one, and
/// both the server's log and the function's log at init say which; with only older ones, on the family's default, with
/// the same warnings (docs/compatibility.md, "Runtimes"). Each test works out on its own which case this machine is in
/// and asserts that one, so it never passes without checking either.
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
                if (!installed)
                {
                    // Not exercised on the CI machine (it has 3.11-3.13): a newer Python, or none, is checked as for Node.js.
                    continue;
                }

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
                    Assert.Equal(wanted, report.Str("version"));
                    Assert.DoesNotContain("WARNING Runtime", log);
                }
            }
        });

    /// <summary>
    /// An interpreter without a boto3 of its own (this machine's pyenv 3.12 and 3.13) imports the default Python's, shared
    /// read-only; its bytecode for that interpreter is compiled at the server's start, so the function's cold start does
    /// not compile it (~0.3 s of CPU here). Fails on the code before (nothing compiled it, and nothing logged it).
    /// </summary>
    [Fact]
    public Task A_Python_without_boto3_imports_the_shared_boto3_from_bytecode_compiled_for_its_version() =>
        WithServerAsync(async (server, lambda) =>
        {
            const string BytecodeSource = """
                import importlib.util, os, sys

                import boto3, botocore.client


                def lambda_handler(event, context):
                    modules = [boto3, botocore.client]
                    return {
                        "version": "%d.%d" % sys.version_info[:2],
                        "shared": boto3.__file__,
                        "bytecode": all(os.path.exists(importlib.util.cache_from_source(m.__file__)) for m in modules),
                    }
                """;
            foreach (var runtime in (string[])["python3.12", "python3.13"])
            {
                var wanted = runtime["python".Length..];
                if ((!Runs($"python{wanted}", "-c", "1") && !PyenvHas(wanted)) || Runs($"python{wanted}", "-s", "-c", "import boto3"))
                {
                    // Not this machine's case: no such interpreter, or one with a boto3 of its own.
                    continue;
                }

                var compiled = new Regex($@"The shared boto3 for \S+ \(Python {Regex.Escape(wanted)}\.\d+\) compiled in \d+ ms \(complete: True");
                var deadline = DateTime.UtcNow.AddMinutes(3);
                while (!compiled.IsMatch(server.DescribeOutput(5000)))
                {
                    Assert.True(DateTime.UtcNow < deadline, $"The shared boto3 should be compiled for Python {wanted} at start (event 9462) within 3 minutes.");
                    await Task.Delay(TimeSpan.FromMilliseconds(200));
                }

                var name = $"py-{Guid.NewGuid():N}"[..20];
                await lambda.CreateFunctionAsync(name, FunctionZips.FromSource("lambda_function.py", BytecodeSource), runtime, "lambda_function.lambda_handler", timeout: 60);
                var (report, _) = await InvokeAsync(lambda, name);

                Assert.Equal(wanted, report.Str("version"));
                Assert.True(report.GetProperty("bytecode").GetBoolean(), $"{runtime} should find bytecode of its version for the shared boto3: {report.GetRawText()}");
            }
        });

    [Fact]
    public Task Nodejs22_runs_on_Node_22_or_the_nearest_newer_Node_or_says_which_older_Node_it_runs_on() =>
        WithServerAsync(async (server, lambda) =>
        {
            var pathNode = Run("node", "-p", "process.versions.node").Trim();
            var installed = pathNode.StartsWith("22.", StringComparison.Ordinal) || NvmHas(major => major == 22);
            var newer = new[] { int.Parse(pathNode.Split('.')[0], CultureInfo.InvariantCulture) }.Concat(NvmMajors()).Where(major => major > 22).Order().FirstOrDefault();
            var name = $"node-{Guid.NewGuid():N}"[..20];
            var created = await lambda.CreateFunctionAsync(LambdaHttp.CreateFunctionRequest(name, FunctionZips.FromSource("index.js", NodeSource), "nodejs22.x", "index.handler"));
            Assert.Equal(201, created.StatusCode);
            var (report, log) = await InvokeAsync(lambda, name);

            Assert.Equal("nodejs22.x", (await lambda.GetFunctionAsync(name)).Json().GetProperty("Configuration").Str("Runtime"));
            if (installed)
            {
                Assert.StartsWith("22.", report.Str("version"));
                Assert.DoesNotContain("WARNING Runtime", log);
            }
            else
            {
                // The nearest newer Node.js, else (this machine: Node.js 20 only) the one on the PATH.
                var runsOn = newer == 0 ? pathNode : $"{newer}.";
                Assert.StartsWith(runsOn, report.Str("version"));
                Assert.Contains($"WARNING Runtime nodejs22.x is not installed on this Nimbus node: this function runs on Node.js {runsOn}", log);
                Assert.Contains("Runtime nodejs22.x has no interpreter of its version", server.DescribeOutput(5000));
            }
        });

    /// <summary>
    /// A class compiled with <c>javac --release 21</c> (class-file version 65, and an API Java 21 added) runs on a Java 21,
    /// else on the nearest newer JVM (on this machine, Temurin 25 beside the default Java 17, which cannot load it), else
    /// on the older default JVM, where it fails at init with Runtime.InvalidRuntime and the log says why. Compiled by a JDK 21 or newer of this machine's; without one, the fixture's class
    /// with its class-file version set to 65, as javac --release 21 writes it.
    /// </summary>
    [Fact]
    public Task Java21_code_runs_on_a_Java_21_or_the_nearest_newer_JVM_rather_than_an_older_one() =>
        WithServerAsync(async (server, lambda) =>
        {
            var pathJava = int.Parse(JavaMajor(Run("java", stderr: true, "-XshowSettings:properties", "-version")), CultureInfo.InvariantCulture);
            var majors = JvmMajors().Select(jvm => jvm.Major).Append(pathJava).ToList();
            var installed = majors.Contains(21);
            var newer = majors.Where(major => major > 21).Order().FirstOrDefault();
            using var classes = new TempDirectory("nimbus-it-release21");
            var (zip, handler, compiled) = JvmMajors().Where(jvm => jvm.Major >= 21 && File.Exists(Path.Combine(jvm.Home, "bin", "javac"))).Select(jvm => jvm.Home).FirstOrDefault() is { } jdk
                ? (Release21Zip(jdk, classes.Path), "release21.Release21::handle", true)
                : (JavaRuntimeTests.WithClassVersion(FunctionZips.Build(FunctionZips.JavaFunction), "example/Newer.class", 65), "example.Newer::handle", false);
            var request = LambdaHttp.CreateFunctionRequest($"java-{Guid.NewGuid():N}"[..20], zip, "java21", handler);
            request["Timeout"] = 60;
            var name = request["FunctionName"]!.GetValue<string>();
            Assert.Equal(201, (await lambda.CreateFunctionAsync(request)).StatusCode);
            var response = await lambda.InvokeAsync(name, "\"x\"", logType: "Tail");
            if (!installed && newer == 0)
            {
                // Only older JVMs: the default one runs it, warned, and cannot load a class of version 65.
                Assert.Equal("Unhandled", response.Header("X-Amz-Function-Error"));
                Assert.Contains("Runtime.InvalidRuntime", response.Text);
                Assert.Contains($"WARNING Runtime java21 is not installed on this Nimbus node: this function runs on Java {pathJava}", Encoding.UTF8.GetString(Convert.FromBase64String(response.Header("X-Amz-Log-Result") ?? "")));
                return;
            }

            Assert.True(response.StatusCode == 200 && response.Header("X-Amz-Function-Error") is null, $"Expected 200 without X-Amz-Function-Error.{Environment.NewLine}{response}");
            var log = Encoding.UTF8.GetString(Convert.FromBase64String(response.Header("X-Amz-Log-Result") ?? ""));
            var runsOn = installed ? 21 : newer;
            Assert.Equal(compiled ? $"{runsOn} x" : "x", response.Json().GetString());
            if (installed)
            {
                Assert.DoesNotContain("WARNING Runtime", log);
            }
            else
            {
                Assert.Contains($"WARNING Runtime java21 is not installed on this Nimbus node: this function runs on Java {runsOn}", log);
                Assert.Contains("Runtime java21 has no interpreter of its version", server.DescribeOutput(5000));
            }
        });

    /// <summary>tests/Fixtures/java/release21 compiled by <paramref name="jdk"/>'s javac with --release 21, zipped.</summary>
    private static byte[] Release21Zip(string jdk, string directory)
    {
        var source = Path.Combine(AppContext.BaseDirectory, "Fixtures", "java-release21", "release21", "Release21.java");
        BoundedProcess.Output(Path.Combine(jdk, "bin", "javac"), ["-nowarn", "--release", "21", "-d", directory, source]);
        using var buffer = new MemoryStream();
        using (var archive = new ZipArchive(buffer, ZipArchiveMode.Create, leaveOpen: true))
        {
            archive.CreateEntryFromFile(Path.Combine(directory, "release21", "Release21.class"), "release21/Release21.class");
        }

        return buffer.ToArray();
    }

    /// <summary>The JVMs in /usr/lib/jvm, by the major version of their <c>release</c> file.</summary>
    private static IEnumerable<(int Major, string Home)> JvmMajors() =>
        Directory.Exists("/usr/lib/jvm")
            ? Directory.EnumerateDirectories("/usr/lib/jvm")
                .Where(directory => File.Exists(Path.Combine(directory, "release")) && File.Exists(Path.Combine(directory, "bin", "java")))
                .SelectMany(directory => File.ReadLines(Path.Combine(directory, "release"))
                    .Where(line => line.StartsWith("JAVA_VERSION=\"", StringComparison.Ordinal))
                    .Select(line => (Major: int.TryParse(line["JAVA_VERSION=\"".Length..].Split('.', '"', '+', '-')[0], CultureInfo.InvariantCulture, out var major) ? major : 0, Home: directory)))
            : [];

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

    private static bool NvmHas(Func<int, bool> major) => NvmMajors().Any(major);

    /// <summary>The major versions of nvm's and n's Node.js versions.</summary>
    private static IEnumerable<int> NvmMajors()
    {
        var root = Environment.GetEnvironmentVariable("NVM_DIR") is { Length: > 0 } set ? set : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nvm");
        return ((string[])[Path.Combine(root, "versions", "node"), "/usr/local/n/versions/node"]).Where(Directory.Exists)
            .SelectMany(Directory.EnumerateDirectories)
            .Select(directory => int.TryParse(Path.GetFileName(directory).TrimStart('v').Split('.')[0], CultureInfo.InvariantCulture, out var major) ? major : 0);
    }

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
