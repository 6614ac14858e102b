using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Nimbus.Buckets;
using Nimbus.Events;
using Nimbus.Functions;
using Nimbus.Http;
using Nimbus.Invocation;
using Nimbus.Logs;
using Nimbus.Metrics;
using Nimbus.Queues;
using Nimbus.Sandboxes;
using Nimbus.Security;
using Nimbus.Storage;

namespace Nimbus.Hosting;

/// <summary>Wires a Nimbus node into an ASP.NET Core host.</summary>
public static class NimbusHostingExtensions
{
    /// <summary>The DI key of events.db, shared by the async event queue and the event invoke configs.</summary>
    private const string EventsDatabaseKey = "events.db";

    /// <summary>The DI key of metadata.db, shared by the metadata store and the event source mappings.</summary>
    internal const string MetadataDatabaseKey = "metadata.db";

    /// <summary>Adds configuration sources, services and Kestrel endpoints of a node.</summary>
    public static WebApplicationBuilder AddNimbus(this WebApplicationBuilder builder, string[] args)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Configuration.AddInMemoryCollection(NimbusSettings.FromEnvironment());
        builder.Configuration.AddCommandLine(args.Where(a => a != "serve").Select(a => a == "--dev" ? "--dev=true" : a).ToArray(), NimbusSettings.SwitchMappings());
        if (!StartupFailure.IsDebug(builder.Configuration))
        {
            // StartupFailure reports a failed start once, without a stack trace; the host's Error lines would repeat it
            // with one. A faulted background service is still logged, at Critical, by the host's StopHost line.
            builder.Logging.AddFilter(StartupFailure.HostLogCategory, LogLevel.Critical);
        }

        if ((builder.Configuration.GetSection(NimbusOptions.SectionName).Get<MetricsOptions>() ?? new MetricsOptions()).EffectiveOtlpEndpoint is null)
        {
            // While its logger is enabled at all, ASP.NET Core gives every request an Activity and a log scope (about
            // 1 KB allocated per Invoke) that nothing reads without tracing; a failed start is reported by StartupFailure.
            builder.Logging.AddFilter("Microsoft.AspNetCore.Hosting.Diagnostics", LogLevel.None);
        }

        builder.Services.AddNimbus(builder.Configuration);

