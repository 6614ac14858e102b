using System.IO.Compression;
using System.Text;

namespace Nimbus.IntegrationTests;

/// <summary>
/// The java17 and java21 runtimes run a zip laid out as Maven and Gradle builds lay it out (classes at the root,
/// lib/*.jar), with handlers <c>package.Class::method</c> or a class implementing (a look-alike of)
/// aws-lambda-java-core's RequestHandler or RequestStreamHandler.
/// </summary>
public sealed class JavaRuntimeTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    [Theory]
    [InlineData("java17", AwsCli.V1)]
    [InlineData("java21", AwsCli.V2)]
    public Task Java_RequestHandler_maps_POJOs_in_and_out_and_logs_through_the_context(string runtime, string cli) => fixture.RunAsync(async scope =>
    {
        var aws = scope.Cli(cli);
        var name = scope.NewFunctionName();
        Assert.Equal(runtime, (await aws.CreateFunctionAsync(name, FunctionZips.Build(FunctionZips.JavaFunction), runtime, "example.OrderHandler")).Json().Str("Runtime"));

        var invocation = await aws.InvokeAsync(name, """{"orderId":"j-1","quantity":4,"items":["a","b"]}""", "--log-type", "Tail");

        JsonAssert.Equal("""{"orderId":"j-1","total":40,"itemCount":2,"paid":true}""", invocation.ShouldReturn());
        LambdaLog.ShouldDescribeInvocation(invocation.ShouldHaveLog(), memorySize: 128, coldStart: true, "java order j-1");
    });

    [Theory]
    [InlineData(AwsCli.V1)]
    [InlineData(AwsCli.V2)]
    public Task Java_method_handlers_take_strings_maps_nothing_and_streams(string cli) => fixture.RunAsync(async scope =>
    {
        var aws = scope.Cli(cli);
        var zip = FunctionZips.Build(FunctionZips.JavaFunction);
        async Task<CliInvocation> RunAsync(string handler, string payload)
        {
            var name = scope.NewFunctionName();
            (await aws.CreateFunctionAsync(name, zip, "java17", handler)).ShouldSucceed();
            return await aws.InvokeAsync(name, payload);
        }

        Assert.Equal("ABC", (await RunAsync("example.Handlers::upper", "\"abc\"")).ShouldReturn().GetString());
        JsonAssert.Equal("""{"a":1,"b":"two","seen":2}""", (await RunAsync("example.Handlers::map", """{"a":1,"b":"two"}""")).ShouldReturn());
        Assert.Equal(1, (await RunAsync("example.Handlers::count", "{}")).ShouldReturn().GetInt32());
        JsonAssert.Equal("""[{"raw":true}]""", (await RunAsync("example.StreamHandler", """{"raw":true}""")).ShouldReturn());
    });

    [Fact]
    public Task Java_context_has_Lambdas_members_and_the_client_context() => fixture.RunAsync(async scope =>
    {
        var aws = scope.Cli(AwsCli.V2);
        var name = scope.NewFunctionName();
        (await aws.CreateFunctionAsync(name, FunctionZips.Build(FunctionZips.JavaFunction), "java21", "example.Handlers::context", "--timeout", "9", "--memory-size", "256")).ShouldSucceed();
        var clientContext = Convert.ToBase64String(Encoding.UTF8.GetBytes("""{"custom":{"k":"v"},"client":{"app_title":"title"},"env":{}}"""));

        var invocation = await aws.InvokeAsync(name, "{}", "--client-context", clientContext, "--log-type", "Tail");

        var context = invocation.ShouldReturn();
        Assert.Equal(36, context.Str("awsRequestId").Length);
        Assert.Equal(name, context.Str("functionName"));
        Assert.Equal("$LATEST", context.Str("functionVersion"));
        Assert.EndsWith($":function:{name}", context.Str("invokedFunctionArn"));
        Assert.Equal($"/aws/lambda/{name}", context.Str("logGroupName"));
        Assert.Contains("[$LATEST]", context.Str("logStreamName"));
        Assert.Equal(256, context.Num("memoryLimitInMB"));
        Assert.InRange(context.Num("remainingMs"), 1, 9_000);
        Assert.Equal("v", context.Str("clientCustom"));
        Assert.Equal("title", context.Str("clientAppTitle"));
        Assert.Equal("AWS_Lambda_java21", context.Str("executionEnv"));
        Assert.Equal("/var/task", context.Str("cwd"));
        Assert.Contains("java stdout line", invocation.ShouldHaveLog());
    });

    [Fact]
    public Task Java_exception_returns_the_error_document_with_the_class_name_as_errorType() => fixture.RunAsync(async scope =>
    {
        var aws = scope.Cli(AwsCli.V1);
        var name = scope.NewFunctionName();
        (await aws.CreateFunctionAsync(name, FunctionZips.Build(FunctionZips.JavaFunction), "java17", "example.Handlers::fail")).ShouldSucceed();

        var error = (await aws.InvokeAsync(name, "\"x\"")).ShouldFailUnhandled();

        Assert.Equal("java.lang.IllegalStateException", error.Str("errorType"));
        Assert.Equal("java boom: x", error.Str("errorMessage"));
        Assert.Contains(error.Array("stackTrace"), frame => frame.GetString()!.StartsWith("example.Handlers.fail(", StringComparison.Ordinal));
    });

    /// <summary>
    /// Lambda's Java runtime: a missing class or method is not fatal (init succeeds, every invoke reports the fault,
    /// the latter without an errorType); an exception in a static initializer or a constructor fails init, and its
    /// init error has no stack trace.
    /// </summary>
    [Theory]
    [InlineData("example.Nope", "java.lang.ClassNotFoundException", "Class not found: example.Nope", false)]
    [InlineData("example.Handlers::nope", null, "No public method named nope with appropriate method signature found on class example.Handlers", false)]
    [InlineData("example.BrokenStatic::handle", "java.lang.ExceptionInInitializerError", "Error loading class example.BrokenStatic", true)]
    [InlineData("example.BrokenConstructor::handle", "java.lang.IllegalStateException", "constructor boom", true)]
    public Task Java_handler_that_cannot_be_loaded_fails_as_Lambdas_Java_runtime_reports_it(string handler, string? errorType, string errorMessage, bool initFails) => fixture.RunAsync(async scope =>
    {
        var name = scope.NewFunctionName();
        var created = await scope.Lambda.CreateFunctionAsync(name, FunctionZips.Build(FunctionZips.JavaFunction), "java17", handler);
        Assert.True(created.StatusCode == 201, created.ToString());

        for (var attempt = 0; attempt < 2; attempt++)
        {
            var invoked = await scope.Lambda.InvokeAsync(name, "\"x\"", logType: "Tail");
            Assert.True(invoked.StatusCode == 200 && invoked.Header("X-Amz-Function-Error") == "Unhandled", invoked.ToString());
            var error = invoked.Json();
            Assert.Equal(errorMessage, error.Str("errorMessage"));
            Assert.Equal(errorType, error.TryGetProperty("errorType", out var type) ? type.GetString() : null);
            Assert.False(error.TryGetProperty("stackTrace", out _), $"Lambda's Java runtime reports load failures without a stack trace: {error.GetRawText()}");

            // Only a fatal one is an init failure, retried with a fresh init by every invoke.
            var tail = Encoding.UTF8.GetString(Convert.FromBase64String(invoked.Header("X-Amz-Log-Result")!));
            Assert.True(tail.Contains("Init Duration", StringComparison.Ordinal) == (initFails || attempt == 0), tail);
        }
    });

    [Fact]
    public Task Java_class_compiled_for_a_newer_Java_than_the_node_runs_fails_with_Runtime_InvalidRuntime() => fixture.RunAsync(async scope =>
    {
        var aws = scope.Cli(AwsCli.V2);
        var name = scope.NewFunctionName();
        (await aws.CreateFunctionAsync(name, WithClassVersion(FunctionZips.Build(FunctionZips.JavaFunction), "example/Newer.class", 99), "java21", "example.Newer::handle")).ShouldSucceed();

        var error = (await aws.InvokeAsync(name, "\"x\"")).ShouldFailUnhandled();

        Assert.Equal("Runtime.InvalidRuntime", error.Str("errorType"));
        Assert.Contains("compiled for a newer Java than this runtime runs", error.Str("errorMessage"));
    });

    /// <summary>The zip with one class file's major version (bytes 6-7) set, as a newer javac would write it.</summary>
    internal static byte[] WithClassVersion(byte[] zip, string entryName, int major)
    {
        using var buffer = new MemoryStream();
        buffer.Write(zip);
        using (var archive = new ZipArchive(buffer, ZipArchiveMode.Update, leaveOpen: true))
        {
            var entry = archive.GetEntry(entryName)!;
            byte[] bytes;
            using (var reader = entry.Open())
            using (var copy = new MemoryStream())
            {
                reader.CopyTo(copy);
                bytes = copy.ToArray();
            }

            bytes[6] = (byte)(major >> 8);
            bytes[7] = (byte)major;
            var attributes = entry.ExternalAttributes;
            entry.Delete();
            var replacement = archive.CreateEntry(entryName);
            replacement.ExternalAttributes = attributes;
            using var writer = replacement.Open();
            writer.Write(bytes);
        }

        return buffer.ToArray();
    }
}
