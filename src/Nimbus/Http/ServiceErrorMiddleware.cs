using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Nimbus.Functions;

namespace Nimbus.Http;

/// <summary>
/// The last line of defence: a bug becomes a 500 <c>ServiceException</c> in AWS's shape, logged with what to
/// report, instead of an empty response or a crash.
/// </summary>
internal sealed partial class ServiceErrorMiddleware(RequestDelegate next, ILogger<ServiceErrorMiddleware> logger)
{
    public async Task InvokeAsync(HttpContext context)
    {
        try
        {
            await next(context).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException || !context.RequestAborted.IsCancellationRequested)
        {
            if (context.Response.HasStarted)
            {
                // Status and length are on the wire: an error body would corrupt the answer; a failed transfer is honest.
                Log.ResponseAborted(logger, context.Request.Method, context.Request.Path, context.Response.StatusCode, e);
                context.Abort();
                return;
            }

            Log.UnhandledError(logger, context.Request.Method, context.Request.Path, e);
            context.Response.Clear();
            await LambdaHttp.WriteErrorAsync(context, new LambdaError(LambdaError.Service, 500,
                $"Nimbus failed to process {context.Request.Method} {context.Request.Path}; the server log has the details (event UnhandledError).", CapitalMessageKey: true)).ConfigureAwait(false);
        }
    }
}
