using System.Collections.Frozen;
using System.Globalization;
using System.Net;
using Microsoft.AspNetCore.Http;

namespace Nimbus.Security;

/// <summary>
/// What a request brings to policy conditions besides its principal: where it came from (aws:SourceIp), whether it
/// came over HTTPS (aws:SecureTransport), when (aws:CurrentTime, aws:EpochTime), for which region
/// (aws:RequestedRegion), and for a service acting on a resource's behalf its source (aws:SourceArn,
/// aws:SourceAccount), plus service-specific keys (iam:PassedToService, lambda:FunctionUrlAuthType). Built once per
/// check from fields the request already has, so it costs one small allocation. Keys of the principal
/// (aws:username, aws:PrincipalArn, aws:PrincipalAccount, aws:PrincipalType, aws:userid) come from the
/// <see cref="Principal"/>.
/// </summary>
internal sealed class AuthorizationContext
{
    /// <summary>The condition keys Nimbus can supply (case-insensitive, as IAM's keys); a condition on any other key fails closed.</summary>
    private static readonly FrozenSet<string> KnownKeys = new[]
    {
        "aws:SourceArn", "aws:SourceAccount", "aws:SourceIp", "aws:SecureTransport", "aws:CurrentTime", "aws:EpochTime",
        "aws:RequestedRegion", "aws:username", "aws:userid", "aws:PrincipalArn", "aws:PrincipalAccount", "aws:PrincipalType",
        "iam:PassedToService", "lambda:FunctionUrlAuthType",
    }.Concat(Buckets.S3ConditionKeys.Keys).ToFrozenSet(StringComparer.OrdinalIgnoreCase);

    public IPAddress? SourceIp { get; init; }

    public bool? SecureTransport { get; init; }

    public DateTimeOffset? CurrentTime { get; init; }

    public string? RequestedRegion { get; init; }

    public string? SourceArn { get; init; }

    public string? SourceAccount { get; init; }

    public string? PassedToService { get; init; }

    public string? FunctionUrlAuthType { get; init; }

    /// <summary>The account whose id aws:PrincipalAccount answers.</summary>
    public string? AccountId { get; init; }

    /// <summary>A service's own keys the request supplies (S3's <c>s3:prefix</c>, <c>s3:x-amz-acl</c>...), by key, case-insensitive.</summary>
    public IReadOnlyDictionary<string, string>? ServiceKeys { get; init; }

    /// <summary>The context of an HTTP request: its peer address, scheme, the time now and the region it was signed for.</summary>
    public static AuthorizationContext Of(HttpContext context, string? accountId = null) => new()
    {
        SourceIp = context.Connection.RemoteIpAddress is { IsIPv4MappedToIPv6: true } mapped ? mapped.MapToIPv4() : context.Connection.RemoteIpAddress,
        SecureTransport = context.Request.IsHttps,
        CurrentTime = DateTimeOffset.UtcNow,
        RequestedRegion = SigV4Context.Of(context)?.Signature?.Scope.Region,
        AccountId = accountId,
    };

    public static bool IsKnownKey(string key) => KnownKeys.Contains(key);

    /// <summary>The values of <paramref name="key"/> for this request, or null when it has none.</summary>
    public static IReadOnlyList<string>? ValuesOf(string key, Principal principal, AuthorizationContext? context)
    {
        var value = key.ToLowerInvariant() switch
        {
            "aws:sourcearn" => context?.SourceArn,
            "aws:sourceaccount" => context?.SourceAccount,
            "aws:sourceip" => context?.SourceIp?.ToString(),
            "aws:securetransport" => context?.SecureTransport is { } secure ? (secure ? "true" : "false") : null,
            "aws:currenttime" => context?.CurrentTime?.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture),
            "aws:epochtime" => context?.CurrentTime?.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture),
            "aws:requestedregion" => context?.RequestedRegion,
            "iam:passedtoservice" => context?.PassedToService,
            "lambda:functionurlauthtype" => context?.FunctionUrlAuthType,
            "aws:username" => principal.Kind == PrincipalKind.User ? principal.Name : null,
            "aws:userid" => principal.Kind == PrincipalKind.User ? principal.Name : principal.Kind == PrincipalKind.Role ? principal.Name + ":" + principal.AccessKeyId : null,
            "aws:principalarn" => PrincipalArnOf(principal),
            "aws:principalaccount" => AccountOf(principal.Arn) ?? context?.AccountId,
            "aws:principaltype" => principal.Kind switch
            {
                PrincipalKind.User => "User",
                PrincipalKind.Role => "AssumedRole",
                _ => "Account",
            },
            _ => context?.ServiceKeys is { } keys && keys.TryGetValue(key, out var supplied) ? supplied : null,
        };
        return value is null ? null : [value];
    }

    /// <summary>aws:PrincipalArn: a user's ARN; for a role session the role's ARN (<c>arn:aws:iam::acct:role/name</c>), as IAM gives it.</summary>
    public static string PrincipalArnOf(Principal principal)
    {
        if (principal.Kind == PrincipalKind.Role && principal.Arn.StartsWith("arn:aws:sts::", StringComparison.Ordinal) && AccountOf(principal.Arn) is { } account)
        {
            return $"arn:aws:iam::{account}:role/{principal.Name}";
        }

        return principal.Arn;
    }

    private static string? AccountOf(string arn)
    {
        var parts = arn.Split(':');
        return parts.Length > 4 && parts[4].Length > 0 ? parts[4] : null;
    }
}
