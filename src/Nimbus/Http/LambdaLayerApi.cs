using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Nimbus.Functions;
using Nimbus.Security;

namespace Nimbus.Http;

/// <summary>
/// The Lambda layers API (2018-10-31): routes and the mapping to <see cref="LayerService"/>. GetLayerVersionByArn
/// shares ListLayers' path (<c>GET /2018-10-31/layers?find=LayerVersion&amp;Arn=...</c>).
/// </summary>
internal static class LambdaLayerApi
{
    public const string LayersRoute = "/2018-10-31/layers";

    public static IEndpointRouteBuilder MapLambdaLayerApi(this IEndpointRouteBuilder endpoints)
    {
        var layers = endpoints.MapGroup(LayersRoute);
        layers.MapGet("", ListLayersAsync);
        layers.MapPost("/{layerName}/versions", PublishLayerVersionAsync);
        layers.MapGet("/{layerName}/versions", ListLayerVersionsAsync);
        layers.MapGet("/{layerName}/versions/{versionNumber}", GetLayerVersionAsync);
        layers.MapDelete("/{layerName}/versions/{versionNumber}", DeleteLayerVersionAsync);
        return endpoints;
    }

    private static async Task PublishLayerVersionAsync(HttpContext context, string layerName, LayerService layers)
    {
        var request = await LambdaHttp.ReadJsonAsync(context, LambdaJson.Context.PublishLayerVersionRequest, LambdaLimits.MaxCreateRequestBytes, "PublishLayerVersion").ConfigureAwait(false);
        if (request is null)
        {
            return;
        }

        var result = await layers.PublishAsync(layerName, request, context.RequestAborted).ConfigureAwait(false);
        await WriteLayerVersionAsync(context, layers, result, 201).ConfigureAwait(false);
    }

    private static async Task GetLayerVersionAsync(HttpContext context, string layerName, string versionNumber, LayerService layers)
    {
        var result = await layers.GetAsync(layerName, versionNumber, context.RequestAborted).ConfigureAwait(false);
        await WriteLayerVersionAsync(context, layers, result, 200).ConfigureAwait(false);
    }

    private static async Task DeleteLayerVersionAsync(HttpContext context, string layerName, string versionNumber, LayerService layers)
    {
        var error = await layers.DeleteAsync(layerName, versionNumber, context.RequestAborted).ConfigureAwait(false);
        await (error is null ? LambdaHttp.WriteNoContentAsync(context) : LambdaHttp.WriteErrorAsync(context, error)).ConfigureAwait(false);
    }

    private static async Task ListLayerVersionsAsync(HttpContext context, string layerName, LayerService layers)
    {
        var (maxItems, valid) = await LambdaApi.ReadMaxItemsAsync(context).ConfigureAwait(false);
        if (!valid)
        {
            return;
        }

        var query = context.Request.Query;
        var result = await layers.ListVersionsAsync(layerName, query["CompatibleRuntime"].ToString(), query["CompatibleArchitecture"].ToString(),
            query["Marker"].ToString(), maxItems, context.RequestAborted).ConfigureAwait(false);
        if (result.IsError)
        {
            await LambdaHttp.WriteErrorAsync(context, result.Error!).ConfigureAwait(false);
            return;
        }

        var response = new ListLayerVersionsResponse
        {
            LayerVersions = [.. result.Value.Versions.Select(layers.ToListItem)],
            NextMarker = result.Value.NextMarker,
        };
        await LambdaHttp.WriteJsonAsync(context, 200, response, LambdaJson.Context.ListLayerVersionsResponse).ConfigureAwait(false);
    }

    private static async Task ListLayersAsync(HttpContext context, LayerService layers)
    {
        if (context.Request.Query["find"].ToString() == "LayerVersion")
        {
            var byArn = await layers.GetByArnAsync(context.Request.Query["Arn"].ToString(), context.RequestAborted).ConfigureAwait(false);
            await WriteLayerVersionAsync(context, layers, byArn, 200).ConfigureAwait(false);
            return;
        }

        var (maxItems, valid) = await LambdaApi.ReadMaxItemsAsync(context).ConfigureAwait(false);
        if (!valid)
        {
            return;
        }

        var query = context.Request.Query;
        var result = await layers.ListLayersAsync(query["CompatibleRuntime"].ToString(), query["CompatibleArchitecture"].ToString(),
            query["Marker"].ToString(), maxItems, context.RequestAborted).ConfigureAwait(false);
        if (result.IsError)
        {
            await LambdaHttp.WriteErrorAsync(context, result.Error!).ConfigureAwait(false);
            return;
        }

        var response = new ListLayersResponse
        {
            Layers =
            [
                .. result.Value.Latest.Select(v => new LayersListItem
                {
                    LayerName = v.LayerName,
                    LayerArn = layers.LayerArn(v.LayerName),
                    LatestMatchingVersion = layers.ToListItem(v),
                }),
            ],
            NextMarker = result.Value.NextMarker,
        };
        await LambdaHttp.WriteJsonAsync(context, 200, response, LambdaJson.Context.ListLayersResponse).ConfigureAwait(false);
    }

    /// <summary>Content.Location is presigned with the caller's credentials, as GetFunction's Code.Location is.</summary>
    private static Task WriteLayerVersionAsync(HttpContext context, LayerService layers, LambdaResult<LayerVersionRecord> result, int statusCode) =>
        result.IsError
            ? LambdaHttp.WriteErrorAsync(context, result.Error!)
            : LambdaHttp.WriteJsonAsync(context, statusCode,
                layers.ToResponse(result.Value!, context.RequestServices.GetRequiredService<CodeLocationSigner>().Presign(context, LayerService.CodePath(result.Value!))),
                LambdaJson.Context.LayerVersionResponse);
}
