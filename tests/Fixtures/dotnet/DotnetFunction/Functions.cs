using System;
using System.Collections.Generic;
using System.IO;
using System.Text;
using System.Text.Json;
using System.Threading.Tasks;
using Amazon.Lambda.Core;

[assembly: LambdaSerializer(typeof(DotnetFunction.CamelCaseSerializer))]

namespace DotnetFunction;

public class Order
{
    public string? OrderId { get; set; }
    public int Quantity { get; set; }
    public List<string>? Items { get; set; }
    public string? Note { get; set; }
}

public class Receipt
{
    public string? OrderId { get; set; }
    public int Total { get; set; }
    public string? Missing { get; set; }
}

/// <summary>The function's own ILambdaSerializer: camelCase out, case-insensitive in, nulls left out.</summary>
public class CamelCaseSerializer : ILambdaSerializer
{
    private static readonly JsonSerializerOptions Options = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        PropertyNameCaseInsensitive = true,
        DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull,
    };

    public T Deserialize<T>(Stream requestStream) => JsonSerializer.Deserialize<T>(requestStream, Options)!;

    public void Serialize<T>(T response, Stream responseStream) => JsonSerializer.Serialize(responseStream, response, Options);
}

public class Functions
{
    private static int _invocations;
    private readonly int _constructed = Environment.TickCount;

    // (input, context) -> T, POCO both ways through the assembly's serializer.
    public Receipt Order(Order order, ILambdaContext context)
    {
        context.Logger.LogLine($"order {order.OrderId} x{order.Quantity}");
        return new Receipt { OrderId = order.OrderId, Total = order.Quantity * 10 };
    }

    // (input) -> Task<T>
    public async Task<string> Upper(string input)
    {
        await Task.Yield();
        return input.ToUpperInvariant();
    }

    // () -> T, keeping state while warm
    public int Count() => ++_invocations;

    // (input, context) -> void, logging through every logger shape
    public void Log(string input, ILambdaContext context)
    {
        Console.WriteLine($"console says {input}");
        context.Logger.Log("logger says " + input);
        context.Logger.LogInformation("info says {what}", input);
        context.Logger.LogWarning("warning says " + input);
        Console.Error.WriteLine("stderr says " + input);
    }

    // (input, context) -> Task, awaiting
    public async Task Wait(int milliseconds, ILambdaContext context)
    {
        await Task.Delay(milliseconds);
    }

    // Stream in, Stream out: raw bytes
    public Stream Echo(Stream input)
    {
        var copy = new MemoryStream();
        input.CopyTo(copy);
        var text = Encoding.UTF8.GetString(copy.ToArray());
        return new MemoryStream(Encoding.UTF8.GetBytes("[" + text + "]"));
    }

    // Everything the context tells.
    public Dictionary<string, object?> Context(Stream input, ILambdaContext context) => new()
    {
        ["awsRequestId"] = context.AwsRequestId,
        ["functionName"] = context.FunctionName,
        ["functionVersion"] = context.FunctionVersion,
        ["invokedFunctionArn"] = context.InvokedFunctionArn,
        ["logGroupName"] = context.LogGroupName,
        ["logStreamName"] = context.LogStreamName,
        ["memoryLimitInMB"] = context.MemoryLimitInMB,
        ["remainingMs"] = (long)context.RemainingTime.TotalMilliseconds,
        ["traceId"] = context.TraceId,
        ["clientCustom"] = context.ClientContext?.Custom is { } custom && custom.TryGetValue("k", out var v) ? v : null,
        ["clientAppTitle"] = context.ClientContext?.Client?.AppTitle,
        ["cwd"] = Environment.CurrentDirectory,
        ["taskRoot"] = Environment.GetEnvironmentVariable("LAMBDA_TASK_ROOT"),
        ["framework"] = System.Runtime.InteropServices.RuntimeInformation.FrameworkDescription,
        ["executionEnv"] = Environment.GetEnvironmentVariable("AWS_EXECUTION_ENV"),
        ["userVar"] = Environment.GetEnvironmentVariable("USER_VAR"),
    };

