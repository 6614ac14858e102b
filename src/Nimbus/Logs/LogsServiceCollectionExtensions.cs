using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Nimbus.Logs;

/// <summary>Registers and routes the CloudWatch Logs-compatible API.</summary>
internal static class LogsServiceCollectionExtensions
{
    public static IServiceCollection AddNimbusLogs(this IServiceCollection services)
    {
        services.TryAddSingleton<LogsApi>();
        services.TryAddSingleton<LogRetentionSweeper>();
        services.AddHostedService(sp => sp.GetRequiredService<LogRetentionSweeper>());
        return services;
    }

    /// <summary>Sends every <c>X-Amz-Target: Logs_20140328.*</c> POST to the Logs API.</summary>
    public static IApplicationBuilder MapLogsApi(this IApplicationBuilder app)
    {
        var api = app.ApplicationServices.GetRequiredService<LogsApi>();
        return app.MapWhen(LogsApi.IsLogsRequest, logs => logs.Run(api.HandleAsync));
    }
}
