using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Nimbus.IntegrationTests;

/// <summary>
/// The runtime contract, one row per runtime: a probe function in each language (probe-node, probe-python, the
/// .NET and Java fixtures' Probe classes, a bash + curl bootstrap) answers the same events, and every row must show
/// Lambda's environment variables, context fields, a remaining time that counts down, client context, Cognito
/// identity and trace header passthrough (for Java the <c>com.amazonaws.xray.traceHeader</c> property, as on Lambda), stdout and stderr in the tail log, and Lambda's error shapes for a thrown error, a process
/// exit, a response over 6 MB and a failing init.
/// </summary>
public sealed partial class RuntimeContractTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private const int MemorySize = 256;
    private const int Timeout = 10;
    private const string IdentityId = "us-east-1:4f3c1c8e-8a1b-4c1a-9a0e-2f1d6b7c9e01";
    private const string IdentityPoolId = "us-east-1:0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d";
    private const string TraceId = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1";

    public static TheoryData<string, string, string, string, string> Rows => new()
    {
        // runtime, fixture, handler, errorType of a thrown error, errorType of a failing init
        { "nodejs20.x", "probe-node", "index.handler", "Error", "Error" },
        { "python3.12", "probe-python", "probe.handler", "Exception", "RuntimeError" },
        { "dotnet8", FunctionZips.DotnetFunction, "DotnetFunction::DotnetFunction.Probe::Handle", "InvalidOperationException", "InvalidOperationException" },
        { "java21", FunctionZips.JavaFunction, "example.Probe::handle", "java.lang.IllegalStateException", "java.lang.IllegalStateException" },
        { "provided.al2023", "probe-provided", "probe.handler", "Function.ProbeError", "Runtime.ProbeInitError" },
    };

    [Theory]
    [MemberData(nameof(Rows))]
    public Task Runtime_honours_Lambdas_contract(string runtime, string fixtureName, string handler, string thrownType, string initType) => fixture.RunAsync(async scope =>
    {
        var zip = FunctionZips.Build(fixtureName);
        var name = scope.NewFunctionName();
        await CreateAsync(scope, name, zip, runtime, handler, null);

        // Environment, context, countdown, client context, identity and trace passthrough. The caller signs with
        // credentials issued for a Cognito identity (Nimbus's stand-in for Cognito's GetCredentialsForIdentity),
        // so the function sees that identity, as on Lambda.
        var cognito = await CognitoCredentialsAsync(scope, runtime);
        var clientContext = Convert.ToBase64String(Encoding.UTF8.GetBytes("""{"custom":{"k":"v"},"client":{"app_title":"probe"},"env":{}}"""));
        var probe = await InvokeAsync(scope, name, """{"action":"env"}""", new() { ["X-Amz-Client-Context"] = clientContext, ["X-Amzn-Trace-Id"] = TraceId }, cognito);
        Assert.True(probe.StatusCode == 200 && probe.Header("X-Amz-Function-Error") is null, probe.ToString());
        var body = probe.Json();
        var env = body.At("env");
        string? Env(string variable) => env.At(variable).ValueKind == JsonValueKind.Null ? null : env.Str(variable);
        Assert.Equal(name, Env("AWS_LAMBDA_FUNCTION_NAME"));
        Assert.Equal("$LATEST", Env("AWS_LAMBDA_FUNCTION_VERSION"));
        Assert.Equal(MemorySize.ToString(System.Globalization.CultureInfo.InvariantCulture), Env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE"));
        Assert.Equal($"/aws/lambda/{name}", Env("AWS_LAMBDA_LOG_GROUP_NAME"));
        Assert.Matches(LogStreamName(), Env("AWS_LAMBDA_LOG_STREAM_NAME"));
        Assert.Equal(Aws.Region, Env("AWS_REGION"));
        Assert.Equal(Aws.Region, Env("AWS_DEFAULT_REGION"));
        Assert.Equal(runtime.StartsWith("provided", StringComparison.Ordinal) ? null : $"AWS_Lambda_{runtime}", Env("AWS_EXECUTION_ENV"));
        Assert.Equal("/var/task", Env("LAMBDA_TASK_ROOT"));
        Assert.Equal("/var/runtime", Env("LAMBDA_RUNTIME_DIR"));
        Assert.Equal(handler, Env("_HANDLER"));
        Assert.Equal(":UTC", Env("TZ"));
        Assert.Matches(@"^127\.0\.0\.1:\d+$", Env("AWS_LAMBDA_RUNTIME_API"));
        Assert.Equal("on-demand", Env("AWS_LAMBDA_INITIALIZATION_TYPE"));
        // The caller's Root and Sampled, with a Parent of the function's own segment.
        Assert.Matches(@"^Root=1-5759e988-bd862e3fe1be46a994272793;Parent=[0-9a-f]{16};Sampled=1$", Env("_X_AMZN_TRACE_ID"));
        Assert.Equal("en_US.UTF-8", Env("LANG"));

        var context = body.At("context");
        Assert.Equal(probe.Header("x-amzn-RequestId"), context.Str("awsRequestId"));
        Assert.Equal(name, context.Str("functionName"));
        Assert.Equal("$LATEST", context.Str("functionVersion"));
        Assert.Equal(Aws.FunctionArn(name), context.Str("invokedFunctionArn"));
        Assert.Equal(Env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE"), context.Str("memoryLimitInMB"));
        Assert.Equal(Env("AWS_LAMBDA_LOG_GROUP_NAME"), context.Str("logGroupName"));
        Assert.Equal(Env("AWS_LAMBDA_LOG_STREAM_NAME"), context.Str("logStreamName"));
        Assert.Equal("v", context.Str("clientCustom"));
        Assert.Equal(IdentityId, context.Str("identityId"));
        Assert.Equal(IdentityPoolId, context.Str("identityPoolId"));
        var (first, second) = (body.Num("remaining1"), body.Num("remaining2"));
        Assert.True(first is > 0 and <= Timeout * 1000 && second > 0 && second <= first - 40,
            $"The remaining time must count down from the {Timeout} s timeout: {first} ms, then {second} ms 50 ms later.");

        // stdout and stderr in the log tail.
        var logged = await InvokeAsync(scope, name, """{"action":"log"}""", new() { ["X-Amz-Log-Type"] = "Tail" });
        var tail = Encoding.UTF8.GetString(Convert.FromBase64String(logged.Header("X-Amz-Log-Result")!));
        Assert.Contains("probe stdout line", tail, StringComparison.Ordinal);
        Assert.Contains("probe stderr line", tail, StringComparison.Ordinal);

        // Errors: a thrown one, a response over 6 MB, an exit during the invocation.
        var thrown = ShouldFail(await InvokeAsync(scope, name, """{"action":"throw"}"""));
        Assert.Equal(thrownType, thrown.Str("errorType"));
        Assert.Contains("probe boom", thrown.Str("errorMessage"), StringComparison.Ordinal);
        var big = ShouldFail(await InvokeAsync(scope, name, """{"action":"big"}"""));
        Assert.Equal("Function.ResponseSizeTooLarge", big.Str("errorType"));
        var exited = ShouldFail(await InvokeAsync(scope, name, """{"action":"exit"}"""));
        Assert.Equal("Runtime.ExitError", exited.Str("errorType"));
        Assert.Contains("Runtime exited with error: exit status 3", exited.Str("errorMessage"), StringComparison.Ordinal);
        if (runtime.StartsWith("nodejs", StringComparison.Ordinal))
        {
            var rejected = ShouldFail(await InvokeAsync(scope, name, """{"action":"reject"}"""));
            Assert.Equal("Runtime.UnhandledPromiseRejection", rejected.Str("errorType"));
            Assert.Contains("probe rejected", rejected.Str("errorMessage"), StringComparison.Ordinal);
        }

        // A failing init.
        var broken = scope.NewFunctionName();
        await CreateAsync(scope, broken, zip, runtime, handler, new() { ["PROBE_INIT_FAIL"] = "1" });
        var init = ShouldFail(await InvokeAsync(scope, broken, """{"action":"env"}"""));
        Assert.Equal(initType, init.Str("errorType"));
        Assert.Contains("probe init failed", init.GetRawText(), StringComparison.Ordinal);
    });

    public static TheoryData<string, string, string, string, string> ScriptRows => new()
    {
        // runtime, fixture, handler, errorType and a part of errorMessage of a result JSON cannot hold
        { "nodejs20.x", "probe-node", "index.handler", "TypeError", "BigInt" },
        { "python3.12", "probe-python", "probe.handler", "Runtime.MarshalError", "Unable to marshal response: Object of type set is not JSON serializable" },
    };

    /// <summary>
    /// The Node and Python clients parse events and write results themselves (fast paths for the usual small UTF-8
    /// payload): text outside ASCII must come back unchanged, an event of several MB must arrive whole, and a
    /// result JSON cannot hold must be the invoke's error without breaking the next invoke.
    /// </summary>
    [Theory]
    [MemberData(nameof(ScriptRows))]
    public Task Runtime_passes_unicode_and_multi_megabyte_events_and_reports_a_result_it_cannot_serialise(string runtime, string fixtureName, string handler, string errorType, string errorMessage) => fixture.RunAsync(async scope =>
    {
        var name = scope.NewFunctionName();
        await CreateAsync(scope, name, FunctionZips.Build(fixtureName), runtime, handler, null);
        // Written by hand, not with JsonSerializer (which would escape everything outside ASCII): the event's text
        // arrives as raw UTF-8, with JSON escapes beside it.
        const string Text = "日本語 ünïcödé 😀 \"quoted\" back\\slash\nline\ttab \u0000 end";
        const string TextJson = "\"日本語 ünïcödé 😀 \\\"quoted\\\" back\\\\slash\\nline\\ttab \\u0000 end\"";
        var big = new string('é', 1_000_000) + new string('x', 3_500_000) + "end";
        var payload = $$"""{"action":"echo","text":{{TextJson}},"big":"{{big}}"}""";
        Assert.True(Encoding.UTF8.GetByteCount(payload) > 5_000_000, "The event must be several MB.");

        var echoed = await InvokeAsync(scope, name, payload);
        Assert.True(echoed.StatusCode == 200 && echoed.Header("X-Amz-Function-Error") is null, echoed.ToString());
        var body = echoed.Json();
        Assert.Equal(Text, body.Str("text"));
        Assert.Equal(big.Length, body.Num("bigLength"));
        Assert.Equal("éé", body.Str("bigHead"));
        Assert.Equal("end", body.Str("bigTail"));

        var failed = ShouldFail(await InvokeAsync(scope, name, """{"action":"unserialisable"}"""));
        Assert.Equal(errorType, failed.Str("errorType"));
        Assert.Contains(errorMessage, failed.Str("errorMessage"), StringComparison.Ordinal);

        var again = await InvokeAsync(scope, name, $$"""{"action":"echo","text":{{TextJson}}}""");
        Assert.True(again.StatusCode == 200 && again.Header("X-Amz-Function-Error") is null, again.ToString());
        Assert.Equal(Text, again.Json().Str("text"));
        Assert.Equal(0, again.Json().Num("bigLength"));
    });

    /// <summary>
    /// Each invoke's trace id reaches <c>_X_AMZN_TRACE_ID</c> for the handler and for the processes it starts, and a
    /// warm Python instance does not grow with the ids it has seen: glibc's setenv (what <c>os.environ[...] = </c>
    /// calls) keeps every distinct value for the life of the process, ~144 bytes an invoke, which took a 128 MB
    /// function to its memory limit after some 800,000 invokes. The first invokes warm the instance (and pass the
    /// id count after which a fresh runtime stops using setenv); then a few thousand must not move its RSS.
    /// </summary>
    [Fact]
    public Task Python_runtime_sets_each_trace_id_for_the_handler_and_its_children_without_growing() => fixture.RunAsync(async scope =>
    {
        var name = scope.NewFunctionName();
        await CreateAsync(scope, name, FunctionZips.Build("probe-python"), "python3.12", "probe.handler", null);
        async Task<JsonElement> MemoryAsync(string traceId)
        {
            var answer = await InvokeAsync(scope, name, """{"action":"memory"}""", new() { ["X-Amzn-Trace-Id"] = traceId });
            Assert.True(answer.StatusCode == 200 && answer.Header("X-Amz-Function-Error") is null, answer.ToString());
            var body = answer.Json();
            Assert.StartsWith(traceId.Split(';')[0] + ";", body.Str("trace"), StringComparison.Ordinal);
            Assert.Equal(body.Str("trace"), body.Str("childTrace"));
            return body;
        }

        await MemoryAsync("Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1");
        for (var i = 0; i < 1_200; i++)
        {
            Assert.Equal(200, (await InvokeAsync(scope, name, """{"action":"echo","text":"warm"}""")).StatusCode);
        }

        var before = (await MemoryAsync("Root=1-5759e988-00000000000000000000a001;Sampled=1")).Num("rssKiB");
        for (var i = 0; i < 3_000; i++)
        {
            Assert.Equal(200, (await InvokeAsync(scope, name, """{"action":"echo","text":"warm"}""")).StatusCode);
        }

        var after = (await MemoryAsync("Root=1-5759e988-00000000000000000000a002;Sampled=1")).Num("rssKiB");
        // 3,000 ids through setenv: ~420 KiB.
        Assert.True(after - before < 150, $"The instance grew by {after - before} KiB over 3,000 invokes ({before} -> {after} KiB).");
    });

    /// <summary>
    /// The Node.js runtime holds <c>_X_AMZN_TRACE_ID</c> in a view of <c>process.env</c> instead of setting it with glibc's
    /// setenv (which kept every id, ~145 bytes an invoke: 28 MB over 200,000 ids, docs/benchmarks.md): the handler still
    /// reads each invoke's id there, a child process it starts inherits it, and <c>Object.keys</c> lists it. (Node's RSS
    /// moves by megabytes with its collector, so the growth itself is measured in docs/benchmarks.md, not here.)
    /// </summary>
    [Fact]
    public Task Node_runtime_gives_each_trace_id_to_the_handler_and_its_children() => fixture.RunAsync(async scope =>
    {
        var name = scope.NewFunctionName();
        await CreateAsync(scope, name, FunctionZips.Build("probe-node"), "nodejs20.x", "index.handler", null);
        foreach (var traceId in new[] { "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1", "Root=1-5759e988-00000000000000000000b001;Sampled=0" })
        {
            var answer = await InvokeAsync(scope, name, """{"action":"memory"}""", new() { ["X-Amzn-Trace-Id"] = traceId });
            Assert.True(answer.StatusCode == 200 && answer.Header("X-Amz-Function-Error") is null, answer.ToString());
            var body = answer.Json();
            Assert.StartsWith(traceId.Split(';')[0] + ";", body.Str("trace"), StringComparison.Ordinal);
            Assert.Equal(body.Str("trace"), body.Str("childTrace"));
            Assert.True(body.GetProperty("listed").GetBoolean(), body.GetRawText());
        }
    });

    private static async Task CreateAsync(TestScope scope, string name, byte[] zip, string runtime, string handler, Dictionary<string, string>? environment)
    {
        var request = LambdaHttp.CreateFunctionRequest(name, zip, runtime, handler);
        request["MemorySize"] = MemorySize;
        request["Timeout"] = Timeout;
        if (environment is not null)
        {
            var variables = new System.Text.Json.Nodes.JsonObject();
            foreach (var (key, value) in environment)
            {
                variables[key] = value;
            }

            request["Environment"] = new System.Text.Json.Nodes.JsonObject { ["Variables"] = variables };
        }

        var created = await scope.Lambda.CreateFunctionAsync(request);
        Assert.True(created.StatusCode == 201, created.ToString());
    }

    private static async Task<HttpResult> InvokeAsync(TestScope scope, string name, string payload, Dictionary<string, string>? headers = null, SessionKey? signer = null)
    {
        if (signer is null)
        {
            return await scope.Lambda.SendAsync(HttpMethod.Post, $"{LambdaHttp.FunctionsPath}/{name}/invocations",
                new StringContent(payload, Encoding.UTF8, "application/json"), headers);
        }

        var body = Encoding.UTF8.GetBytes(payload);
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(scope.Server.EndpointUri, $"{LambdaHttp.FunctionsPath}/{name}/invocations"))
        {
            Content = new ByteArrayContent(body),
        };
        foreach (var (header, value) in headers ?? [])
        {
            request.Headers.TryAddWithoutValidation(header, value);
        }

        SigV4SigningHandler.Sign(request, body, "lambda", signer.AccessKeyId, signer.SecretKey, Aws.Region, DateTime.UtcNow, signer.SessionToken);
        return await AuthClients.SendAsync(scope.Server.UnsignedHttp, request);
    }

    /// <summary>Temporary credentials of a role allowed to invoke, issued for the Cognito identity <see cref="IdentityId"/>.</summary>
    private static async Task<SessionKey> CognitoCredentialsAsync(TestScope scope, string runtime)
    {
        var role = $"cognito-{runtime.Replace('.', '-')}";
        using (var put = await scope.Server.Http.PutAsync($"/nimbus/admin/roles/{role}/policies/invoke", new StringContent(
            """{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"lambda:InvokeFunction","Resource":"*"}]}""", Encoding.UTF8, "application/json")))
        {
            Assert.True((int)put.StatusCode == 204, $"put role policy: {(int)put.StatusCode} {await put.Content.ReadAsStringAsync()}");
        }

        using var issued = await scope.Server.Http.PostAsync($"/nimbus/admin/roles/{role}/cognito-credentials", new StringContent(
            $$"""{"IdentityId":"{{IdentityId}}","IdentityPoolId":"{{IdentityPoolId}}"}""", Encoding.UTF8, "application/json"));
        var text = await issued.Content.ReadAsStringAsync();
        Assert.True((int)issued.StatusCode == 200, $"cognito credentials: {(int)issued.StatusCode} {text}");
        var answer = JsonDocument.Parse(text).RootElement;
        Assert.Equal(IdentityId, answer.Str("IdentityId"));
        var credentials = answer.At("Credentials");
        return new SessionKey(credentials.Str("AccessKeyId"), credentials.Str("SecretKey"), credentials.Str("SessionToken"));
    }

    private sealed record SessionKey(string AccessKeyId, string SecretKey, string SessionToken);

    private static JsonElement ShouldFail(HttpResult result)
    {
        Assert.True(result.StatusCode == 200 && result.Header("X-Amz-Function-Error") == "Unhandled", $"Expected a function error.{Environment.NewLine}{result}");
        return result.Json();
    }

    [GeneratedRegex(@"^\d{4}/\d{2}/\d{2}/\[\$LATEST\][0-9a-f]{32}$")]
    private static partial Regex LogStreamName();
}
