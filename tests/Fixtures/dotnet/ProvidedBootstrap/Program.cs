using System;
using System.Text.Json.Serialization;
using System.Threading.Tasks;
using Nimbus.Lambda.RuntimeSupport;

var initializedAt = DateTime.UtcNow;
using var bootstrap = LambdaBootstrapBuilder.Create<Request, Response>(async (request, context) =>
{
    await Task.Yield();
    if (request.Name == "fail")
    {
        throw new InvalidOperationException("provided bootstrap failed");
    }

    context.Logger.LogLine($"provided dotnet handling {request.Name}");
    Console.WriteLine("console line from the bootstrap");
    return new Response
    {
        Greeting = $"hello {request.Name}",
        RequestId = context.AwsRequestId,
        FunctionName = context.FunctionName,
        MemoryLimitInMB = context.MemoryLimitInMB,
        RemainingMs = (long)context.RemainingTime.TotalMilliseconds,
        ProcessPath = Environment.ProcessPath,
        TraceId = Environment.GetEnvironmentVariable("_X_AMZN_TRACE_ID"),
    };
}, AppJson.Default.Request, AppJson.Default.Response);
await bootstrap.RunAsync();

public sealed class Request
{
    public string? Name { get; set; }
}

public sealed class Response
{
    public string? Greeting { get; set; }
    public string? RequestId { get; set; }
    public string? FunctionName { get; set; }
    public int MemoryLimitInMB { get; set; }
    public long RemainingMs { get; set; }
    public string? ProcessPath { get; set; }
    public string? TraceId { get; set; }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(Request))]
[JsonSerializable(typeof(Response))]
internal sealed partial class AppJson : JsonSerializerContext;
