using System.Collections.Concurrent;
using System.Diagnostics;
using System.Threading.Channels;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;

// Issue 3's floor for a warm invoke through a gateway: POST /invoke on the public port hands the body to ONE long-lived
// runtime process over the Lambda Runtime API (2018-06-01) on a second loopback port, and answers with what the runtime
// posts back. The runtime is Nimbus's own node (runtimes/nodejs/bootstrap.js) or python (runtimes/python) client,
// started as a plain child process (no sandbox, no cgroup). Nothing else: no SigV4, no logs, no metering, no timeout.
//
//   dotnet FloorGateway.dll --runtime node|python --repo /path/to/nimbus [--unix]
//
// --unix: the Runtime API is also served on a Unix domain socket, whose path the runtime gets in
// NIMBUS_RUNTIME_API_SOCKET (Nimbus's own clients use it instead of AWS_LAMBDA_RUNTIME_API, which stays set).
// Prints "FloorGateway listening on <url>" once the runtime has asked for its first event.
var runtime = Arg(args, "--runtime") ?? "node";
var repo = Arg(args, "--repo") ?? Directory.GetCurrentDirectory();
var task = Directory.CreateTempSubdirectory("floor-gateway-");
var unixSocket = args.Contains("--unix") ? Path.Combine(task.FullName, "runtime-api.sock") : null;

var builder = WebApplication.CreateSlimBuilder(args);
builder.WebHost.ConfigureKestrel(kestrel =>
{
    // The callers' port, then the Runtime API's (and its Unix socket with --unix).
    kestrel.Listen(System.Net.IPAddress.Loopback, 0);
    kestrel.Listen(System.Net.IPAddress.Loopback, 0);
    if (unixSocket is not null)
    {
        kestrel.ListenUnixSocket(unixSocket);
    }
});

builder.Logging.SetMinimumLevel(LogLevel.Warning);
var app = builder.Build();

// One slot: the runtime serves one event at a time; callers beyond one wait here.
var events = Channel.CreateBounded<Pending>(new BoundedChannelOptions(1) { SingleReader = true, AllowSynchronousContinuations = true });
var inFlight = new ConcurrentDictionary<string, Pending>();
var firstNext = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
long sequence = 0;

app.MapPost("/invoke", async (HttpRequest request, HttpResponse response) =>
{
    var body = await ReadAllAsync(request).ConfigureAwait(false);
    var pending = new Pending(Interlocked.Increment(ref sequence).ToString("x16", System.Globalization.CultureInfo.InvariantCulture), body);
    inFlight[pending.Id] = pending;
    await events.Writer.WriteAsync(pending).ConfigureAwait(false);
    var answer = await pending.Answer.Task.ConfigureAwait(false);
    response.ContentType = "application/json";
    response.ContentLength = answer.Length;
    await response.Body.WriteAsync(answer).ConfigureAwait(false);
});
app.MapGet("/2018-06-01/runtime/invocation/next", async (HttpResponse response) =>
{
    firstNext.TrySetResult();
    // Ends with the runtime's connection: a parked /next would otherwise hold graceful shutdown for its whole timeout.
    var pending = await events.Reader.ReadAsync(response.HttpContext.RequestAborted).ConfigureAwait(false);
    response.Headers["Lambda-Runtime-Aws-Request-Id"] = pending.Id;
    response.Headers["Lambda-Runtime-Deadline-Ms"] = (DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() + 3000).ToString(System.Globalization.CultureInfo.InvariantCulture);
    response.Headers["Lambda-Runtime-Invoked-Function-Arn"] = "arn:aws:lambda:us-east-1:000000000000:function:floor";
    response.ContentType = "application/json";
    response.ContentLength = pending.Body.Length;
    await response.Body.WriteAsync(pending.Body).ConfigureAwait(false);
});
app.MapPost("/2018-06-01/runtime/invocation/{id}/response", async (string id, HttpRequest request) =>
{
    var body = await ReadAllAsync(request).ConfigureAwait(false);
    if (!inFlight.TryRemove(id, out var pending))
    {
        return Results.NotFound();
    }
    pending.Answer.TrySetResult(body);
    return Results.Accepted();
});

await app.StartAsync().ConfigureAwait(false);
var addresses = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.ToArray();
var runtimeApi = new Uri(addresses[1]).Authority;

var start = new ProcessStartInfo { UseShellExecute = false };
start.Environment.Clear();
start.Environment["PATH"] = "/usr/local/bin:/usr/bin:/bin";
start.Environment["LANG"] = "en_US.UTF-8";
start.Environment["TZ"] = ":UTC";
start.Environment["AWS_LAMBDA_RUNTIME_API"] = runtimeApi;
if (unixSocket is not null)
{
    start.Environment["NIMBUS_RUNTIME_API_SOCKET"] = unixSocket;
}

start.Environment["LAMBDA_TASK_ROOT"] = task.FullName;
start.Environment["AWS_LAMBDA_FUNCTION_NAME"] = "floor";
start.Environment["AWS_LAMBDA_FUNCTION_VERSION"] = "$LATEST";
start.Environment["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] = "128";
if (runtime == "python")
{
    File.WriteAllText(Path.Combine(task.FullName, "lambda_function.py"), "def lambda_handler(event, context):\n    return {\"ok\": True, \"echo\": event}\n");
    start.Environment["_HANDLER"] = "lambda_function.lambda_handler";
    start.FileName = OnPath("python3", start.Environment["PATH"]!);
    start.ArgumentList.Add(Path.Combine(repo, "runtimes", "python", "bootstrap.py"));
}
else
{
    File.WriteAllText(Path.Combine(task.FullName, "index.js"), "exports.handler = async (event) => ({ ok: true, echo: event });\n");
    start.Environment["_HANDLER"] = "index.handler";
    start.FileName = OnPath("node", start.Environment["PATH"]!);
    start.ArgumentList.Add(Path.Combine(repo, "runtimes", "nodejs", "bootstrap.js"));
}
using var child = Process.Start(start) ?? throw new InvalidOperationException("the runtime did not start");
// The parked GET /next would hold graceful shutdown for its whole timeout: the runtime goes first.
app.Lifetime.ApplicationStopping.Register(() => child.Kill(entireProcessTree: true));
await firstNext.Task.WaitAsync(TimeSpan.FromSeconds(30)).ConfigureAwait(false);
Console.WriteLine($"FloorGateway listening on {addresses[0]} (runtime pid {child.Id})");
await app.WaitForShutdownAsync().ConfigureAwait(false);
task.Delete(recursive: true);

static string? Arg(string[] args, string name)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
}

// The interpreter on the runtime's own PATH, as a sandbox would find it (not a shim earlier on this process's PATH).
static string OnPath(string name, string path) =>
    path.Split(':').Select(directory => Path.Combine(directory, name)).FirstOrDefault(File.Exists) ?? name;

static async Task<byte[]> ReadAllAsync(HttpRequest request)
{
    using var buffer = new MemoryStream((int)(request.ContentLength ?? 256));
    await request.Body.CopyToAsync(buffer).ConfigureAwait(false);
    return buffer.ToArray();
}

internal sealed record Pending(string Id, byte[] Body)
{
    public TaskCompletionSource<byte[]> Answer { get; } = new();
}
