using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Nimbus.Storage;

namespace Nimbus.Queues;

/// <summary>Registers the SQS-compatible queue service and its store (queues.db in the data directory).</summary>
internal static class QueueServiceCollectionExtensions
{
    public static IServiceCollection AddNimbusQueues(this IServiceCollection services)
    {
        services.TryAddSingleton<IQueueStore>(sp => new SqliteQueueStore(
            new SqliteDatabase(Path.Combine(sp.GetRequiredService<Hosting.DataDirectory>().Path, "queues.db"), QueueMigrations.All),
            sp.GetRequiredService<ILogger<SqliteQueueStore>>()));
        services.TryAddSingleton<QueueService>();
        services.AddHostedService(sp => sp.GetRequiredService<QueueService>());
        return services;
    }
}
