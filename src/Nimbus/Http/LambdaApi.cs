using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Nimbus.Functions;
using Nimbus.Invocation;
using Nimbus.Storage;

namespace Nimbus.Http;

/// <summary>The Lambda API (2015-03-31 and friends): routes, headers and the mapping to the control plane and invoker.</summary>
internal static class LambdaApi
{
    public const string FunctionsRoute = "/2015-03-31/functions";
    public const string AccountSettingsRoute = "/2016-08-19/account-settings";

    /// <summary>PutFunctionConcurrency and DeleteFunctionConcurrency; GetFunctionConcurrency has its own API date.</summary>
    public const string ConcurrencyRoute = "/2017-10-31/functions/{functionName}/concurrency";
    public const string GetConcurrencyRoute = "/2019-09-30/functions/{functionName}/concurrency";
    public const string CodeDownloadRoute = "/nimbus/code/{sha256}.zip";

    public const string InvocationTypeHeader = "X-Amz-Invocation-Type";
    public const string LogTypeHeader = "X-Amz-Log-Type";
    public const string ClientContextHeader = "X-Amz-Client-Context";
    public const string FunctionErrorHeader = "X-Amz-Function-Error";
    public const string LogResultHeader = "X-Amz-Log-Result";
    public const string ExecutedVersionHeader = "X-Amz-Executed-Version";

    /// <summary>Config updates are small; anything bigger is not a real request.</summary>
    private const long MaxConfigurationRequestBytes = 1024 * 1024;

    public static IEndpointRouteBuilder MapLambdaApi(this IEndpointRouteBuilder endpoints)
    {
        var functions = endpoints.MapGroup(FunctionsRoute);
        functions.MapPost("", CreateFunctionAsync);
        functions.MapGet("", ListFunctionsAsync);
        functions.MapGet("/{functionName}", GetFunctionAsync);
        functions.MapDelete("/{functionName}", DeleteFunctionAsync);
        functions.MapGet("/{functionName}/configuration", GetFunctionConfigurationAsync);
        functions.MapPut("/{functionName}/configuration", UpdateFunctionConfigurationAsync);
        functions.MapPut("/{functionName}/code", UpdateFunctionCodeAsync);
        // A plain RequestDelegate, not a minimal API handler: the hot path pays for no parameter binding and no DI scope
        // per request (its services are singletons of the root provider).
        var root = endpoints.ServiceProvider;
        functions.MapPost("/{functionName}/invocations", (RequestDelegate)(context => InvokeAsync(
            context, (string)context.Request.RouteValues["functionName"]!, root.GetRequiredService<FunctionService>(),
            root.GetRequiredService<Invoker>(), root.GetRequiredService<AsyncInvocationQueue>())));
        functions.MapPost("/{functionName}/versions", PublishVersionAsync);
        functions.MapGet("/{functionName}/versions", ListVersionsByFunctionAsync);
        functions.MapPost("/{functionName}/aliases", CreateAliasAsync);
        functions.MapGet("/{functionName}/aliases", ListAliasesAsync);
        functions.MapGet("/{functionName}/aliases/{aliasName}", GetAliasAsync);
        functions.MapPut("/{functionName}/aliases/{aliasName}", UpdateAliasAsync);
        functions.MapDelete("/{functionName}/aliases/{aliasName}", DeleteAliasAsync);
        endpoints.MapPut(ConcurrencyRoute, PutFunctionConcurrencyAsync);
        endpoints.MapDelete(ConcurrencyRoute, DeleteFunctionConcurrencyAsync);
        endpoints.MapGet(GetConcurrencyRoute, GetFunctionConcurrencyAsync);
        endpoints.MapGet(AccountSettingsRoute, GetAccountSettingsAsync);
        endpoints.MapGet(CodeDownloadRoute, DownloadCodeAsync);
        endpoints.MapLambdaLayerApi();
        endpoints.MapLambdaProvisionedConcurrencyApi();
        endpoints.MapLambdaEventInvokeConfigApi();
        endpoints.MapLambdaStreamingApi();
        return endpoints;
    }

    private static async Task CreateFunctionAsync(HttpContext context, FunctionService service)
    {
        var request = await LambdaHttp.ReadJsonAsync(context, LambdaJson.Context.CreateFunctionRequest, LambdaLimits.MaxCreateRequestBytes, "CreateFunction").ConfigureAwait(false);
        if (request is null)
        {
            return;
        }

        var result = await service.CreateAsync(request, context.RequestAborted).ConfigureAwait(false);
        await WriteConfigurationAsync(context, service, result, 201).ConfigureAwait(false);
    }

