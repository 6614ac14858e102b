using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Nimbus.Functions;

namespace Nimbus.Http;

/// <summary>Provisioned concurrency (API date 2019-09-30): Put/Get/Delete on a qualifier, and List with <c>List=ALL</c>.</summary>
internal static class LambdaProvisionedConcurrencyApi
{
    public const string ProvisionedConcurrencyRoute = "/2019-09-30/functions/{functionName}/provisioned-concurrency";

    /// <summary>The query parameter that turns a GET into ListProvisionedConcurrencyConfigs.</summary>
    private const string ListParameter = "List";

    private const long MaxRequestBytes = 64 * 1024;

    public static IEndpointRouteBuilder MapLambdaProvisionedConcurrencyApi(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapPut(ProvisionedConcurrencyRoute, PutAsync);
        endpoints.MapGet(ProvisionedConcurrencyRoute, GetAsync);
        endpoints.MapDelete(ProvisionedConcurrencyRoute, DeleteAsync);
        return endpoints;
    }

    private static async Task PutAsync(HttpContext context, string functionName, FunctionService service)
    {
        if (await LambdaHttp.ParseReferenceAsync(context, functionName, service).ConfigureAwait(false) is not { } reference)
        {
            return;
        }

        var request = await LambdaHttp.ReadJsonAsync(context, LambdaJson.Context.PutProvisionedConcurrencyConfigRequest, MaxRequestBytes, "PutProvisionedConcurrencyConfig").ConfigureAwait(false);
        if (request is not null)
        {
            var result = await service.PutProvisionedConcurrencyAsync(reference, request, context.RequestAborted).ConfigureAwait(false);
            await WriteAsync(context, result, 202).ConfigureAwait(false);
        }
    }

    private static async Task GetAsync(HttpContext context, string functionName, FunctionService service)
    {
        if (await LambdaHttp.ParseReferenceAsync(context, functionName, service).ConfigureAwait(false) is not { } reference)
        {
            return;
        }

        if (context.Request.Query.ContainsKey(ListParameter))
        {
            var list = await service.ListProvisionedConcurrencyAsync(reference, context.RequestAborted).ConfigureAwait(false);
            await (list.IsError
                ? LambdaHttp.WriteErrorAsync(context, list.Error!)
                : LambdaHttp.WriteJsonAsync(context, 200, list.Value!, LambdaJson.Context.ListProvisionedConcurrencyConfigsResponse)).ConfigureAwait(false);
            return;
        }

        var result = await service.GetProvisionedConcurrencyAsync(reference, context.RequestAborted).ConfigureAwait(false);
        await WriteAsync(context, result, 200).ConfigureAwait(false);
    }

    private static async Task DeleteAsync(HttpContext context, string functionName, FunctionService service)
    {
        if (await LambdaHttp.ParseReferenceAsync(context, functionName, service).ConfigureAwait(false) is not { } reference)
        {
            return;
        }

        var error = await service.DeleteProvisionedConcurrencyAsync(reference, context.RequestAborted).ConfigureAwait(false);
        await (error is null ? LambdaHttp.WriteNoContentAsync(context) : LambdaHttp.WriteErrorAsync(context, error)).ConfigureAwait(false);
    }

    private static Task WriteAsync(HttpContext context, LambdaResult<ProvisionedConcurrencyConfig> result, int statusCode) =>
        result.IsError
            ? LambdaHttp.WriteErrorAsync(context, result.Error!)
            : LambdaHttp.WriteJsonAsync(context, statusCode, result.Value!, LambdaJson.Context.ProvisionedConcurrencyConfig);
}
