using System.Text.Json;

namespace Nimbus.IntegrationTests;

/// <summary>
/// The interpreter Python functions run on, and the boto3 they import: AWS's Python runtimes ship boto3, so a function
/// may import it without bundling it. Here the functions' boto3 is the one of the interpreter they run on (python3 on
/// the server's PATH, or <c>NIMBUS_PYTHON</c>), and it must be new enough to send the SDK's calls to this node
/// (<c>AWS_ENDPOINT_URL</c>, botocore 1.31 and newer).
/// </summary>
[Collection(Name)]
public sealed class PythonInterpreterTests
{
    /// <summary>Own collection: these tests start their own servers.</summary>
    public const string Name = "python-interpreter";

    private const string Handler = "lambda_function.lambda_handler";

    private const string Source = """
        import os
        import sys

        import boto3
        import botocore


        def lambda_handler(event, context):
            return {
                "python": sys.version.split()[0],
                "boto3": boto3.__version__,
                "botocore": botocore.__version__,
                "s3Endpoint": boto3.client("s3").meta.endpoint_url,
                "nodeEndpoint": os.environ.get("AWS_ENDPOINT_URL"),
            }
        """;

    [Fact]
    public Task Python_functions_import_the_boto3_of_the_servers_python3_and_its_calls_reach_this_node() =>
        WithServerAsync(null, async lambda =>
        {
            var expected = Probe("python3");
            var report = await CreateAndInvokeAsync(lambda);

            Assert.Equal(expected.Python, report.Str("python"));
            Assert.Equal(expected.Boto3, report.Str("boto3"));
            Assert.Equal(expected.Botocore, report.Str("botocore"));
            Assert.False(string.IsNullOrEmpty(report.Str("nodeEndpoint")), $"Instances get AWS_ENDPOINT_URL: {report.GetRawText()}");
            Assert.Equal(report.Str("nodeEndpoint"), report.Str("s3Endpoint"));
        });

    [Fact]
    public Task NIMBUS_PYTHON_names_the_interpreter_Python_functions_run_on_and_they_import_its_boto3() =>
        WithServerAsync(new Dictionary<string, string> { ["NIMBUS_PYTHON"] = "/usr/bin/python3" }, async lambda =>
        {
            var expected = Probe("/usr/bin/python3");
            var report = await CreateAndInvokeAsync(lambda);

            Assert.Equal(expected.Python, report.Str("python"));
            Assert.Equal(expected.Boto3, report.Str("boto3"));
            Assert.Equal(expected.Botocore, report.Str("botocore"));
        });

    /// <summary>
    /// A virtual environment over python3 (its packages seen too) with a module of its own: its python is a link to
    /// python3's binary, and runs as the environment only when started by that link's path. It is made outside /tmp,
    /// which is each sandbox's own.
    /// </summary>
    [Fact]
    public async Task NIMBUS_PYTHON_may_name_a_virtual_environments_python_and_functions_import_its_packages()
    {
        var expected = Probe("python3");
        var environment = $"/var/tmp/nimbus-it-venv-{Guid.NewGuid():N}";
        try
        {
            Run("python3", "-m", "venv", "--without-pip", "--system-site-packages", environment);
            var minor = string.Join('.', expected.Python.Split('.').Take(2));
            await File.WriteAllTextAsync($"{environment}/lib/python{minor}/site-packages/nimbus_venv_marker.py", "VALUE = 'from the environment'\n");

            await WithServerAsync(new Dictionary<string, string> { ["NIMBUS_PYTHON"] = $"{environment}/bin/python" }, async lambda =>
            {
                var report = await CreateAndInvokeAsync(lambda, VirtualEnvironmentSource);

                Assert.Equal(environment, report.Str("prefix"));
                Assert.Equal("from the environment", report.Str("marker"));
                Assert.Equal(expected.Boto3, report.Str("boto3"));
            });
        }
        finally
        {
            if (Directory.Exists(environment))
            {
                Directory.Delete(environment, recursive: true);
            }
        }
    }

    /// <summary>
    /// /var/runtime is read-only in the sandbox, so Python cannot cache the client's bytecode there itself: the server
    /// writes it when it resolves the interpreter, and every runtime start loads it instead of compiling the client.
    /// </summary>
    [Fact]
    public Task The_Python_runtime_client_is_loaded_from_bytecode_the_server_compiled_for_its_interpreter() =>
        WithServerAsync(null, async lambda =>
        {
            var report = await CreateAndInvokeAsync(lambda, BytecodeSource);

            Assert.StartsWith("/var/runtime/python/__pycache__/_nimbus_bootstrap.", report.Str("cached"));
            Assert.True(report.GetProperty("fresh").GetBoolean(), $"The client's bytecode should exist and match its source: {report.GetRawText()}");
        });

    // The bytecode's header holds the source's hash (PEP 552, checked hash-based: flags 0b11): Python uses the file only when it matches.
    private const string BytecodeSource = """
        import importlib.util
        import os
        import struct
        import sys


        def lambda_handler(event, context):
            client = sys.modules.get("_nimbus_bootstrap")
            cached = getattr(client, "__cached__", None)
            fresh = False
            if cached and os.path.exists(cached):
                with open(cached, "rb") as f:
                    header = f.read(16)
                with open(client.__file__, "rb") as f:
                    source = f.read()
                flags = struct.unpack("<I", header[4:8])[0]
                fresh = flags == 3 and header[8:16] == importlib.util.source_hash(source)
            return {"cached": cached, "fresh": fresh}
        """;

    private const string VirtualEnvironmentSource = """
        import sys

        import boto3
        import nimbus_venv_marker


        def lambda_handler(event, context):
            return {"prefix": sys.prefix, "marker": nimbus_venv_marker.VALUE, "boto3": boto3.__version__}
        """;

    private static async Task<JsonElement> CreateAndInvokeAsync(LambdaHttp lambda, string source = Source)
    {
        var name = $"t-{Guid.NewGuid():N}"[..20];
        await lambda.CreateFunctionAsync(name, FunctionZips.FromSource("lambda_function.py", source), "python3.11", Handler, timeout: 30);
        var response = await lambda.InvokeAsync(name, "{}");
        Assert.True(response.StatusCode == 200 && response.Header("X-Amz-Function-Error") is null, $"Expected 200 without X-Amz-Function-Error.{Environment.NewLine}{response}");
        return response.Json();
    }

    /// <summary>What <paramref name="interpreter"/> reports on this machine, run as the sandbox runs it (<c>-s</c>).</summary>
    private static (string Python, string Boto3, string Botocore) Probe(string interpreter)
    {
        var parts = Run(interpreter, "-s", "-c", "import sys, boto3, botocore; print(sys.version.split()[0], boto3.__version__, botocore.__version__)").Trim().Split(' ');
        return (parts[0], parts[1], parts[2]);
    }

    private static string Run(string command, params string[] arguments) =>
        BoundedProcess.Output(command, arguments, hint: " (this machine should have it: ./nimbus test installs python3-boto3)");

    private static async Task WithServerAsync(Dictionary<string, string>? environment, Func<LambdaHttp, Task> test)
    {
        using var data = new TempDirectory("nimbus-it-python");
        var server = await NimbusServer.StartAsync(data.Path, environment);
        try
        {
            await Failures.WithContextAsync(() => test(new LambdaHttp(server.Http)), () => server.DescribeOutput());
        }
        finally
        {
            await server.DisposeAsync();
        }
    }
}
