using Nimbus.Hosting;
using Nimbus.Security;

if (args.Length > 0 && NimbusAdminCommands.Handles(args[0]))
{
    return await NimbusAdminCommands.RunAsync(args);
}

if (args.Length > 0 && args[0] is not "serve" && !args[0].StartsWith('-'))
{
    Console.Error.WriteLine($"Unknown command '{args[0]}'. Usage: nimbus serve [--listen URL] [--data DIR] [--region R] [--account-id N]");
    return 2;
}

// appsettings.json ships next to the server, whatever directory it is started from.
var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
builder.AddNimbus(args);
var app = builder.Build();
app.MapNimbus();
await app.RunAsync();
return 0;
