using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Nimbus.Hosting;
using Nimbus.Storage;

namespace Nimbus.Events;

/// <summary>Registers EventBridge Scheduler-compatible schedules: schedules.db, the service and its runner.</summary>
internal static class SchedulerServiceCollectionExtensions
{
    public static IServiceCollection AddNimbusSchedules(this IServiceCollection services)
    {
        services.TryAddSingleton(sp => new ScheduleStore(
            new SqliteDatabase(Path.Combine(sp.GetRequiredService<DataDirectory>().Path, "schedules.db"), ScheduleMigrations.All)));
        services.TryAddSingleton<IScheduleDispatcher, AsyncQueueDispatcher>();
        services.TryAddSingleton<ScheduleService>();
        services.AddHostedService<ScheduleRunner>();
        return services;
    }
}