        // Kestrel's own socket transport serves the AWS API listeners only: the Runtime API's go through RuntimeApiTransport.
        builder.Services.AddOptions<SocketTransportOptions>().Configure<IOptions<NimbusOptions>>((sockets, nimbus) =>
        {
            if (nimbus.Value.AwsApiInlineScheduling)
            {
                sockets.UnsafePreferInlineScheduling = true;
            }
        });
        builder.WebHost.ConfigureKestrel((context, kestrel) =>
        {
            // Validated (every invalid setting is reported at once) before a listen address is parsed.
            var options = kestrel.ApplicationServices.GetRequiredService<IOptions<NimbusOptions>>().Value;
            var endpoints = kestrel.ApplicationServices.GetRequiredService<NimbusEndpoints>();
            kestrel.Limits.MaxRequestBodySize = null;
            kestrel.AddServerHeader = false;
            var listen = new Uri(options.Listen);
            var address = listen.Host is "localhost" ? IPAddress.Loopback : IPAddress.Parse(listen.Host);
            kestrel.Listen(address, listen.Port, main =>
            {
                endpoints.SetMain(main);

                // Inline scheduling already sends on the writing thread.
                if (options.InlineSends && !options.AwsApiInlineScheduling)
                {
                    main.Use(options.InlineReceives ? InlineSends.MiddlewareWithInlineReceives : InlineSends.Middleware);
                }
                else if (options.AwsApiInlineScheduling)
                {
                    // Warm Invokes inline, everything else handed to the thread pool (InlineInvokes.DispatchAsync).
                    main.Use(InlineInvokes.Middleware(options.InlineReceives));
                }
            });
            kestrel.ApplicationServices.GetRequiredService<TlsListener>().Configure(kestrel, context.Configuration);
            var network = kestrel.ApplicationServices.GetRequiredService<SandboxNetworkSelector>();
            kestrel.ApplicationServices.GetRequiredService<RuntimePortPool>().Configure(
                kestrel, options.MaxInstances, network.Network, options.Slirp4netns,
                inlineSends: options.InlineSends && !options.RuntimeApiInlineScheduling, firstNetwork: network.TakeProbedNamespace(),
                inlineReceives: options.InlineReceives && (options.InlineSends || options.RuntimeApiInlineScheduling));
        });
        return builder;
    }

    /// <summary>Registers a node's services. Uses TryAdd so tests and hosts can override any of them.</summary>
    public static IServiceCollection AddNimbus(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<NimbusOptions>()
            .Bind(configuration.GetSection(NimbusOptions.SectionName))
            .ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<NimbusOptions>, NimbusOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);

        // Graceful shutdown lets invocations in flight run to their deadline (900 s at most), then stops instances.
        services.Configure<HostOptions>(host => host.ShutdownTimeout = TimeSpan.FromSeconds(Functions.LambdaLimits.MaxTimeout + 30));
        services.TryAddSingleton<NimbusEndpoints>();
        services.TryAddSingleton<DataDirectory>();
        services.TryAddKeyedSingleton(MetadataDatabaseKey, (sp, _) => new SqliteDatabase(
            Path.Combine(sp.GetRequiredService<DataDirectory>().Path, "metadata.db"), MetadataMigrations.All));
        services.TryAddSingleton<IMetadataStore>(sp => SqliteMetadataStore.Open(sp.GetRequiredKeyedService<SqliteDatabase>(MetadataDatabaseKey), sp.GetRequiredService<SecretBox>()));
        services.TryAddSingleton(sp => new CodeStore(sp.GetRequiredService<DataDirectory>().Path));
        services.TryAddSingleton(sp => new LogStore(
            new SqliteDatabase(Path.Combine(sp.GetRequiredService<DataDirectory>().Path, "logs.db"), LogMigrations.All),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILogger<LogStore>>(),
            discard: sp.GetRequiredService<IOptions<Metrics.MetricsOptions>>().Value.BenchDisableFunctionLogs));
        services.AddHostedService(sp => sp.GetRequiredService<LogStore>());
        services.TryAddKeyedSingleton(EventsDatabaseKey, (sp, _) => new SqliteDatabase(
            Path.Combine(sp.GetRequiredService<DataDirectory>().Path, "events.db"), EventMigrations.All));
        services.TryAddSingleton<IAsyncEventStore>(sp => new SqliteAsyncEventStore(
            sp.GetRequiredKeyedService<SqliteDatabase>(EventsDatabaseKey), sp.GetRequiredService<ILogger<SqliteAsyncEventStore>>()));
        services.TryAddSingleton<IEventInvokeConfigStore>(sp => new SqliteEventInvokeConfigStore(sp.GetRequiredKeyedService<SqliteDatabase>(EventsDatabaseKey)));
        services.AddSingleton<IFunctionLifecycleObserver, EventInvokeConfigCleanup>();
        services.TryAddSingleton<RuntimeCatalog>();
        services.TryAddSingleton<RuntimePortPool>();
        services.TryAddSingleton<SandboxNetworkSelector>();
        services.AddSingleton<Microsoft.AspNetCore.Connections.IConnectionListenerFactory, RuntimeApiTransport>();
        services.TryAddSingleton<ISandboxFactory>(sp => SandboxFactorySelector.Select(
            sp.GetRequiredService<IOptions<NimbusOptions>>().Value,
            sp.GetRequiredService<DataDirectory>(),
            sp.GetRequiredService<ILogger<SandboxManager>>()));
        services.TryAddSingleton<ISandboxCredentials, PlaceholderSandboxCredentials>();
        services.TryAddSingleton<SandboxManager>();
        services.AddSingleton<IFunctionLifecycleObserver>(sp => sp.GetRequiredService<SandboxManager>());
        services.TryAddSingleton<IProvisionedConcurrency>(sp => sp.GetRequiredService<SandboxManager>());
        services.AddHostedService(sp => sp.GetRequiredService<SandboxManager>());
        services.TryAddSingleton<IConcurrencyLimiter>(sp => new ConcurrencyLimiter(sp.GetRequiredService<IOptions<NimbusOptions>>().Value.AccountConcurrencyLimit()));
        services.TryAddSingleton<LayerService>();
        services.TryAddSingleton<FunctionService>();

        // Before the async queue starts: loads the stored reservations into the concurrency limiter.
        services.AddHostedService(sp => sp.GetRequiredService<FunctionService>());
        services.TryAddSingleton<EventInvokeConfigService>();
        services.AddNimbusAdmission();
        services.TryAddSingleton<Invoker>();
        services.TryAddSingleton<FunctionUrlCache>();
        services.AddSingleton<IFunctionLifecycleObserver>(sp => sp.GetRequiredService<FunctionUrlCache>());
        services.TryAddSingleton<FunctionUrlService>();
        services.TryAddSingleton<FunctionUrlFrontDoor>();
        services.TryAddSingleton<AsyncInvocationQueue>();
        services.AddHostedService(sp => sp.GetRequiredService<AsyncInvocationQueue>());
        services.AddNimbusBuckets();
        services.AddNimbusLogs();
        services.AddNimbusQueues();
        services.AddNimbusSchedules();
        services.AddNimbusEventSources(sp => sp.GetRequiredKeyedService<SqliteDatabase>(MetadataDatabaseKey));
        services.AddHostedService<ReadyBanner>();
        services.AddNimbusSecurity(configuration);
        services.AddNimbusMetrics(configuration);
        return services;
    }

    /// <summary>Routes requests: Runtime API ports to the Runtime API, function URLs to their functions, everything else to the AWS APIs.</summary>
    public static WebApplication MapNimbus(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        var ports = app.Services.GetRequiredService<RuntimePortPool>();
        var sandboxManager = app.Services.GetRequiredService<SandboxManager>();
        app.Lifetime.ApplicationStarted.Register(() =>
        {
            // Ports first: pre-started runtimes rent them.
            ports.OnServerStarted();
            sandboxManager.OnServerStarted();
        });
        app.MapWhen(context => ports.IsRuntimePort(context.Connection.LocalPort), runtime => runtime.Run(context => RuntimeApi.HandleAsync(context, ports)));

        // On an inline-served main port (AwsApiInlineScheduling) only small synchronous Invokes stay on the socket
        // engine's thread: every other request moves to the thread pool before anything of it runs.
        if (app.Services.GetRequiredService<IOptions<NimbusOptions>>().Value.AwsApiInlineScheduling)
        {
            app.Use(InlineInvokes.DispatchAsync);
        }

        // Request counts and the request span first on the main port, so refused requests are counted too.
        app.UseNimbusRequestMetrics();

        // Authentication before everything on the main port that is an AWS API (CloudWatch and /nimbus/usage are
        // served by the metrics middleware); it lets /health, /metrics and function URLs through.
        app.UseNimbusAuthentication();

        // The metrics endpoints: /metrics, /nimbus/usage and CloudWatch.
        app.UseNimbusMetrics();

        // Function URLs before the AWS APIs: their paths are the function's, not Lambda operations.
        var functionUrls = app.Services.GetRequiredService<FunctionUrlFrontDoor>();
        app.MapWhen(context => functionUrls.TryMatch(context, out _, out _), url => url.Run(functionUrls.HandleAsync));
        app.UseMiddleware<ServiceErrorMiddleware>();
        app.Use((context, next) =>
        {
            AwsRequestId.Get(context);
            return next(context);
        });
        app.MapLogsApi();
        app.MapQueueApi();
        app.MapSchedulerApi();

        // Invoke's endpoint set without the general matcher; UseRouting then skips matching for it.
        app.UseInvokeRoute(app);
        app.UseRouting();
        app.UseNimbusAuthorization();
        app.MapGet("/health", (IHostApplicationLifetime lifetime) =>
            lifetime.ApplicationStarted.IsCancellationRequested ? Results.Text("ok\n") : Results.StatusCode(503));
        app.MapLambdaApi();
        app.MapFunctionUrlApi();
        app.MapLambdaEventSourceMappingApi();
        app.MapBucketsApi();
        return app;
    }
}

/// <summary>The resolved, existing data directory of this node.</summary>
internal sealed class DataDirectory
{
    public DataDirectory(IOptions<NimbusOptions> options)
    {
        Path = System.IO.Path.GetFullPath(options.Value.DataDirectory);
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }
}

/// <summary>The main (AWS API) listener, whose real port is known once Kestrel has bound it.</summary>
internal sealed class NimbusEndpoints
{
    private ListenOptions? _main;

    public void SetMain(ListenOptions listen) => _main = listen;

    public string MainUrl => _main?.IPEndPoint is { } endpoint ? $"http://{endpoint}" : "(not bound)";
}
