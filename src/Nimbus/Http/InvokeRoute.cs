using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Nimbus.Http;

/// <summary>
/// Routes Invoke (<c>POST /2015-03-31/functions/{functionName}/invocations</c>, the hot path) to its endpoint without the
/// general matcher. It sets the very endpoint and route value the matcher would set, so <c>EndpointRoutingMiddleware</c>
/// skips matching (it does whenever an endpoint is already set) and authorization, metrics and the handler see the same
/// request. Only the exact form is taken: another method, another case, an empty or extra segment, a trailing slash go
/// through the matcher as before.
/// </summary>
internal static class InvokeRoute
{
    public const string Pattern = LambdaApi.FunctionsRoute + "/{functionName}/invocations";
    public const string FunctionNameKey = "functionName";

    private const string Prefix = LambdaApi.FunctionsRoute + "/";
    private const string Suffix = "/invocations";

    /// <summary>Adds the fast route ahead of <c>UseRouting</c>; the endpoint is looked up among <paramref name="endpoints"/>' at the first request.</summary>
    public static IApplicationBuilder UseInvokeRoute(this IApplicationBuilder app, IEndpointRouteBuilder endpoints)
    {
        Endpoint? invoke = null;
        var looked = false;
        return app.Use(next => context =>
        {
            if (!looked)
            {
                // Races only repeat the same look-up: the data sources are complete once the server serves requests.
                invoke = Find(endpoints);
                looked = true;
            }

            if (invoke is not null && HttpMethods.IsPost(context.Request.Method) && TryGetFunctionName(context.Request.Path.Value, out var name))
            {
                context.Request.RouteValues = new RouteValueDictionary { { FunctionNameKey, name } };
                context.SetEndpoint(invoke);
            }

            return next(context);
        });
    }

    /// <summary>The <c>{functionName}</c> segment of an Invoke path in its exact form; false for any other path.</summary>
    public static bool TryGetFunctionName(string? path, out string name)
    {
        name = "";
        if (path is null || path.Length <= Prefix.Length + Suffix.Length
            || !path.StartsWith(Prefix, StringComparison.Ordinal) || !path.EndsWith(Suffix, StringComparison.Ordinal))
        {
            return false;
        }

        var segment = path.AsSpan(Prefix.Length, path.Length - Prefix.Length - Suffix.Length);
        if (segment.Contains('/'))
        {
            return false;
        }

        name = segment.ToString();
        return true;
    }

    private static Endpoint? Find(IEndpointRouteBuilder endpoints)
    {
        foreach (var source in endpoints.DataSources)
        {
            foreach (var endpoint in source.Endpoints)
            {
                if (endpoint is RouteEndpoint { RoutePattern.RawText: Pattern } route
                    && route.Metadata.GetMetadata<IHttpMethodMetadata>() is { } methods && methods.HttpMethods.Contains(HttpMethods.Post))
                {
                    return endpoint;
                }
            }
        }

        return null;
    }
}