    private static async Task ListFunctionsAsync(HttpContext context, FunctionService service)
    {
        var (maxItems, maxItemsValid) = await ReadMaxItemsAsync(context).ConfigureAwait(false);
        if (!maxItemsValid)
        {
            return;
        }

        var functionVersion = context.Request.Query["FunctionVersion"].ToString();
        if (functionVersion is { Length: > 0 } and not "ALL")
        {
            await LambdaHttp.WriteErrorAsync(context, LambdaError.ValidationFailed(functionVersion, "functionVersion", "Member must satisfy enum value set: [ALL]")).ConfigureAwait(false);
            return;
        }

        var allVersions = functionVersion == "ALL";
        var result = await service.ListAsync(context.Request.Query["Marker"].ToString(), maxItems, allVersions, context.RequestAborted).ConfigureAwait(false);
        if (result.IsError)
        {
            await LambdaHttp.WriteErrorAsync(context, result.Error!).ConfigureAwait(false);
            return;
        }

        var (items, next) = result.Value;
        var response = new ListFunctionsResponse
        {
            Functions = [.. items.Select(f => service.ToConfiguration(f, includeStatus: false, qualifier: allVersions ? f.Version : null))],
            NextMarker = next,
        };
        await LambdaHttp.WriteJsonAsync(context, 200, response, LambdaJson.Context.ListFunctionsResponse).ConfigureAwait(false);
    }

    private static async Task GetFunctionAsync(HttpContext context, string functionName, FunctionService service, Security.CodeLocationSigner codeLocations)
    {
        var (reference, function) = await FindAsync(context, functionName, service).ConfigureAwait(false);
        if (function is null)
        {
            return;
        }

        var reserved = await service.GetReservedConcurrencyAsync(function.Name, context.RequestAborted).ConfigureAwait(false);
        var response = new GetFunctionResponse
        {
            Configuration = service.ToConfiguration(function, qualifier: reference.Qualifier),
            Code = new FunctionCodeLocation { Location = codeLocations.Presign(context, $"/nimbus/code/{function.CodeSha256Hex}.zip") },
            Tags = function.Tags,
            Concurrency = reserved is null ? null : new FunctionConcurrency { ReservedConcurrentExecutions = reserved },
        };
        await LambdaHttp.WriteJsonAsync(context, 200, response, LambdaJson.Context.GetFunctionResponse).ConfigureAwait(false);
    }

    private static async Task GetFunctionConfigurationAsync(HttpContext context, string functionName, FunctionService service)
    {
        var (reference, function) = await FindAsync(context, functionName, service).ConfigureAwait(false);
        if (function is not null)
        {
            await LambdaHttp.WriteJsonAsync(context, 200, service.ToConfiguration(function, qualifier: reference.Qualifier), LambdaJson.Context.FunctionConfiguration).ConfigureAwait(false);
        }
    }

    private static async Task UpdateFunctionConfigurationAsync(HttpContext context, string functionName, FunctionService service)
    {
        var reference = await LambdaHttp.ParseReferenceAsync(context, functionName, service).ConfigureAwait(false);
        if (reference is null)
        {
            return;
        }

        var request = await LambdaHttp.ReadJsonAsync(context, LambdaJson.Context.UpdateFunctionConfigurationRequest, MaxConfigurationRequestBytes, "UpdateFunctionConfiguration").ConfigureAwait(false);
        if (request is not null)
        {
            var result = await service.UpdateConfigurationAsync(reference.Value, request, context.RequestAborted).ConfigureAwait(false);
            await WriteConfigurationAsync(context, service, result, 200).ConfigureAwait(false);
        }
    }

    private static async Task UpdateFunctionCodeAsync(HttpContext context, string functionName, FunctionService service)
    {
        var reference = await LambdaHttp.ParseReferenceAsync(context, functionName, service).ConfigureAwait(false);
        if (reference is null)
        {
            return;
        }

        var request = await LambdaHttp.ReadJsonAsync(context, LambdaJson.Context.UpdateFunctionCodeRequest, LambdaLimits.MaxCreateRequestBytes, "UpdateFunctionCode").ConfigureAwait(false);
        if (request is not null)
        {
            var result = await service.UpdateCodeAsync(reference.Value, request, context.RequestAborted).ConfigureAwait(false);
            await WriteConfigurationAsync(context, service, result, 200).ConfigureAwait(false);
        }
    }

