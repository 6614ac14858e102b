using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Nimbus.Functions;
using Nimbus.Invocation;

namespace Nimbus.Http;

/// <summary>InvokeWithResponseStream (API 2021-11-15): the function's response as an event stream, chunk by chunk.</summary>
internal static class LambdaStreamingApi
{
    public const string InvokeRoute = "/2021-11-15/functions/{functionName}/response-streaming-invocations";

    public static IEndpointRouteBuilder MapLambdaStreamingApi(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapPost(InvokeRoute, InvokeWithResponseStreamAsync);
        return endpoints;
    }

    private static async Task InvokeWithResponseStreamAsync(HttpContext context, string functionName, FunctionService service, Invoker invoker)
    {
        var reference = await LambdaHttp.ParseReferenceAsync(context, functionName, service).ConfigureAwait(false);
        if (reference is null)
        {
            return;
        }

        var headers = context.Request.Headers;
        var invocationType = headers[LambdaApi.InvocationTypeHeader].ToString() is { Length: > 0 } type ? type : "RequestResponse";
        if (invocationType is not ("RequestResponse" or "DryRun"))
        {
            await LambdaHttp.WriteErrorAsync(context, LambdaError.ValidationFailed(invocationType, "invocationType", "Member must satisfy enum value set: [RequestResponse, DryRun]")).ConfigureAwait(false);
            return;
        }

        var logType = headers[LambdaApi.LogTypeHeader].ToString() is { Length: > 0 } log ? log : "None";
        if (logType is not ("None" or "Tail"))
        {
            await LambdaHttp.WriteErrorAsync(context, LambdaError.ValidationFailed(logType, "logType", "Member must satisfy enum value set: [None, Tail]")).ConfigureAwait(false);
            return;
        }

        string? clientContext = null;
        if (headers[LambdaApi.ClientContextHeader].ToString() is { Length: > 0 } encodedContext)
        {
            clientContext = LambdaApi.DecodeClientContext(encodedContext);
            if (clientContext is null)
            {
                await LambdaHttp.WriteErrorAsync(context, LambdaError.InvalidParameter(
                    $"Client context must be a valid Base64-encoded JSON object of at most {LambdaLimits.MaxClientContextBytes} bytes.")).ConfigureAwait(false);
                return;
            }
        }

        var payload = await RequestBody.ReadAsync(context, LambdaLimits.MaxSyncPayloadBytes).ConfigureAwait(false);
        if (payload is null)
        {
            await LambdaHttp.WriteErrorAsync(context, LambdaError.InvokePayloadTooLarge()).ConfigureAwait(false);
            return;
        }

        if (payload.Length > 0 && LambdaApi.JsonError(payload) is { } jsonError)
        {
            await LambdaHttp.WriteErrorAsync(context, LambdaError.BadRequestContent($"Could not parse payload into json: {jsonError}")).ConfigureAwait(false);
            return;
        }

        if (invocationType == "DryRun")
        {
            var error = await invoker.CheckAsync(reference.Value, context.RequestAborted).ConfigureAwait(false);
            await (error is null ? LambdaHttp.WriteNoContentAsync(context, 204) : LambdaHttp.WriteErrorAsync(context, error)).ConfigureAwait(false);
            return;
        }

        var sink = new EventStreamSink(context);
        var request = new InvocationRequest(AwsRequestId.Get(context), reference.Value, payload, clientContext, logType == "Tail",
            headers[Metrics.LambdaTraceHeader.HttpHeader].ToString() is { Length: > 0 } trace ? trace : null)
        {
            ResponseStream = sink,
            CognitoIdentity = Security.SigV4Context.Of(context)?.Principal.Cognito?.ToRuntimeHeader(),
            CallerAborted = context.RequestAborted,
        };

        // As Invoke: once started, the invocation runs to its end even if the caller hangs up.
        var result = await invoker.InvokeAsync(request, CancellationToken.None).ConfigureAwait(false);
        if (result.Status == InvocationStatus.Rejected)
        {
            await LambdaHttp.WriteErrorAsync(context, result.Error!).ConfigureAwait(false);
            return;
        }

        await sink.CompleteAsync(result).ConfigureAwait(false);
    }
}
