using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Nimbus.Functions;
using Nimbus.Http;

namespace Nimbus.Security;

/// <summary>AddPermission, GetPolicy and RemovePermission (Lambda API 2015-03-31), on a function or, with Qualifier, an alias or version.</summary>
internal static class FunctionPolicyApi
{
    public const string PolicyRoute = "/2015-03-31/functions/{functionName}/policy";
    public const string StatementRoute = PolicyRoute + "/{statementId}";
    private const long MaxRequestBytes = 64 * 1024;

    public static IEndpointRouteBuilder MapFunctionPolicyApi(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapPost(PolicyRoute, AddPermissionAsync);
        endpoints.MapGet(PolicyRoute, GetPolicyAsync);
        endpoints.MapDelete(StatementRoute, RemovePermissionAsync);
        return endpoints;
    }

    private static async Task AddPermissionAsync(HttpContext context, string functionName, FunctionService functions, FunctionPolicyService policies)
    {
        if (await LambdaHttp.ParseReferenceAsync(context, functionName, functions).ConfigureAwait(false) is not { } reference)
        {
            return;
        }

        var request = await LambdaHttp.ReadJsonAsync(context, SecurityJsonContext.Default.AddPermissionRequest, MaxRequestBytes, "AddPermission").ConfigureAwait(false);
        if (request is null)
        {
            return;
        }

        var result = await policies.AddPermissionAsync(reference, request, context.RequestAborted).ConfigureAwait(false);
        if (result.IsError)
        {
            await LambdaHttp.WriteErrorAsync(context, result.Error!).ConfigureAwait(false);
            return;
        }

        await LambdaHttp.WriteJsonAsync(context, 201, new AddPermissionResponse(result.Value!), SecurityJsonContext.Default.AddPermissionResponse).ConfigureAwait(false);
    }

    private static async Task GetPolicyAsync(HttpContext context, string functionName, FunctionService functions, FunctionPolicyService policies)
    {
        if (await LambdaHttp.ParseReferenceAsync(context, functionName, functions).ConfigureAwait(false) is not { } reference)
        {
            return;
        }

        var result = await policies.GetPolicyAsync(reference, context.RequestAborted).ConfigureAwait(false);
        if (result.IsError)
        {
            await LambdaHttp.WriteErrorAsync(context, result.Error!).ConfigureAwait(false);
            return;
        }

        await LambdaHttp.WriteJsonAsync(context, 200, new GetPolicyResponse(result.Value.Policy, result.Value.RevisionId), SecurityJsonContext.Default.GetPolicyResponse).ConfigureAwait(false);
    }

    private static async Task RemovePermissionAsync(HttpContext context, string functionName, string statementId, FunctionService functions, FunctionPolicyService policies)
    {
        if (await LambdaHttp.ParseReferenceAsync(context, functionName, functions).ConfigureAwait(false) is not { } reference)
        {
            return;
        }

        var revision = context.Request.Query["RevisionId"].ToString();
        var error = await policies.RemovePermissionAsync(reference, statementId, revision.Length > 0 ? revision : null, context.RequestAborted).ConfigureAwait(false);
        if (error is not null)
        {
            await LambdaHttp.WriteErrorAsync(context, error).ConfigureAwait(false);
            return;
        }

        await LambdaHttp.WriteNoContentAsync(context).ConfigureAwait(false);
    }
}

/// <summary>AddPermission's answer: the statement as a JSON string.</summary>
internal sealed record AddPermissionResponse(string Statement);

/// <summary>GetPolicy's answer: the policy document as a JSON string.</summary>
internal sealed record GetPolicyResponse(string Policy, string RevisionId);
