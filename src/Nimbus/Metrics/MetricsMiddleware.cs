using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Nimbus.Metrics;

/// <summary>
/// The metrics endpoints, right after authentication: GET /metrics (unauthenticated, like /health), GET
/// /nimbus/usage and the CloudWatch API itself. Requests are counted and spanned earlier, by
/// <see cref="RequestMetricsMiddleware"/>.
/// </summary>
internal sealed partial class MetricsMiddleware(
    RequestDelegate next,
    MetricsExposition exposition,
    CloudWatchApi cloudWatch,
    UsageReport usage,
    ILogger<MetricsMiddleware> logger)
{
    public const string MetricsPath = "/metrics";

    // Not async: every request to the main port passes here, and all but those for these endpoints pass straight on.
    public Task InvokeAsync(HttpContext context)
    {
        var request = context.Request;
        if (HttpMethods.IsGet(request.Method) && request.Path == MetricsPath)
        {
            context.Response.ContentType = PrometheusWriter.ContentType;
            return context.Response.WriteAsync(exposition.Render());
        }

        if (HttpMethods.IsGet(request.Method) && request.Path == UsageReport.Path)
        {
            return usage.HandleAsync(context);
        }

        return CloudWatchWire.Matches(request) ? HandleCloudWatchAsync(context) : next(context);
    }

    private async Task HandleCloudWatchAsync(HttpContext context)
    {
        try
        {
            await cloudWatch.HandleAsync(context).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException || !context.RequestAborted.IsCancellationRequested)
        {
            Log.CloudWatchFailed(logger, e);
            if (!context.Response.HasStarted)
            {
                context.Response.Clear();
                var query = !context.Request.Headers["X-Amz-Target"].ToString().StartsWith(CloudWatchWire.TargetPrefix, StringComparison.Ordinal);
                await CloudWatchWire.WriteErrorAsync(context, query, new CloudWatchWire.WireError("InternalServiceError",
                    "Nimbus failed to process the CloudWatch request; the server log has the details (event CloudWatchFailed).", 500)).ConfigureAwait(false);
            }
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 9110, EventName = "CloudWatchFailed", Level = LogLevel.Error,
            Message = "A CloudWatch API request failed unexpectedly.")]
        public static partial void CloudWatchFailed(ILogger logger, Exception exception);
    }
}
