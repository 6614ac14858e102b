using Nimbus.Hosting;
using Nimbus.Security;

if (args.Length > 0 && NimbusAdminCommands.Handles(args[0]))
{
    return await NimbusAdminCommands.RunAsync(args);
}

if (args.Length > 0 && args[0] is not "serve" && !args[0].StartsWith('-'))
{
    Console.Error.WriteLine($"Unknown command '{args[0]}'. Usage: nimbus serve [--listen URL] [--data DIR] [--region R] [--account-id N]");
    return StartupFailure.ConfigurationExitCode;
}

WebApplication? app = null;
try
{
    // appsettings.json ships next to the server, whatever directory it is started from.
    var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
    builder.AddNimbus(args);
    app = builder.Build();
    app.MapNimbus();
    await app.StartAsync();
}
catch (Exception e)
{
    // A start that fails says what to do, without a stack trace (NIMBUS_DEBUG=1 adds it), and exits 1 or 2.
    return await StartupFailure.ReportAsync(e, app, Console.Error);
}

await app.WaitForShutdownAsync();
await app.DisposeAsync();
return 0;
