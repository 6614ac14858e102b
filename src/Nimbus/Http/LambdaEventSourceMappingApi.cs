using System.Text.Encodings.Web;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Nimbus.Functions;

namespace Nimbus.Http;

/// <summary>
/// Event source mappings (API date 2015-03-31): Create 202, Get 200, List 200, Update 202, Delete 202, as AWS
/// answers them. The CLI sends the collection path with a trailing slash; routing matches either form.
/// </summary>
internal static class LambdaEventSourceMappingApi
{
    public const string MappingsRoute = "/2015-03-31/event-source-mappings";
    public const string MappingRoute = MappingsRoute + "/{uuid}";

    private const long MaxRequestBytes = 256 * 1024;

    private static readonly EventSourceMappingJsonContext Json = new(new JsonSerializerOptions(EventSourceMappingJsonContext.Default.Options)
    {
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    });

    public static IEndpointRouteBuilder MapLambdaEventSourceMappingApi(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapPost(MappingsRoute, CreateAsync);
        endpoints.MapGet(MappingsRoute, ListAsync);
        endpoints.MapGet(MappingRoute, GetAsync);
        endpoints.MapPut(MappingRoute, UpdateAsync);
        endpoints.MapDelete(MappingRoute, DeleteAsync);
        return endpoints;
    }

    private static async Task CreateAsync(HttpContext context, EventSourceMappingService service)
    {
        var request = await LambdaHttp.ReadJsonAsync(context, Json.CreateEventSourceMappingRequest, MaxRequestBytes, "CreateEventSourceMapping").ConfigureAwait(false);
        if (request is not null)
        {
            await WriteAsync(context, await service.CreateAsync(request, context.RequestAborted).ConfigureAwait(false), 202).ConfigureAwait(false);
        }
    }

    private static async Task GetAsync(HttpContext context, string uuid, EventSourceMappingService service) =>
        await WriteAsync(context, await service.GetAsync(uuid, context.RequestAborted).ConfigureAwait(false), 200).ConfigureAwait(false);

    private static async Task UpdateAsync(HttpContext context, string uuid, EventSourceMappingService service)
    {
        var request = await LambdaHttp.ReadJsonAsync(context, Json.UpdateEventSourceMappingRequest, MaxRequestBytes, "UpdateEventSourceMapping", new UpdateEventSourceMappingRequest()).ConfigureAwait(false);
        if (request is not null)
        {
            await WriteAsync(context, await service.UpdateAsync(uuid, request, context.RequestAborted).ConfigureAwait(false), 202).ConfigureAwait(false);
        }
    }

    private static async Task DeleteAsync(HttpContext context, string uuid, EventSourceMappingService service) =>
        await WriteAsync(context, await service.DeleteAsync(uuid, context.RequestAborted).ConfigureAwait(false), 202).ConfigureAwait(false);

    private static async Task ListAsync(HttpContext context, EventSourceMappingService service)
    {
        var (maxItems, maxItemsValid) = await LambdaApi.ReadMaxItemsAsync(context).ConfigureAwait(false);
        if (!maxItemsValid)
        {
            return;
        }

        var query = context.Request.Query;
        var result = await service.ListAsync(query["FunctionName"].ToString(), query["EventSourceArn"].ToString(), query["Marker"].ToString(), maxItems, context.RequestAborted).ConfigureAwait(false);
        await (result.IsError
            ? LambdaHttp.WriteErrorAsync(context, result.Error!)
            : LambdaHttp.WriteJsonAsync(context, 200, result.Value!, Json.ListEventSourceMappingsResponse)).ConfigureAwait(false);
    }

    private static Task WriteAsync(HttpContext context, LambdaResult<EventSourceMappingConfiguration> result, int statusCode) =>
        result.IsError
            ? LambdaHttp.WriteErrorAsync(context, result.Error!)
            : LambdaHttp.WriteJsonAsync(context, statusCode, result.Value!, Json.EventSourceMappingConfiguration);
}