    private static async Task DeleteFunctionAsync(HttpContext context, string functionName, FunctionService service)
    {
        var reference = await LambdaHttp.ParseReferenceAsync(context, functionName, service).ConfigureAwait(false);
        if (reference is null)
        {
            return;
        }

        var error = await service.DeleteAsync(reference.Value, context.RequestAborted).ConfigureAwait(false);
        await (error is null ? LambdaHttp.WriteNoContentAsync(context) : LambdaHttp.WriteErrorAsync(context, error)).ConfigureAwait(false);
    }

    private static async Task InvokeAsync(HttpContext context, string functionName, FunctionService service, Invoker invoker, AsyncInvocationQueue events)
    {
        var reference = await LambdaHttp.ParseReferenceAsync(context, functionName, service).ConfigureAwait(false);
        if (reference is null)
        {
            return;
        }

        var headers = context.Request.Headers;
        var invocationType = headers[InvocationTypeHeader].ToString() is { Length: > 0 } type ? type : "RequestResponse";
        if (invocationType is not ("RequestResponse" or "Event" or "DryRun"))
        {
            await LambdaHttp.WriteErrorAsync(context, LambdaError.ValidationFailed(invocationType, "invocationType", "Member must satisfy enum value set: [Event, RequestResponse, DryRun]")).ConfigureAwait(false);
            return;
        }

        var logType = headers[LogTypeHeader].ToString() is { Length: > 0 } log ? log : "None";
        if (logType is not ("None" or "Tail"))
        {
            await LambdaHttp.WriteErrorAsync(context, LambdaError.ValidationFailed(logType, "logType", "Member must satisfy enum value set: [None, Tail]")).ConfigureAwait(false);
            return;
        }

        string? clientContext = null;
        if (headers[ClientContextHeader].ToString() is { Length: > 0 } encodedContext)
        {
            clientContext = DecodeClientContext(encodedContext);
            if (clientContext is null)
            {
                await LambdaHttp.WriteErrorAsync(context, LambdaError.InvalidParameter(
                    $"Client context must be a valid Base64-encoded JSON object of at most {LambdaLimits.MaxClientContextBytes} bytes.")).ConfigureAwait(false);
                return;
            }
        }

        var limit = invocationType == "Event" ? LambdaLimits.MaxAsyncPayloadBytes : LambdaLimits.MaxSyncPayloadBytes;
        // Signed Invokes were read whole by authentication: no task for the body then.
        var payload = RequestBody.TryTakeBuffered(context, limit, out var buffered) ? buffered : await RequestBody.ReadAsync(context, limit).ConfigureAwait(false);
        if (payload is null)
        {
            await LambdaHttp.WriteErrorAsync(context, invocationType == "Event"
                ? new LambdaError(LambdaError.RequestTooLarge, 413, $"Request must be smaller than {limit} bytes for the InvokeFunction operation")
                : LambdaError.InvokePayloadTooLarge()).ConfigureAwait(false);
            return;
        }

        if (payload.Length > 0 && JsonError(payload) is { } jsonError)
        {
            await LambdaHttp.WriteErrorAsync(context, LambdaError.BadRequestContent($"Could not parse payload into json: {jsonError}")).ConfigureAwait(false);
            return;
        }

        var request = new InvocationRequest(AwsRequestId.Get(context), reference.Value, payload, clientContext, logType == "Tail",
            headers[Metrics.LambdaTraceHeader.HttpHeader].ToString() is { Length: > 0 } trace ? trace : null)
        {
            CognitoIdentity = Security.SigV4Context.Of(context)?.Principal.Cognito?.ToRuntimeHeader(),
            CallerAborted = invocationType == "RequestResponse" ? context.RequestAborted : default,
            ReportAfterAnswer = invocationType == "RequestResponse",
        };
        if (invocationType != "RequestResponse")
        {
            var error = await invoker.CheckAsync(reference.Value, context.RequestAborted).ConfigureAwait(false);
            // Answered only once the event is durably stored.
            if (error is null && invocationType == "Event" && !await events.TryEnqueueAsync(request).ConfigureAwait(false))
            {
                error = LambdaError.AccountConcurrencyExceeded();
            }

            await (error is null
                ? LambdaHttp.WriteNoContentAsync(context, invocationType == "Event" ? 202 : 204)
                : LambdaHttp.WriteErrorAsync(context, error)).ConfigureAwait(false);
            return;
        }

        // Once started, the invocation runs to its end even if the caller hangs up, as on Lambda, and even through a
        // graceful shutdown: the function's timeout bounds it. Until then (waiting for admission or for its
        // instance's init) a caller that hangs up gives its place up (CallerAborted).
        var result = await invoker.InvokeAsync(request, CancellationToken.None).ConfigureAwait(false);
        if (result.Status == InvocationStatus.Rejected)
        {
            await LambdaHttp.WriteErrorAsync(context, result.Error!).ConfigureAwait(false);
            return;
        }

        try
        {
            await WriteInvokeResponseAsync(context, result).ConfigureAwait(false);
        }
        finally
        {
            // Metrics and metering after the answer went out (sent on this thread: InlineSends), whatever became of it.
            invoker.ReportAnswered(result);
        }
    }

