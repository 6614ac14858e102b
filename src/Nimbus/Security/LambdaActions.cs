using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Nimbus.Functions;

namespace Nimbus.Security;

/// <summary>What one Lambda API call needs permission for: AWS's action name and the resource it acts on.</summary>
internal enum LambdaResourceKind
{
    /// <summary>The whole account (<c>*</c>): List* and account settings.</summary>
    Any,

    /// <summary>The function in the route (with its qualifier, when one is given).</summary>
    Function,

    /// <summary>The function named by the JSON body's FunctionName (CreateFunction).</summary>
    FunctionInBody,

    /// <summary>The layer in the route.</summary>
    Layer,
}

/// <summary>
/// The IAM action of every Lambda API route, keyed by HTTP method and route template, as AWS names them in its
/// service authorization reference (lambda:InvokeFunction, lambda:CreateFunction...). A route missing here is refused
/// for non-root callers, so a new Lambda route cannot be reachable without a permission by accident.
/// </summary>
internal static class LambdaActions
{
    private static readonly Dictionary<(string Method, string Route), (string Action, LambdaResourceKind Resource)> Table = new()
    {
        [("POST", "/2015-03-31/functions")] = ("lambda:CreateFunction", LambdaResourceKind.FunctionInBody),
        [("GET", "/2015-03-31/functions")] = ("lambda:ListFunctions", LambdaResourceKind.Any),
        [("GET", "/2015-03-31/functions/{functionName}")] = ("lambda:GetFunction", LambdaResourceKind.Function),
        [("DELETE", "/2015-03-31/functions/{functionName}")] = ("lambda:DeleteFunction", LambdaResourceKind.Function),
        [("GET", "/2015-03-31/functions/{functionName}/configuration")] = ("lambda:GetFunctionConfiguration", LambdaResourceKind.Function),
        [("PUT", "/2015-03-31/functions/{functionName}/configuration")] = ("lambda:UpdateFunctionConfiguration", LambdaResourceKind.Function),
        [("PUT", "/2015-03-31/functions/{functionName}/code")] = ("lambda:UpdateFunctionCode", LambdaResourceKind.Function),
        [("POST", "/2015-03-31/functions/{functionName}/invocations")] = ("lambda:InvokeFunction", LambdaResourceKind.Function),
        [("POST", "/2021-11-15/functions/{functionName}/response-streaming-invocations")] = ("lambda:InvokeFunction", LambdaResourceKind.Function),
        [("POST", "/2015-03-31/functions/{functionName}/versions")] = ("lambda:PublishVersion", LambdaResourceKind.Function),
        [("GET", "/2015-03-31/functions/{functionName}/versions")] = ("lambda:ListVersionsByFunction", LambdaResourceKind.Function),
        [("POST", "/2015-03-31/functions/{functionName}/aliases")] = ("lambda:CreateAlias", LambdaResourceKind.Function),
        [("GET", "/2015-03-31/functions/{functionName}/aliases")] = ("lambda:ListAliases", LambdaResourceKind.Function),
        [("GET", "/2015-03-31/functions/{functionName}/aliases/{aliasName}")] = ("lambda:GetAlias", LambdaResourceKind.Function),
        [("PUT", "/2015-03-31/functions/{functionName}/aliases/{aliasName}")] = ("lambda:UpdateAlias", LambdaResourceKind.Function),
        [("DELETE", "/2015-03-31/functions/{functionName}/aliases/{aliasName}")] = ("lambda:DeleteAlias", LambdaResourceKind.Function),
        [("POST", "/2015-03-31/functions/{functionName}/policy")] = ("lambda:AddPermission", LambdaResourceKind.Function),
        [("GET", "/2015-03-31/functions/{functionName}/policy")] = ("lambda:GetPolicy", LambdaResourceKind.Function),
        [("DELETE", "/2015-03-31/functions/{functionName}/policy/{statementId}")] = ("lambda:RemovePermission", LambdaResourceKind.Function),
        [("PUT", "/2017-10-31/functions/{functionName}/concurrency")] = ("lambda:PutFunctionConcurrency", LambdaResourceKind.Function),
        [("DELETE", "/2017-10-31/functions/{functionName}/concurrency")] = ("lambda:DeleteFunctionConcurrency", LambdaResourceKind.Function),
        [("GET", "/2019-09-30/functions/{functionName}/concurrency")] = ("lambda:GetFunctionConcurrency", LambdaResourceKind.Function),
        [("GET", "/2016-08-19/account-settings")] = ("lambda:GetAccountSettings", LambdaResourceKind.Any),
        [("GET", "/nimbus/code/{sha256}.zip")] = ("lambda:GetFunction", LambdaResourceKind.Any),
        [("GET", "/2018-10-31/layers")] = ("lambda:ListLayers", LambdaResourceKind.Any),
        [("POST", "/2018-10-31/layers/{layerName}/versions")] = ("lambda:PublishLayerVersion", LambdaResourceKind.Layer),
        [("GET", "/2018-10-31/layers/{layerName}/versions")] = ("lambda:ListLayerVersions", LambdaResourceKind.Layer),
        [("GET", "/2018-10-31/layers/{layerName}/versions/{versionNumber}")] = ("lambda:GetLayerVersion", LambdaResourceKind.Layer),
        [("DELETE", "/2018-10-31/layers/{layerName}/versions/{versionNumber}")] = ("lambda:DeleteLayerVersion", LambdaResourceKind.Layer),
        [("PUT", "/2019-09-30/functions/{functionName}/provisioned-concurrency")] = ("lambda:PutProvisionedConcurrencyConfig", LambdaResourceKind.Function),
        [("GET", "/2019-09-30/functions/{functionName}/provisioned-concurrency")] = ("lambda:GetProvisionedConcurrencyConfig", LambdaResourceKind.Function),
        [("DELETE", "/2019-09-30/functions/{functionName}/provisioned-concurrency")] = ("lambda:DeleteProvisionedConcurrencyConfig", LambdaResourceKind.Function),
        [("PUT", "/2019-09-25/functions/{functionName}/event-invoke-config")] = ("lambda:PutFunctionEventInvokeConfig", LambdaResourceKind.Function),
        [("POST", "/2019-09-25/functions/{functionName}/event-invoke-config")] = ("lambda:UpdateFunctionEventInvokeConfig", LambdaResourceKind.Function),
        [("GET", "/2019-09-25/functions/{functionName}/event-invoke-config")] = ("lambda:GetFunctionEventInvokeConfig", LambdaResourceKind.Function),
        [("DELETE", "/2019-09-25/functions/{functionName}/event-invoke-config")] = ("lambda:DeleteFunctionEventInvokeConfig", LambdaResourceKind.Function),
        [("GET", "/2019-09-25/functions/{functionName}/event-invoke-config/list")] = ("lambda:ListFunctionEventInvokeConfigs", LambdaResourceKind.Function),
        [("POST", "/2021-10-31/functions/{functionName}/url")] = ("lambda:CreateFunctionUrlConfig", LambdaResourceKind.Function),
        [("GET", "/2021-10-31/functions/{functionName}/url")] = ("lambda:GetFunctionUrlConfig", LambdaResourceKind.Function),
        [("PUT", "/2021-10-31/functions/{functionName}/url")] = ("lambda:UpdateFunctionUrlConfig", LambdaResourceKind.Function),
        [("DELETE", "/2021-10-31/functions/{functionName}/url")] = ("lambda:DeleteFunctionUrlConfig", LambdaResourceKind.Function),
        [("GET", "/2021-10-31/functions/{functionName}/urls")] = ("lambda:ListFunctionUrlConfigs", LambdaResourceKind.Function),
    };

