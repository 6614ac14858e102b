using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Nimbus.Events;

/// <summary>
/// The scheduler loop: asks <see cref="ScheduleService"/> to fire what is due, then sleeps on the injected
/// <see cref="TimeProvider"/> until the next run is due or a schedule changes.
/// </summary>
internal sealed partial class ScheduleRunner(
    ScheduleService schedules,
    IHostApplicationLifetime lifetime,
    TimeProvider time,
    ILogger<ScheduleRunner> logger) : BackgroundService
{
    /// <summary>The longest sleep: a bound on how long a clock jump can go unnoticed.</summary>
    public static readonly TimeSpan MaxSleep = TimeSpan.FromMinutes(1);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // Runs start instances: not before the server (and its Runtime API ports) is up.
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using (lifetime.ApplicationStarted.Register(() => started.TrySetResult()))
        using (stoppingToken.Register(() => started.TrySetCanceled(stoppingToken)))
        {
            try
            {
                await started.Task.ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
        }

        while (!stoppingToken.IsCancellationRequested)
        {
            var now = time.GetUtcNow();
            DateTimeOffset? next;
            try
            {
                next = await schedules.RunDueAsync(now, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
#pragma warning disable CA1031 // The loop must survive a failed write; the run stays due and is fired on the next pass.
            catch (Exception e)
#pragma warning restore CA1031
            {
                Log.PassFailed(logger, e);
                next = now + ScheduleService.DispatchRetry;
            }

            var sleep = next is { } at ? at - time.GetUtcNow() : MaxSleep;
            sleep = sleep < TimeSpan.Zero ? TimeSpan.Zero : sleep > MaxSleep ? MaxSleep : sleep;
            using var wake = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
            var delay = Task.Delay(sleep, time, wake.Token);
            var changed = schedules.Changed.WaitAsync(wake.Token);
            await Task.WhenAny(delay, changed).ConfigureAwait(ConfigureAwaitOptions.None);
            await wake.CancelAsync().ConfigureAwait(false);
            await Task.WhenAll(delay, changed).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 7044, EventName = "SchedulePassFailed", Level = LogLevel.Error,
            Message = "The scheduler failed to fire due runs; it tries again in a second.")]
        public static partial void PassFailed(ILogger logger, Exception exception);
    }
}
