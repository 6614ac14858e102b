using System.Text.Json.Serialization;

namespace Nimbus.Security;

[JsonSerializable(typeof(Dictionary<string, string>))]
[JsonSerializable(typeof(AdminUserList))]
[JsonSerializable(typeof(NewAccessKey))]
[JsonSerializable(typeof(AdminError))]
[JsonSerializable(typeof(AddPermissionRequest))]
[JsonSerializable(typeof(AddPermissionResponse))]
[JsonSerializable(typeof(GetPolicyResponse))]
[JsonSerializable(typeof(CognitoCredentialsRequest))]
[JsonSerializable(typeof(CognitoCredentialsResponse))]
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.Unspecified)]
internal sealed partial class SecurityJsonContext : JsonSerializerContext;

/// <summary>GET /nimbus/admin/users.</summary>
internal sealed record AdminUserList(IReadOnlyList<IamUser> Users);

/// <summary>An admin API error body.</summary>
internal sealed record AdminError(string Type, string Message);

/// <summary>POST /nimbus/admin/roles/{name}/cognito-credentials.</summary>
internal sealed record CognitoCredentialsRequest(string? IdentityId, string? IdentityPoolId, int? DurationSeconds);

/// <summary>Its answer, shaped as Cognito's GetCredentialsForIdentity answers (Expiration in epoch seconds).</summary>
internal sealed record CognitoCredentialsResponse(string IdentityId, CognitoCredentials Credentials);

internal sealed record CognitoCredentials(string AccessKeyId, string SecretKey, string SessionToken, long Expiration);
