using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Nimbus.Functions;
using Nimbus.Storage;

namespace Nimbus.Events;

/// <summary>Event source mappings: their store (metadata.db), control plane, pollers and the clean-up with their function.</summary>
internal static class EventSourceServiceCollectionExtensions
{
    public static IServiceCollection AddNimbusEventSources(this IServiceCollection services, Func<IServiceProvider, SqliteDatabase> metadataDatabase)
    {
        services.TryAddSingleton<IEventSourceQueues, QueueServiceEventSource>();
        services.TryAddSingleton<IEventSourceMappingStore>(sp => new SqliteEventSourceMappingStore(metadataDatabase(sp)));
        services.TryAddSingleton<EventSourceMappingChanges>();
        services.TryAddSingleton<IEventSourceMappingChanges>(sp => sp.GetRequiredService<EventSourceMappingChanges>());
        services.AddSingleton<IFunctionLifecycleObserver, EventSourceMappingCleanup>();
        services.TryAddSingleton<EventSourceMappingService>();
        services.TryAddSingleton<PollerPermissions>();
        services.TryAddSingleton<QueuePollers>();
        services.AddHostedService(sp => sp.GetRequiredService<QueuePollers>());
        services.AddSingleton<Metrics.IMetricsSource, EventSourceMappingMetrics>();
        return services;
    }
}