    // What a pre-started host shows its function: its age, its /var/task, its environment.
    public Dictionary<string, object?> Prestart(Stream input)
    {
        string write;
        try
        {
            File.WriteAllText("/var/task/written", "x");
            write = "written";
        }
        catch (UnauthorizedAccessException)
        {
            write = "EACCES";
        }
        catch (IOException e)
        {
            write = e.Message.Contains("Read-only", StringComparison.OrdinalIgnoreCase) ? "EROFS" : e.Message;
        }

        var environment = new SortedDictionary<string, string?>(StringComparer.Ordinal);
        foreach (System.Collections.DictionaryEntry variable in Environment.GetEnvironmentVariables())
        {
            environment[(string)variable.Key] = (string?)variable.Value;
        }

        var files = new List<string>();
        foreach (var file in Directory.GetFiles("/var/task"))
        {
            files.Add(Path.GetFileName(file));
        }

        files.Sort(StringComparer.Ordinal);
        return new()
        {
            ["processAgeSeconds"] = (DateTime.Now - System.Diagnostics.Process.GetCurrentProcess().StartTime).TotalSeconds,
            ["cwd"] = Environment.CurrentDirectory,
            ["files"] = files,
            ["write"] = write,
            ["environment"] = environment,
        };
    }

    public string Throw(string input) => throw new InvalidOperationException("boom: " + input);

    public async Task<int> ThrowAsync(string input)
    {
        await Task.Yield();
        throw new ArgumentException("async boom");
    }

    public static string Static(string input) => "static " + input;
}

public class BadConstructor
{
    public BadConstructor() => throw new InvalidOperationException("constructor failed");

    public string Handle(string input) => input;
}

/// <summary>No serializer attribute on this method's class; the assembly's applies to every method.</summary>
public class Overloaded
{
    public string Handle(string input) => input;

    public string Handle(string input, ILambdaContext context) => input;
}

/// <summary>The runtime contract probe (RuntimeContractTests): {"action": "env" | "log" | "throw" | "exit" | "big"}.</summary>
public class Probe
{
    private static readonly string[] Names =
    [
        "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_VERSION", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
        "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_EXECUTION_ENV",
        "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR", "_HANDLER", "TZ", "AWS_LAMBDA_RUNTIME_API", "AWS_LAMBDA_INITIALIZATION_TYPE",
        "_X_AMZN_TRACE_ID", "LANG",
    ];

    public Probe()
    {
        if (Environment.GetEnvironmentVariable("PROBE_INIT_FAIL") == "1")
        {
            throw new InvalidOperationException("probe init failed");
        }
    }

    public async Task<Stream> Handle(Stream input, ILambdaContext context)
    {
        using var document = await JsonDocument.ParseAsync(input);
        var action = document.RootElement.TryGetProperty("action", out var value) ? value.GetString() : null;
        switch (action)
        {
            case "log":
                Console.WriteLine("probe stdout line");
                Console.Error.WriteLine("probe stderr line");
                return Text("\"logged\"");
            case "throw":
                throw new InvalidOperationException("probe boom");
            case "exit":
                Environment.Exit(3);
                return Text("null");
            case "big":
                return Text("\"" + new string('x', 7 * 1024 * 1024) + "\"");
        }

        var env = new Dictionary<string, string?>();
        foreach (var name in Names)
        {
            env[name] = Environment.GetEnvironmentVariable(name);
        }

        var remaining1 = (long)context.RemainingTime.TotalMilliseconds;
        await Task.Delay(50);
        var remaining2 = (long)context.RemainingTime.TotalMilliseconds;
        var result = new Dictionary<string, object?>
        {
            ["env"] = env,
            ["context"] = new Dictionary<string, object?>
            {
                ["awsRequestId"] = context.AwsRequestId,
                ["functionName"] = context.FunctionName,
                ["functionVersion"] = context.FunctionVersion,
                ["invokedFunctionArn"] = context.InvokedFunctionArn,
                ["memoryLimitInMB"] = context.MemoryLimitInMB.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["logGroupName"] = context.LogGroupName,
                ["logStreamName"] = context.LogStreamName,
                ["clientCustom"] = context.ClientContext?.Custom is { } custom && custom.TryGetValue("k", out var k) ? k : null,
                ["identityId"] = context.Identity?.IdentityId,
                ["identityPoolId"] = context.Identity?.IdentityPoolId,
            },
            ["remaining1"] = remaining1,
            ["remaining2"] = remaining2,
        };
        return Text(JsonSerializer.Serialize(result));
    }

    private static MemoryStream Text(string json) => new(Encoding.UTF8.GetBytes(json));
}
