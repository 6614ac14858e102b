using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Nimbus.Invocation;
using Nimbus.Storage;
using OpenTelemetry.Exporter;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Nimbus.Metrics;

/// <summary>Wires metrics, metering, the CloudWatch API and tracing into a node.</summary>
internal static class MetricsServiceCollectionExtensions
{
    public const string DatabaseFile = "metrics.db";

    /// <summary>How often a batch of finished spans is exported.</summary>
    public static readonly TimeSpan TraceExportInterval = TimeSpan.FromSeconds(1);

    public static IServiceCollection AddNimbusMetrics(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<MetricsOptions>()
            .Bind(configuration.GetSection(NimbusOptions.SectionName))
            .ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<MetricsOptions>, MetricsOptionsValidator>());
        services.TryAddSingleton<FunctionMetrics>();
        services.AddSingleton<IInvocationObserver>(sp => sp.GetRequiredService<FunctionMetrics>());
        services.AddSingleton<IAsyncEventObserver>(sp => sp.GetRequiredService<FunctionMetrics>());
        services.TryAddSingleton(sp => new MeteringStore(
            new SqliteDatabase(Path.Combine(sp.GetRequiredService<Hosting.DataDirectory>().Path, DatabaseFile), MeteringMigrations.All),
            sp.GetRequiredService<IOptions<MetricsOptions>>(),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILogger<MeteringStore>>()));
        services.AddSingleton<IInvocationObserver>(sp => sp.GetRequiredService<MeteringStore>());
        services.AddSingleton<IAsyncEventObserver>(sp => sp.GetRequiredService<MeteringStore>());
        services.AddHostedService(sp => sp.GetRequiredService<MeteringStore>());
        services.AddHostedService<ConcurrencySampler>();
        services.TryAddSingleton<RequestCounters>();
        services.TryAddSingleton<MetricsExposition>();
        services.TryAddSingleton<CloudWatchApi>();
        services.TryAddSingleton<UsageReport>();

        var endpoint = configuration.GetSection(NimbusOptions.SectionName).Get<MetricsOptions>()?.EffectiveOtlpEndpoint
            ?? new MetricsOptions().EffectiveOtlpEndpoint;
        if (endpoint is not null && Uri.TryCreate(endpoint, UriKind.Absolute, out var baseUri))
        {
            // OTLP/HTTP: the traces signal lives at /v1/traces under the base endpoint, as OTEL_EXPORTER_OTLP_ENDPOINT means it.
            var tracesUri = new Uri(baseUri.AbsoluteUri.TrimEnd('/') + "/v1/traces");
            services.AddOpenTelemetry()
                .ConfigureResource(resource => resource.AddService("nimbus"))
                .WithTracing(tracing => tracing
                    .AddSource(NimbusTelemetry.SourceName)

                    // ASP.NET Core's own request activity (not exported) is the parent of ours; a parent-based
                    // sampler would drop every Nimbus span because that parent is not recorded.
                    .SetSampler(new AlwaysOnSampler())
                    .AddOtlpExporter(otlp =>
                    {
                        otlp.Endpoint = tracesUri;
                        otlp.Protocol = OtlpExportProtocol.HttpProtobuf;
                        otlp.BatchExportProcessorOptions.ScheduledDelayMilliseconds = (int)TraceExportInterval.TotalMilliseconds;
                    }));
        }

        return services;
    }

    /// <summary>Request counts by API and status, and the request span: first on the main port, before authentication.</summary>
    public static IApplicationBuilder UseNimbusRequestMetrics(this IApplicationBuilder app) => app.UseMiddleware<RequestMetricsMiddleware>();

    /// <summary>The metrics endpoints: /metrics, /nimbus/usage and the CloudWatch API (after authentication).</summary>
    public static IApplicationBuilder UseNimbusMetrics(this IApplicationBuilder app) => app.UseMiddleware<MetricsMiddleware>();
}
