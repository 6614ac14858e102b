using System.Text.Encodings.Web;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Nimbus.Functions;

namespace Nimbus.Http;

/// <summary>
/// Function URL configuration (API date 2021-10-31): Create/Get/Update/Delete on <c>…/url</c> (q:<c>Qualifier</c>)
/// and ListFunctionUrlConfigs on <c>…/urls</c>. The URL reported carries the port the caller reached us on.
/// </summary>
internal static class FunctionUrlApi
{
    public const string UrlRoute = "/2021-10-31/functions/{functionName}/url";
    public const string UrlsRoute = "/2021-10-31/functions/{functionName}/urls";

    private const long MaxRequestBytes = 64 * 1024;

    /// <summary>As <see cref="LambdaJson"/>: no HTML escaping, as AWS.</summary>
    private static readonly FunctionUrlJsonContext Json = new(new JsonSerializerOptions(FunctionUrlJsonContext.Default.Options)
    {
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    });

    public static IEndpointRouteBuilder MapFunctionUrlApi(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapPost(UrlRoute, CreateAsync);
        endpoints.MapGet(UrlRoute, GetAsync);
        endpoints.MapPut(UrlRoute, UpdateAsync);
        endpoints.MapDelete(UrlRoute, DeleteAsync);
        endpoints.MapGet(UrlsRoute, ListAsync);
        return endpoints;
    }

    private static async Task CreateAsync(HttpContext context, string functionName, FunctionService functions, FunctionUrlService urls)
    {
        if (await LambdaHttp.ParseReferenceAsync(context, functionName, functions).ConfigureAwait(false) is not { } reference)
        {
            return;
        }

        var request = await LambdaHttp.ReadJsonAsync(context, Json.FunctionUrlConfigRequest, MaxRequestBytes, "CreateFunctionUrlConfig").ConfigureAwait(false);
        if (request is not null)
        {
            var result = await urls.CreateAsync(reference, request, context.RequestAborted).ConfigureAwait(false);
            await WriteAsync(context, urls, result, 201, includeLastModified: false).ConfigureAwait(false);
        }
    }

    private static async Task GetAsync(HttpContext context, string functionName, FunctionService functions, FunctionUrlService urls)
    {
        if (await LambdaHttp.ParseReferenceAsync(context, functionName, functions).ConfigureAwait(false) is { } reference)
        {
            var result = await urls.GetAsync(reference, context.RequestAborted).ConfigureAwait(false);
            await WriteAsync(context, urls, result, 200, includeLastModified: true).ConfigureAwait(false);
        }
    }

    private static async Task UpdateAsync(HttpContext context, string functionName, FunctionService functions, FunctionUrlService urls)
    {
        if (await LambdaHttp.ParseReferenceAsync(context, functionName, functions).ConfigureAwait(false) is not { } reference)
        {
            return;
        }

        var request = await LambdaHttp.ReadJsonAsync(context, Json.FunctionUrlConfigRequest, MaxRequestBytes, "UpdateFunctionUrlConfig", new FunctionUrlConfigRequest()).ConfigureAwait(false);
        if (request is not null)
        {
            var result = await urls.UpdateAsync(reference, request, context.RequestAborted).ConfigureAwait(false);
            await WriteAsync(context, urls, result, 200, includeLastModified: true).ConfigureAwait(false);
        }
    }

    private static async Task DeleteAsync(HttpContext context, string functionName, FunctionService functions, FunctionUrlService urls)
    {
        if (await LambdaHttp.ParseReferenceAsync(context, functionName, functions).ConfigureAwait(false) is { } reference)
        {
            var error = await urls.DeleteAsync(reference, context.RequestAborted).ConfigureAwait(false);
            await (error is null ? LambdaHttp.WriteNoContentAsync(context) : LambdaHttp.WriteErrorAsync(context, error)).ConfigureAwait(false);
        }
    }

    private static async Task ListAsync(HttpContext context, string functionName, FunctionService functions, FunctionUrlService urls)
    {
        if (await LambdaHttp.ParseReferenceAsync(context, functionName, functions).ConfigureAwait(false) is not { } reference)
        {
            return;
        }

        var (maxItems, valid) = await LambdaApi.ReadMaxItemsAsync(context).ConfigureAwait(false);
        if (!valid)
        {
            return;
        }

        var result = await urls.ListAsync(reference, context.Request.Query["Marker"].ToString(), maxItems, context.RequestAborted).ConfigureAwait(false);
        if (result.IsError)
        {
            await LambdaHttp.WriteErrorAsync(context, result.Error!).ConfigureAwait(false);
            return;
        }

        var port = context.Connection.LocalPort;
        var response = new ListFunctionUrlConfigsResponse
        {
            FunctionUrlConfigs = [.. result.Value.Items.Select(r => urls.ToConfig(r, port, includeLastModified: true))],
            NextMarker = result.Value.NextMarker,
        };
        await LambdaHttp.WriteJsonAsync(context, 200, response, Json.ListFunctionUrlConfigsResponse).ConfigureAwait(false);
    }

    private static Task WriteAsync(HttpContext context, FunctionUrlService urls, LambdaResult<FunctionUrlRecord> result, int statusCode, bool includeLastModified) =>
        result.IsError
            ? LambdaHttp.WriteErrorAsync(context, result.Error!)
            : LambdaHttp.WriteJsonAsync(context, statusCode, urls.ToConfig(result.Value!, context.Connection.LocalPort, includeLastModified), Json.FunctionUrlConfig);
}