    public static bool TryGet(string method, string route, out string action, out LambdaResourceKind resource)
    {
        // A group's root route ("" under /2015-03-31/functions) has a trailing slash in its template.
        var key = route.Length > 1 ? route.TrimEnd('/') : route;
        if (Table.TryGetValue((method, key), out var entry))
        {
            (action, resource) = entry;
            return true;
        }

        (action, resource) = (string.Empty, LambdaResourceKind.Any);
        return false;
    }

    /// <summary>The resource ARN of a call, or null when the function name does not parse (the handler then answers its own 400).</summary>
    public static async Task<string?> ResourceArnAsync(HttpContext context, LambdaResourceKind kind, string region, string accountId)
    {
        switch (kind)
        {
            case LambdaResourceKind.Any:
                return "*";
            case LambdaResourceKind.Layer:
                return $"arn:aws:lambda:{region}:{accountId}:layer:{context.GetRouteValue("layerName")}";
            case LambdaResourceKind.FunctionInBody:
                var name = await StringInBodyAsync(context, "FunctionName").ConfigureAwait(false);
                return name is null ? null : FunctionArn(name, qualifier: null, region, accountId);
            default:
                var raw = context.GetRouteValue("functionName") as string;
                var qualifier = context.GetRouteValue("aliasName") as string ?? context.Request.Query["Qualifier"].ToString();
                return raw is null ? null : FunctionArn(raw, qualifier, region, accountId);
        }
    }

    public static string? FunctionArn(string raw, string? qualifier, string region, string accountId)
    {
        var reference = FunctionReference.Parse(raw, qualifier, region, accountId);
        if (reference.IsError)
        {
            return null;
        }

        var value = reference.Value;
        var arn = $"arn:aws:lambda:{region}:{accountId}:function:{value.Name}";
        return value.Qualifier is { Length: > 0 } q ? arn + ":" + q : arn;
    }

    /// <summary>
    /// A top-level string property of a buffered JSON body (null when absent, not a string, or not JSON: the handler
    /// refuses that), read without keeping the document (the body can be a 50 MB zip); the body is rewound after.
    /// </summary>
    internal static async Task<string?> StringInBodyAsync(HttpContext context, string property)
    {
        var body = context.Request.Body;
        if (!body.CanSeek)
        {
            return null;
        }

        body.Position = 0;
        try
        {
            using var document = await JsonDocument.ParseAsync(body, cancellationToken: context.RequestAborted).ConfigureAwait(false);
            return document.RootElement.ValueKind == JsonValueKind.Object
                && document.RootElement.TryGetProperty(property, out var value) && value.ValueKind == JsonValueKind.String
                ? value.GetString()
                : null;
        }
        catch (JsonException)
        {
            return null;
        }
        finally
        {
            body.Position = 0;
        }
    }
}