    private static ValueTask WriteInvokeResponseAsync(HttpContext context, InvocationResult result)
    {
        AwsRequestId.Get(context);
        var response = context.Response;
        response.StatusCode = 200;
        response.ContentType = LambdaHttp.JsonContentType;
        response.Headers[ExecutedVersionHeader] = result.ExecutedVersion;
        if (result.Status == InvocationStatus.FunctionError)
        {
            response.Headers[FunctionErrorHeader] = "Unhandled";
        }

        if (result.LogTail is { } tail)
        {
            response.Headers[LogResultHeader] = Convert.ToBase64String(Encoding.UTF8.GetBytes(tail));
        }

        response.ContentLength = result.Payload.Length;
        return response.Body.WriteAsync(result.Payload, context.RequestAborted);
    }

    private static async Task PublishVersionAsync(HttpContext context, string functionName, FunctionService service)
    {
        var reference = await LambdaHttp.ParseReferenceAsync(context, functionName, service).ConfigureAwait(false);
        if (reference is null)
        {
            return;
        }

        var request = await LambdaHttp.ReadJsonAsync(context, LambdaJson.Context.PublishVersionRequest, MaxConfigurationRequestBytes, "PublishVersion", new PublishVersionRequest()).ConfigureAwait(false);
        if (request is not null)
        {
            var result = await service.PublishVersionAsync(reference.Value, request, context.RequestAborted).ConfigureAwait(false);
            await WriteConfigurationAsync(context, service, result, 201).ConfigureAwait(false);
        }
    }

    private static async Task ListVersionsByFunctionAsync(HttpContext context, string functionName, FunctionService service)
    {
        var reference = await LambdaHttp.ParseReferenceAsync(context, functionName, service).ConfigureAwait(false);
        var (maxItems, maxItemsValid) = reference is null ? default : await ReadMaxItemsAsync(context).ConfigureAwait(false);
        if (reference is null || !maxItemsValid)
        {
            return;
        }

        var result = await service.ListVersionsAsync(reference.Value, context.Request.Query["Marker"].ToString(), maxItems, context.RequestAborted).ConfigureAwait(false);
        if (result.IsError)
        {
            await LambdaHttp.WriteErrorAsync(context, result.Error!).ConfigureAwait(false);
            return;
        }

        var response = new ListVersionsByFunctionResponse
        {
            Versions = [.. result.Value.Versions.Select(v => service.ToConfiguration(v, includeStatus: false, qualifier: v.Version))],
            NextMarker = result.Value.NextMarker,
        };
        await LambdaHttp.WriteJsonAsync(context, 200, response, LambdaJson.Context.ListVersionsByFunctionResponse).ConfigureAwait(false);
    }

    private static async Task CreateAliasAsync(HttpContext context, string functionName, FunctionService service)
    {
        var reference = await LambdaHttp.ParseReferenceAsync(context, functionName, service).ConfigureAwait(false);
        if (reference is null)
        {
            return;
        }

        var request = await LambdaHttp.ReadJsonAsync(context, LambdaJson.Context.CreateAliasRequest, MaxConfigurationRequestBytes, "CreateAlias").ConfigureAwait(false);
        if (request is not null)
        {
            var result = await service.CreateAliasAsync(reference.Value, request, context.RequestAborted).ConfigureAwait(false);
            await WriteAliasAsync(context, service, result, 201).ConfigureAwait(false);
        }
    }

    private static async Task GetAliasAsync(HttpContext context, string functionName, string aliasName, FunctionService service)
    {
        var reference = await LambdaHttp.ParseReferenceAsync(context, functionName, service).ConfigureAwait(false);
        if (reference is not null)
        {
            var result = await service.GetAliasAsync(reference.Value, aliasName, context.RequestAborted).ConfigureAwait(false);
            await WriteAliasAsync(context, service, result, 200).ConfigureAwait(false);
        }
    }

