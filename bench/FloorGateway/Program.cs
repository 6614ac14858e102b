using System.Collections.Concurrent;
using System.Threading.Channels;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;

// Issue 3's floor for a warm invoke through a gateway: POST /invoke on the public port hands the body to one of
// --workers (default 1) long-lived runtime processes over the Lambda Runtime API (2018-06-01) on a second loopback port,
// and answers with what the runtime posts back. A request goes to any idle worker (each has its own parked GET /next);
// callers beyond the workers wait. The runtime is Nimbus's own node (runtimes/nodejs/bootstrap.js) or python
// (runtimes/python) client, started as plain child processes (RuntimeWorkers: no sandbox, no cgroup). Nothing else: no
// SigV4, no logs, no metering, no timeout. A stock Kestrel app: no runtime settings of its own (nimbusd's are not copied).
//
//   dotnet FloorGateway.dll --runtime node|python --repo /path/to/nimbus [--workers N] [--unix]
//       [--interpreter /path/to/python3.12] [--clients /path/to/lambda-runtimes]
//
// Like for like with Nimbus: --interpreter is the binary the runtime runs on (default: python3 or node on the runtime's
// PATH, /usr/local/bin:/usr/bin:/bin, which need not be the one Nimbus runs a function on), started with the arguments
// nimbusd starts it with (python -s; node --max-old-space-size for 128 MB); --clients is the directory of the runtime
// clients (default --repo's runtimes/; a build's own copy is artifacts/bin/Nimbus.Server/release/lambda-runtimes).
// --unix: the Runtime API is also served on a Unix domain socket, whose path the runtimes get in
// NIMBUS_RUNTIME_API_SOCKET (Nimbus's own clients use it instead of AWS_LAMBDA_RUNTIME_API, which stays set).
// Prints "FloorGateway listening on <url>" once every runtime has asked for its first event.
var runtime = Arg(args, "--runtime") ?? "node";
var repo = Arg(args, "--repo") ?? Directory.GetCurrentDirectory();
var workerCount = Workers(args);
var interpreter = Arg(args, "--interpreter");
var clients = Arg(args, "--clients") ?? Path.Combine(repo, "runtimes");
var socketDirectory = args.Contains("--unix") ? Directory.CreateTempSubdirectory("floor-gateway-socket-") : null;
var unixSocket = socketDirectory is null ? null : Path.Combine(socketDirectory.FullName, "runtime-api.sock");

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

// Each runtime serves one event at a time: an event goes straight to a parked /next; one more waits in the channel's slot
// and callers beyond that wait to write.
var events = Channel.CreateBounded<Pending>(new BoundedChannelOptions(1) { SingleReader = workerCount == 1, AllowSynchronousContinuations = true });
var inFlight = new ConcurrentDictionary<string, Pending>();
var allParked = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
var parked = 0;
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
app.MapGet("/2018-06-01/runtime/invocation/next", async (HttpContext context) =>
{
    var response = context.Response;
    if (Interlocked.Increment(ref parked) >= workerCount)
    {
        allParked.TrySetResult();
    }
    // No cancellation token: at shutdown the channel is completed instead, which ends the parked reads.
    Pending pending;
    try
    {
        pending = await events.Reader.ReadAsync().ConfigureAwait(false);
    }
    catch (ChannelClosedException)
    {
        return;
    }
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

using var workers = RuntimeWorkers.Start(runtime, clients, interpreter, runtimeApi, workerCount, unixSocket);
// The parked GET /next would hold graceful shutdown for its whole timeout: the runtimes go first, then the parked reads end.
app.Lifetime.ApplicationStopping.Register(() =>
{
    workers.Kill();
    events.Writer.TryComplete();
});
await allParked.Task.WaitAsync(TimeSpan.FromSeconds(30)).ConfigureAwait(false);
Console.WriteLine($"FloorGateway listening on {addresses[0]} ({workerCount} runtime process{(workerCount == 1 ? "" : "es")}, pid {string.Join(", ", workers.Ids)}, command: {workers.Command})");
await app.WaitForShutdownAsync().ConfigureAwait(false);
socketDirectory?.Delete(recursive: true);

static string? Arg(string[] args, string name)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
}

static int Workers(string[] args)
{
    var text = Arg(args, "--workers") ?? "1";
    return int.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var count) && count is >= 1 and <= 256
        ? count
        : throw new ArgumentException($"--workers must be a whole number from 1 to 256, not '{text}'.");
}

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
