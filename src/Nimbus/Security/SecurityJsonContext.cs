using System.Text.Json.Serialization;

namespace Nimbus.Security;

[JsonSerializable(typeof(Dictionary<string, string>))]
[JsonSerializable(typeof(AdminUserList))]
[JsonSerializable(typeof(NewAccessKey))]
[JsonSerializable(typeof(AdminError))]
[JsonSerializable(typeof(AddPermissionRequest))]
[JsonSerializable(typeof(AddPermissionResponse))]
[JsonSerializable(typeof(GetPolicyResponse))]
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.Unspecified)]
internal sealed partial class SecurityJsonContext : JsonSerializerContext;

/// <summary>GET /nimbus/admin/users.</summary>
internal sealed record AdminUserList(IReadOnlyList<IamUser> Users);

/// <summary>An admin API error body.</summary>
internal sealed record AdminError(string Type, string Message);