    private static async Task UpdateAliasAsync(HttpContext context, string functionName, string aliasName, FunctionService service)
    {
        var reference = await LambdaHttp.ParseReferenceAsync(context, functionName, service).ConfigureAwait(false);
        if (reference is null)
        {
            return;
        }

        var request = await LambdaHttp.ReadJsonAsync(context, LambdaJson.Context.UpdateAliasRequest, MaxConfigurationRequestBytes, "UpdateAlias", new UpdateAliasRequest()).ConfigureAwait(false);
        if (request is not null)
        {
            var result = await service.UpdateAliasAsync(reference.Value, aliasName, request, context.RequestAborted).ConfigureAwait(false);
            await WriteAliasAsync(context, service, result, 200).ConfigureAwait(false);
        }
    }

    private static async Task DeleteAliasAsync(HttpContext context, string functionName, string aliasName, FunctionService service)
    {
        var reference = await LambdaHttp.ParseReferenceAsync(context, functionName, service).ConfigureAwait(false);
        if (reference is null)
        {
            return;
        }

        var error = await service.DeleteAliasAsync(reference.Value, aliasName, context.RequestAborted).ConfigureAwait(false);
        await (error is null ? LambdaHttp.WriteNoContentAsync(context) : LambdaHttp.WriteErrorAsync(context, error)).ConfigureAwait(false);
    }

    private static async Task ListAliasesAsync(HttpContext context, string functionName, FunctionService service)
    {
        var reference = await LambdaHttp.ParseReferenceAsync(context, functionName, service).ConfigureAwait(false);
        var (maxItems, maxItemsValid) = reference is null ? default : await ReadMaxItemsAsync(context).ConfigureAwait(false);
        if (reference is null || !maxItemsValid)
        {
            return;
        }

        var query = context.Request.Query;
        var result = await service.ListAliasesAsync(reference.Value, query["FunctionVersion"].ToString(), query["Marker"].ToString(), maxItems, context.RequestAborted).ConfigureAwait(false);
        if (result.IsError)
        {
            await LambdaHttp.WriteErrorAsync(context, result.Error!).ConfigureAwait(false);
            return;
        }

        var response = new ListAliasesResponse
        {
            Aliases = [.. result.Value.Aliases.Select(service.ToAliasConfiguration)],
            NextMarker = result.Value.NextMarker,
        };
        await LambdaHttp.WriteJsonAsync(context, 200, response, LambdaJson.Context.ListAliasesResponse).ConfigureAwait(false);
    }

    private static Task WriteAliasAsync(HttpContext context, FunctionService service, LambdaResult<AliasRecord> result, int statusCode) =>
        result.IsError
            ? LambdaHttp.WriteErrorAsync(context, result.Error!)
            : LambdaHttp.WriteJsonAsync(context, statusCode, service.ToAliasConfiguration(result.Value!), LambdaJson.Context.AliasConfiguration);

    private static async Task PutFunctionConcurrencyAsync(HttpContext context, string functionName, FunctionService service)
    {
        var reference = await LambdaHttp.ParseReferenceAsync(context, functionName, service).ConfigureAwait(false);
        if (reference is null)
        {
            return;
        }

        var request = await LambdaHttp.ReadJsonAsync(context, LambdaJson.Context.FunctionConcurrency, MaxConfigurationRequestBytes, "PutFunctionConcurrency").ConfigureAwait(false);
        if (request is not null)
        {
            var result = await service.PutConcurrencyAsync(reference.Value, request, context.RequestAborted).ConfigureAwait(false);
            await WriteConcurrencyAsync(context, result).ConfigureAwait(false);
        }
    }

    private static async Task GetFunctionConcurrencyAsync(HttpContext context, string functionName, FunctionService service)
    {
        var reference = await LambdaHttp.ParseReferenceAsync(context, functionName, service).ConfigureAwait(false);
        if (reference is not null)
        {
            var result = await service.GetConcurrencyAsync(reference.Value, context.RequestAborted).ConfigureAwait(false);
            await WriteConcurrencyAsync(context, result).ConfigureAwait(false);
        }
    }

    private static async Task DeleteFunctionConcurrencyAsync(HttpContext context, string functionName, FunctionService service)
    {
        var reference = await LambdaHttp.ParseReferenceAsync(context, functionName, service).ConfigureAwait(false);
        if (reference is null)
        {
            return;
        }

        var error = await service.DeleteConcurrencyAsync(reference.Value, context.RequestAborted).ConfigureAwait(false);
        await (error is null ? LambdaHttp.WriteNoContentAsync(context) : LambdaHttp.WriteErrorAsync(context, error)).ConfigureAwait(false);
    }

