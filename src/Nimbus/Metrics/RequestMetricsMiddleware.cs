using System.Diagnostics;
using Microsoft.AspNetCore.Http;

namespace Nimbus.Metrics;

/// <summary>
/// First on the main port, before authentication: counts every request by API and final status (refused ones
/// included: a bad signature is a 403 of its API) and opens the request span every other span of the request
/// hangs from.
/// </summary>
internal sealed class RequestMetricsMiddleware(RequestDelegate next, RequestCounters counters)
{
    public async Task InvokeAsync(HttpContext context)
    {
        var request = context.Request;
        var api = RequestCounters.Classify(request);
        using var activity = NimbusTelemetry.Source.StartActivity(NimbusTelemetry.RequestSpan, ActivityKind.Server);
        activity?.SetTag("http.request.method", request.Method);
        activity?.SetTag("url.path", request.Path.Value);
        activity?.SetTag("nimbus.api", api);
        try
        {
            await next(context).ConfigureAwait(false);
        }
        finally
        {
            counters.Count(api, context.Response.StatusCode);
            activity?.SetTag("http.response.status_code", context.Response.StatusCode);
        }
    }
}
