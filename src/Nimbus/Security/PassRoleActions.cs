using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace Nimbus.Security;

/// <summary>
/// <c>iam:PassRole</c>: a Lambda request that names an execution role (CreateFunction, UpdateFunctionConfiguration
/// with <c>Role</c>) hands that role to Lambda, so its caller must be allowed <c>iam:PassRole</c> on the role's ARN,
/// with <c>iam:PassedToService</c> = <c>lambda.amazonaws.com</c>.
/// </summary>
internal static class PassRoleActions
{
    public const string PassRole = "iam:PassRole";

    public const string LambdaService = "lambda.amazonaws.com";

    public const string CreateFunction = "lambda:CreateFunction";

    public const string UpdateFunctionConfiguration = "lambda:UpdateFunctionConfiguration";

    /// <summary>The body's <c>Role</c> (a buffered JSON body), or null when it names none or is not JSON (the handler refuses that).</summary>
    public static async Task<string?> RoleInBodyAsync(HttpContext context)
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
                && document.RootElement.TryGetProperty("Role", out var role) && role.ValueKind == JsonValueKind.String
                && role.GetString() is { Length: > 0 } arn
                ? arn
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
