using System.Text.Encodings.Web;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Nimbus.Functions;

namespace Nimbus.Http;

/// <summary>
/// Event invoke configs (API date 2019-09-25): PUT replaces, POST merges, GET and DELETE on a qualifier, and
/// GET <c>/list</c> for all of a function's.
/// </summary>
internal static class LambdaEventInvokeConfigApi
{
    public const string EventInvokeConfigRoute = "/2019-09-25/functions/{functionName}/event-invoke-config";
    public const string ListRoute = EventInvokeConfigRoute + "/list";

    private const long MaxRequestBytes = 64 * 1024;

    private static readonly EventInvokeJsonContext Json = new(new JsonSerializerOptions(EventInvokeJsonContext.Default.Options)
    {
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    });

    public static IEndpointRouteBuilder MapLambdaEventInvokeConfigApi(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapPut(EventInvokeConfigRoute, (HttpContext context, string functionName, FunctionService functions, EventInvokeConfigService service) =>
            PutAsync(context, functionName, functions, service, merge: false));
        endpoints.MapPost(EventInvokeConfigRoute, (HttpContext context, string functionName, FunctionService functions, EventInvokeConfigService service) =>
            PutAsync(context, functionName, functions, service, merge: true));
        endpoints.MapGet(EventInvokeConfigRoute, GetAsync);
        endpoints.MapDelete(EventInvokeConfigRoute, DeleteAsync);
        endpoints.MapGet(ListRoute, ListAsync);
        return endpoints;
    }

    private static async Task PutAsync(HttpContext context, string functionName, FunctionService functions, EventInvokeConfigService service, bool merge)
    {
        if (await LambdaHttp.ParseReferenceAsync(context, functionName, functions).ConfigureAwait(false) is not { } reference)
        {
            return;
        }

        var operation = merge ? "UpdateFunctionEventInvokeConfig" : "PutFunctionEventInvokeConfig";
        var request = await LambdaHttp.ReadJsonAsync(context, Json.PutFunctionEventInvokeConfigRequest, MaxRequestBytes, operation, new PutFunctionEventInvokeConfigRequest()).ConfigureAwait(false);
        if (request is not null)
        {
            var result = await service.PutAsync(reference, request, merge, context.RequestAborted).ConfigureAwait(false);
            await WriteAsync(context, result).ConfigureAwait(false);
        }
    }

    private static async Task GetAsync(HttpContext context, string functionName, FunctionService functions, EventInvokeConfigService service)
    {
        if (await LambdaHttp.ParseReferenceAsync(context, functionName, functions).ConfigureAwait(false) is { } reference)
        {
            await WriteAsync(context, await service.GetAsync(reference, context.RequestAborted).ConfigureAwait(false)).ConfigureAwait(false);
        }
    }

    private static async Task DeleteAsync(HttpContext context, string functionName, FunctionService functions, EventInvokeConfigService service)
    {
        if (await LambdaHttp.ParseReferenceAsync(context, functionName, functions).ConfigureAwait(false) is not { } reference)
        {
            return;
        }

        var error = await service.DeleteAsync(reference, context.RequestAborted).ConfigureAwait(false);
        await (error is null ? LambdaHttp.WriteNoContentAsync(context) : LambdaHttp.WriteErrorAsync(context, error)).ConfigureAwait(false);
    }

    private static async Task ListAsync(HttpContext context, string functionName, FunctionService functions, EventInvokeConfigService service)
    {
        var reference = await LambdaHttp.ParseReferenceAsync(context, functionName, functions).ConfigureAwait(false);
        var (maxItems, maxItemsValid) = reference is null ? default : await LambdaApi.ReadMaxItemsAsync(context).ConfigureAwait(false);
        if (reference is null || !maxItemsValid)
        {
            return;
        }

        var result = await service.ListAsync(reference.Value, context.Request.Query["Marker"].ToString(), maxItems, context.RequestAborted).ConfigureAwait(false);
        await (result.IsError
            ? LambdaHttp.WriteErrorAsync(context, result.Error!)
            : LambdaHttp.WriteJsonAsync(context, 200, result.Value!, Json.ListFunctionEventInvokeConfigsResponse)).ConfigureAwait(false);
    }

    private static Task WriteAsync(HttpContext context, LambdaResult<FunctionEventInvokeConfig> result) =>
        result.IsError
            ? LambdaHttp.WriteErrorAsync(context, result.Error!)
            : LambdaHttp.WriteJsonAsync(context, 200, result.Value!, Json.FunctionEventInvokeConfig);
}
