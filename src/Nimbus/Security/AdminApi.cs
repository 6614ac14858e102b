using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Nimbus.Security;

/// <summary>
/// The admin API: users, their access keys, and user and role policies. Root only (signed with the root key), JSON,
/// errors as <c>x-amzn-ErrorType</c> + <c>{"Type","Message"}</c> with IAM's error names. <c>./nimbus user|key|policy</c>
/// are its command-line front end.
/// </summary>
internal static class AdminApi
{
    public const string Prefix = "/nimbus/admin";
    private const long MaxPolicyBytes = PolicyDocument.MaxLength;

    public static IEndpointRouteBuilder MapSecurityAdminApi(this IEndpointRouteBuilder endpoints)
    {
        var admin = endpoints.MapGroup(Prefix);
        admin.MapGet("/users", (HttpContext context, IdentityStore store) =>
            Guard(context, () => WriteAsync(context, 200, new AdminUserList(store.ListUsers()), SecurityJsonContext.Default.AdminUserList)));
        admin.MapPost("/users/{name}", (HttpContext context, string name, IdentityStore store) =>
            Guard(context, async () => await ResultAsync(context, await store.CreateUserAsync(name, context.RequestAborted).ConfigureAwait(false), 201).ConfigureAwait(false)));
        admin.MapDelete("/users/{name}", (HttpContext context, string name, IdentityStore store) =>
            Guard(context, async () => await ResultAsync(context, await store.DeleteUserAsync(name, context.RequestAborted).ConfigureAwait(false), 204).ConfigureAwait(false)));
        admin.MapPost("/users/{name}/keys", (HttpContext context, string name, IdentityStore store) =>
            Guard(context, async () =>
            {
                var (result, key) = await store.CreateAccessKeyAsync(name, context.RequestAborted).ConfigureAwait(false);
                if (key is null)
                {
                    await ResultAsync(context, result, 201).ConfigureAwait(false);
                    return;
                }

                await WriteAsync(context, 201, key, SecurityJsonContext.Default.NewAccessKey).ConfigureAwait(false);
            }));
        admin.MapDelete("/keys/{accessKeyId}", (HttpContext context, string accessKeyId, IdentityStore store) =>
            Guard(context, async () => await ResultAsync(context, await store.DeleteAccessKeyAsync(accessKeyId, context.RequestAborted).ConfigureAwait(false), 204).ConfigureAwait(false)));
        foreach (var kind in new[] { IdentityStore.UserKind, IdentityStore.RoleKind })
        {
            var route = $"/{kind}s/{{name}}/policies/{{policyName}}";
            admin.MapPut(route, (HttpContext context, string name, string policyName, IdentityStore store) =>
                Guard(context, async () =>
                {
                    var body = await Http.RequestBody.ReadAsync(context, MaxPolicyBytes).ConfigureAwait(false);
                    var result = body is null
                        ? new IamResult("LimitExceeded", $"The policy document is larger than {MaxPolicyBytes} bytes.", 400)
                        : await store.PutPolicyAsync(kind, name, policyName, Encoding.UTF8.GetString(body), context.RequestAborted).ConfigureAwait(false);
                    await ResultAsync(context, result, 204).ConfigureAwait(false);
                }));
            admin.MapGet(route, (HttpContext context, string name, string policyName, IdentityStore store) =>
                Guard(context, async () =>
                {
                    if (store.GetPolicy(kind, name, policyName) is not { } json)
                    {
                        await ResultAsync(context, IamResult.NotFound($"The {kind} policy with name {policyName} cannot be found."), 200).ConfigureAwait(false);
                        return;
                    }

                    context.Response.ContentType = "application/json";
                    await context.Response.WriteAsync(json, context.RequestAborted).ConfigureAwait(false);
                }));
            admin.MapDelete(route, (HttpContext context, string name, string policyName, IdentityStore store) =>
                Guard(context, async () => await ResultAsync(context, await store.DeletePolicyAsync(kind, name, policyName, context.RequestAborted).ConfigureAwait(false), 204).ConfigureAwait(false)));
        }

        admin.MapPost("/roles/{name}/cognito-credentials", (HttpContext context, string name, SessionCredentials sessions) =>
            Guard(context, () => CognitoCredentialsAsync(context, name, sessions)));
        return endpoints;
    }

    /// <summary>
    /// Temporary credentials of <paramref name="role"/> for a Cognito identity, in the shape of Cognito's
    /// GetCredentialsForIdentity answer: a caller signing with them is that identity, and Invoke passes it on to the
    /// function, as Lambda does for callers with Cognito credentials.
    /// </summary>
    private static async Task CognitoCredentialsAsync(HttpContext context, string role, SessionCredentials sessions)
    {
        var body = await Http.RequestBody.ReadAsync(context, 64 * 1024).ConfigureAwait(false);
        CognitoCredentialsRequest? request = null;
        try
        {
            request = body is { Length: > 0 } ? JsonSerializer.Deserialize(body, SecurityJsonContext.Default.CognitoCredentialsRequest) : null;
        }
        catch (JsonException)
        {
            request = null;
        }

        if (request is null || !CognitoIdentity.IsValidId(request.IdentityId) || !CognitoIdentity.IsValidId(request.IdentityPoolId)
            || request.DurationSeconds is < 900 or > 43_200)
        {
            await ResultAsync(context, new IamResult("InvalidParameterException",
                $"The body must be {{\"IdentityId\":\"<region>:<guid>\",\"IdentityPoolId\":\"<region>:<guid>\"}} (each at most {CognitoIdentity.MaxIdLength} characters), with an optional \"DurationSeconds\" from 900 to 43200.", 400), 200).ConfigureAwait(false);
            return;
        }

        var lifetime = TimeSpan.FromSeconds(request.DurationSeconds ?? 3600);
        var issued = sessions.Issue(role, "CognitoIdentityCredentials", lifetime, new CognitoIdentity(request.IdentityId!, request.IdentityPoolId!));
        await WriteAsync(context, 200, new CognitoCredentialsResponse(request.IdentityId!, new CognitoCredentials(
            issued.AccessKeyId, issued.SecretAccessKey, issued.SessionToken, issued.Expiration.ToUnixTimeSeconds())), SecurityJsonContext.Default.CognitoCredentialsResponse).ConfigureAwait(false);
    }

    private static Task Guard(HttpContext context, Func<Task> action) =>
        SigV4Context.Of(context)?.Principal.IsRoot == true
            ? action()
            : AwsAuthErrors.WriteAsync(context, AwsServices.Admin, new AuthFailure(AuthFailureKind.AccessDenied,
                $"User: {SigV4Context.Of(context)?.Principal.Arn ?? "anonymous"} is not authorized to use the Nimbus admin API: only the root key may."));

    private static async Task ResultAsync(HttpContext context, IamResult result, int successStatus)
    {
        Http.AwsRequestId.Get(context);
        if (result.Succeeded)
        {
            context.Response.StatusCode = successStatus;
            return;
        }

        context.Response.Headers[AwsAuthErrors.ErrorTypeHeader] = result.ErrorCode;
        await WriteAsync(context, result.Status, new AdminError("User", result.Message ?? result.ErrorCode!), SecurityJsonContext.Default.AdminError).ConfigureAwait(false);
    }

    private static async Task WriteAsync<T>(HttpContext context, int status, T value, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> type)
    {
        Http.AwsRequestId.Get(context);
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        await JsonSerializer.SerializeAsync(context.Response.Body, value, type, context.RequestAborted).ConfigureAwait(false);
    }
}
