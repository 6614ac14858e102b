using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;

// A bare Kestrel echo server: the cheapest HTTP round trip ASP.NET Core can give on this machine.
// Nimbus's warm invoke is reported as a ratio over this floor. Prints "FloorKestrel listening on <url>".
var builder = WebApplication.CreateSlimBuilder(args);
builder.WebHost.UseUrls("http://127.0.0.1:0");
builder.Logging.SetMinimumLevel(LogLevel.Warning);

var app = builder.Build();
app.MapPost("/", static async (HttpRequest request) =>
{
    using var body = new MemoryStream();
    await request.Body.CopyToAsync(body).ConfigureAwait(false);
    return Results.Bytes(body.ToArray(), "application/json");
});

await app.StartAsync().ConfigureAwait(false);
var address = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First();
Console.WriteLine($"FloorKestrel listening on {address}");
await app.WaitForShutdownAsync().ConfigureAwait(false);