    private static Task WriteConcurrencyAsync(HttpContext context, LambdaResult<FunctionConcurrency> result) =>
        result.IsError
            ? LambdaHttp.WriteErrorAsync(context, result.Error!)
            : LambdaHttp.WriteJsonAsync(context, 200, result.Value!, LambdaJson.Context.FunctionConcurrency);

    private static async Task GetAccountSettingsAsync(HttpContext context, FunctionService service)
    {
        var (count, totalCodeSize) = await service.GetUsageAsync(context.RequestAborted).ConfigureAwait(false);
        var (concurrencyLimit, unreserved) = await service.GetAccountConcurrencyAsync(context.RequestAborted).ConfigureAwait(false);
        var response = new GetAccountSettingsResponse
        {
            AccountLimit = new AccountLimit
            {
                TotalCodeSize = LambdaLimits.AccountTotalCodeSize,
                CodeSizeUnzipped = LambdaLimits.MaxUnzippedBytes,
                CodeSizeZipped = LambdaLimits.MaxZipBytes,
                ConcurrentExecutions = concurrencyLimit,
                UnreservedConcurrentExecutions = unreserved,
            },
            AccountUsage = new AccountUsage { TotalCodeSize = totalCodeSize, FunctionCount = count },
        };
        await LambdaHttp.WriteJsonAsync(context, 200, response, LambdaJson.Context.GetAccountSettingsResponse).ConfigureAwait(false);
    }

    private static async Task DownloadCodeAsync(HttpContext context, string sha256, CodeStore code)
    {
        if (!code.Exists(sha256))
        {
            context.Response.StatusCode = 404;
            return;
        }

        context.Response.ContentType = "application/zip";
        await using var zip = code.OpenZip(sha256);
        context.Response.ContentLength = zip.Length;
        await zip.CopyToAsync(context.Response.Body, context.RequestAborted).ConfigureAwait(false);
    }

    private static async Task<(FunctionReference Reference, FunctionRecord? Function)> FindAsync(HttpContext context, string functionName, FunctionService service)
    {
        var reference = await LambdaHttp.ParseReferenceAsync(context, functionName, service).ConfigureAwait(false);
        if (reference is null)
        {
            return default;
        }

        var found = await service.GetAsync(reference.Value, context.RequestAborted).ConfigureAwait(false);
        if (found.IsError)
        {
            await LambdaHttp.WriteErrorAsync(context, found.Error!).ConfigureAwait(false);
            return default;
        }

        return (reference.Value, found.Value);
    }

    /// <summary>The optional <c>MaxItems</c> query parameter; on a bad value writes AWS's error and returns Valid = false.</summary>
    internal static async Task<(int? MaxItems, bool Valid)> ReadMaxItemsAsync(HttpContext context)
    {
        if (!context.Request.Query.TryGetValue("MaxItems", out var rawMax))
        {
            return (null, true);
        }

        if (!int.TryParse(rawMax, NumberStyles.None, CultureInfo.InvariantCulture, out var parsed))
        {
            await LambdaHttp.WriteErrorAsync(context, LambdaError.ValidationFailed(rawMax.ToString(), "maxItems", "Member must be an integer between 1 and 10000")).ConfigureAwait(false);
            return (null, false);
        }

        return (parsed, true);
    }

    private static Task WriteConfigurationAsync(HttpContext context, FunctionService service, LambdaResult<FunctionRecord> result, int statusCode) =>
        result.IsError
            ? LambdaHttp.WriteErrorAsync(context, result.Error!)
            : LambdaHttp.WriteJsonAsync(context, statusCode, service.ToConfiguration(result.Value!), LambdaJson.Context.FunctionConfiguration);

    internal static string? DecodeClientContext(string encoded)
    {
        try
        {
            var bytes = Convert.FromBase64String(encoded);
            if (bytes.Length > LambdaLimits.MaxClientContextBytes || JsonError(bytes) is not null)
            {
                return null;
            }

            return Encoding.UTF8.GetString(bytes);
        }
        catch (FormatException)
        {
            return null;
        }
    }

    /// <summary>Null when the bytes are one well-formed JSON value; otherwise why not.</summary>
    internal static string? JsonError(ReadOnlySpan<byte> payload) => JsonText.Problem(payload);
}
