using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace Nimbus.Security;

/// <summary>
/// <c>iam:PassRole</c>: a request that names a role for a service to act as hands that role to the service, so its
/// caller must be allowed <c>iam:PassRole</c> on the role's ARN, with <c>iam:PassedToService</c> naming the service:
/// Lambda's CreateFunction and UpdateFunctionConfiguration with <c>Role</c> (<c>lambda.amazonaws.com</c>), EventBridge
/// Scheduler's CreateSchedule and UpdateSchedule with <c>Target.RoleArn</c> (<c>scheduler.amazonaws.com</c>).
/// </summary>
internal static class PassRoleActions
{
    public const string PassRole = "iam:PassRole";

    public const string LambdaService = "lambda.amazonaws.com";

    public const string SchedulerService = "scheduler.amazonaws.com";

    public const string CreateFunction = "lambda:CreateFunction";

    public const string UpdateFunctionConfiguration = "lambda:UpdateFunctionConfiguration";

    /// <summary>The condition context of passing a role to <paramref name="service"/>: the request's, with <c>iam:PassedToService</c>.</summary>
    public static AuthorizationContext ContextFor(AuthorizationContext request, string service) => new()
    {
        SourceIp = request.SourceIp,
        SecureTransport = request.SecureTransport,
        CurrentTime = request.CurrentTime,
        RequestedRegion = request.RequestedRegion,
        AccountId = request.AccountId,
        PassedToService = service,
    };

    /// <summary>A schedule body's <c>Target.RoleArn</c>, or null when it names none (the Scheduler's validation refuses that).</summary>
    public static string? ScheduleTargetRole(JsonElement body) =>
        body.ValueKind == JsonValueKind.Object && body.TryGetProperty("Target", out var target) && target.ValueKind == JsonValueKind.Object
        && target.TryGetProperty("RoleArn", out var role) && role.ValueKind == JsonValueKind.String && role.GetString() is { Length: > 0 } arn
            ? arn
            : null;

    /// <summary>The body's <c>Role</c> (a buffered JSON body), or null when it names none or is not JSON (the handler refuses that).</summary>
    public static async Task<string?> RoleInBodyAsync(HttpContext context) =>
        await LambdaActions.StringInBodyAsync(context, "Role").ConfigureAwait(false) is { Length: > 0 } arn ? arn : null;
}
