using System.Collections;
using System.Text.Json;
using Nimbus.Lambda.RuntimeSupport;
using Nimbus.Runtime.Dotnet;

// The dotnet8 / dotnet10 runtime: loads the class-library handler named by _HANDLER from /var/task, then serves
// invocations through Nimbus.Lambda.RuntimeSupport's loop. Pre-started (_NIMBUS_PRESTARTED=1), it first warms
// the code paths every function uses and waits for its function's environment.
RuntimeApiClient client;
try
{
    client = RuntimeApiClient.FromEnvironment();
    if (Environment.GetEnvironmentVariable("_NIMBUS_PRESTARTED") == "1")
    {
        Prestart.WarmUp();
        client = Prestart.TakeAssignment(client);
    }
}
catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException or InvalidOperationException or ArgumentException or JsonException)
{
    await Console.Error.WriteLineAsync($"[nimbus-runtime] the Runtime API cannot be reached: {e.Message}");
    return 1;
}

LogOutput.RedirectConsole();
var handlerName = Environment.GetEnvironmentVariable("_HANDLER") ?? "";
var taskRoot = Environment.GetEnvironmentVariable("LAMBDA_TASK_ROOT") is { Length: > 0 } root ? root : "/var/task";
var runtime = Environment.GetEnvironmentVariable("AWS_EXECUTION_ENV")?.Replace("AWS_Lambda_", "", StringComparison.Ordinal) ?? "";
Func<Stream, LambdaContext, Task<Stream?>> handler;
try
{
    handler = FunctionHandler.Load(handlerName, taskRoot, runtime);
}
catch (HandlerException e)
{
    LambdaBootstrap.ReportInitError(client, e, e.ErrorType, logStack: false);
    return 1;
}
#pragma warning disable CA1031 // Anything thrown while loading the function (its static constructors, its constructor) is its init error.
catch (Exception e)
#pragma warning restore CA1031
{
    LambdaBootstrap.ReportInitError(client, e, null, logStack: true);
    return 1;
}

using var bootstrap = new LambdaBootstrap(handler, null, client);
await bootstrap.RunAsync();
return 0;

/// <summary>What a pre-started host does before it knows its function.</summary>
internal static class Prestart
{
    /// <summary>Runs once what a first invocation otherwise compiles: JSON both ways, a context bridge, log entries.</summary>
    public static void WarmUp()
    {
        // A whole invocation of a handler of this assembly: binding, reflection invoke, the default serializer
        // both ways, a context bridge, an async result.
        var handler = FunctionHandler.Bind(typeof(WarmUpFunction), typeof(WarmUpFunction).GetMethod(nameof(WarmUpFunction.HandleAsync))!);
        var payload = """{"name":"warm","count":1,"tags":["a"],"when":"2024-01-01T00:00:00Z"}"""u8.ToArray();
        var context = new LambdaContext(new NextInvocation("warm-up", payload, 0, "", null, null, null), new LambdaLogger());
        using var input = new MemoryStream(payload);
        using var output = handler(input, context).GetAwaiter().GetResult();
        using var document = JsonDocument.Parse("""{"environment":{"A":"b"}}""");
        _ = document.RootElement.GetProperty("environment").EnumerateObject().Count();
        // The function's load context resolves through hostpolicy's deps.json reader: load it now.
        var location = typeof(Prestart).Assembly.Location;
        _ = new FunctionLoadContext(location);
        _ = TargetFramework.DotnetMajor(TargetFramework.Read(location));
    }

    /// <summary>Waits for the function, then takes its environment and its /var/task.</summary>
    public static RuntimeApiClient TakeAssignment(RuntimeApiClient client)
    {
        var address = Environment.GetEnvironmentVariable("AWS_LAMBDA_RUNTIME_API");
        using var document = JsonDocument.Parse(client.GetAssignment());
        var assigned = document.RootElement.GetProperty("environment");
        foreach (DictionaryEntry variable in Environment.GetEnvironmentVariables())
        {
            var name = (string)variable.Key;
            if (!assigned.TryGetProperty(name, out _))
            {
                Environment.SetEnvironmentVariable(name, null);
            }
        }

        foreach (var variable in assigned.EnumerateObject())
        {
            Environment.SetEnvironmentVariable(variable.Name, variable.Value.GetString());
        }

        // The function's code was mounted over /var/task after this process entered it.
        Environment.CurrentDirectory = Environment.GetEnvironmentVariable("LAMBDA_TASK_ROOT") is { Length: > 0 } root ? root : "/var/task";
        if (Environment.GetEnvironmentVariable("AWS_LAMBDA_RUNTIME_API") == address)
        {
            return client;
        }

        client.Dispose();
        return RuntimeApiClient.FromEnvironment();
    }

    internal sealed class WarmUpEvent
    {
        public string? Name { get; set; }

        public int Count { get; set; }

        public List<string>? Tags { get; set; }

        public DateTime When { get; set; }
    }

    internal interface IWarmUpContext
    {
        string? AwsRequestId { get; }

        TimeSpan RemainingTime { get; }
    }

    internal static class WarmUpFunction
    {
        public static async Task<WarmUpEvent> HandleAsync(WarmUpEvent input, IWarmUpContext context)
        {
            await Task.Yield();
            input.Name = context.AwsRequestId + context.RemainingTime.Ticks.ToString(System.Globalization.CultureInfo.InvariantCulture);
            return input;
        }
    }
}
