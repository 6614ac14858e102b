using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Microsoft.AspNetCore.Http;
using Nimbus.Functions;

namespace Nimbus.Http;

/// <summary>Writes Lambda API (rest-json) responses and errors in AWS's exact shape.</summary>
internal static class LambdaHttp
{
    public const string ErrorTypeHeader = "x-amzn-ErrorType";
    public const string JsonContentType = "application/json";

    public static async Task WriteJsonAsync<T>(HttpContext context, int statusCode, T value, JsonTypeInfo<T> typeInfo)
    {
        AwsRequestId.Get(context);
        context.Response.StatusCode = statusCode;
        context.Response.ContentType = JsonContentType;
        await JsonSerializer.SerializeAsync(context.Response.Body, value, typeInfo, context.RequestAborted).ConfigureAwait(false);
    }

    public static Task WriteErrorAsync(HttpContext context, LambdaError error)
    {
        context.Response.Headers[ErrorTypeHeader] = error.Type;
        if (error.StatusCode == 429)
        {
            context.Response.Headers.RetryAfter = "1";
        }

        return WriteJsonAsync(context, error.StatusCode, ErrorBody(error), LambdaJson.Context.ErrorResponse);
    }

    /// <summary>The JSON body of an error: <c>Type</c>, <c>Message</c> or <c>message</c> as AWS spells it per type, and <c>Reason</c> on throttles.</summary>
    public static ErrorResponse ErrorBody(LambdaError error) => new()
    {
        Type = error.StatusCode >= 500 ? "Service" : "User",
        CapitalMessage = error.CapitalMessageKey ? error.Message : null,
        Message = error.CapitalMessageKey ? null : error.Message,
        Reason = error.Reason,
    };

    public static Task WriteNoContentAsync(HttpContext context, int statusCode = 204)
    {
        AwsRequestId.Get(context);
        context.Response.StatusCode = statusCode;
        return Task.CompletedTask;
    }

    /// <summary>Reads and parses a JSON body; on failure writes the AWS error and returns null.</summary>
    public static Task<T?> ReadJsonAsync<T>(HttpContext context, JsonTypeInfo<T> typeInfo, long limit, string operation)
        where T : class =>
        ReadJsonAsync(context, typeInfo, limit, operation, whenEmpty: null);

    /// <summary>As <see cref="ReadJsonAsync{T}(HttpContext, JsonTypeInfo{T}, long, string)"/>, but an empty body (every member optional) is <paramref name="whenEmpty"/>.</summary>
    public static async Task<T?> ReadJsonAsync<T>(HttpContext context, JsonTypeInfo<T> typeInfo, long limit, string operation, T? whenEmpty)
        where T : class
    {
        var body = await RequestBody.ReadAsync(context, limit).ConfigureAwait(false);
        if (body is null)
        {
            await WriteErrorAsync(context, LambdaError.RequestBodyTooLarge(operation, limit)).ConfigureAwait(false);
            return null;
        }

        if (body.Length > 0 && JsonText.Problem(body) is { } problem)
        {
            await WriteErrorAsync(context, LambdaError.BadRequestContent(problem)).ConfigureAwait(false);
            return null;
        }

        try
        {
            var value = body.Length == 0 ? whenEmpty : JsonSerializer.Deserialize(body, typeInfo);
            if (value is null)
            {
                await WriteErrorAsync(context, LambdaError.BadRequestContent("the request body is empty; send a JSON object.")).ConfigureAwait(false);
            }

            return value;
        }
        catch (JsonException e)
        {
            await WriteErrorAsync(context, LambdaError.BadRequestContent(e.Message)).ConfigureAwait(false);
            return null;
        }
    }

    /// <summary>The function named in the route with the <c>Qualifier</c> query parameter; null once an error is written.</summary>
    public static async ValueTask<FunctionReference?> ParseReferenceAsync(HttpContext context, string functionName, FunctionService service)
    {
        // Request.Query builds a query feature even for an empty query string: not on every invoke.
        var request = context.Request;
        var parsed = service.ParseReference(functionName, request.QueryString.HasValue ? request.Query["Qualifier"].ToString() : "");
        if (parsed.IsError)
        {
            await WriteErrorAsync(context, parsed.Error!).ConfigureAwait(false);
            return null;
        }

        return parsed.Value;
    }
}
