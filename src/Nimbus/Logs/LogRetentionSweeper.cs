using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Nimbus.Storage;

namespace Nimbus.Logs;

/// <summary>
/// Enforces log groups' retention policies: every <see cref="NimbusOptions.LogRetentionSweepInterval"/> (on the
/// injected clock) it deletes the events older than their group's retention. AWS deletes expired events within
/// days; Nimbus within one interval.
/// </summary>
internal sealed partial class LogRetentionSweeper(LogStore store, IOptions<NimbusOptions> options, TimeProvider time, ILogger<LogRetentionSweeper> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.LogRetentionSweepInterval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                await SweepOnceAsync(stoppingToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down.
        }
    }

    /// <summary>One pass over every group with a retention policy.</summary>
    internal async Task SweepOnceAsync(CancellationToken cancellationToken)
    {
        try
        {
            var deleted = await store.SweepRetentionAsync(time.GetUtcNow(), cancellationToken).ConfigureAwait(false);
            if (deleted > 0)
            {
                Log.ExpiredEventsDeleted(logger, deleted);
            }
        }
        catch (SqliteException e)
        {
            Log.SweepFailed(logger, e);
        }
    }
}
