using System.Text.Json;
using System.Text.RegularExpressions;

namespace Nimbus.Security;

/// <summary>
/// The Amazon Cognito identity temporary credentials were issued for. On AWS a caller signing with credentials from
/// a Cognito identity pool (GetCredentialsForIdentity) is that identity, and Lambda hands it to the function
/// (<c>Lambda-Runtime-Cognito-Identity</c>, <c>context.identity</c>); Nimbus has no Cognito, so its admin API issues
/// such credentials (<see cref="AdminApi"/>) and Invoke passes the identity on the same way.
/// </summary>
internal sealed partial record CognitoIdentity(string IdentityId, string IdentityPoolId)
{
    /// <summary>Cognito's length limit for identity and identity pool ids.</summary>
    public const int MaxIdLength = 55;

    /// <summary>Cognito's shape for both: <c>&lt;region&gt;:&lt;guid&gt;</c>.</summary>
    public static bool IsValidId(string? value) => value is { Length: > 0 and <= MaxIdLength } && IdPattern().IsMatch(value);

    /// <summary>The Runtime API header's value: <c>{"cognitoIdentityId","cognitoIdentityPoolId"}</c>.</summary>
    public string ToRuntimeHeader()
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("cognitoIdentityId", IdentityId);
            writer.WriteString("cognitoIdentityPoolId", IdentityPoolId);
            writer.WriteEndObject();
        }

        return System.Text.Encoding.UTF8.GetString(buffer.ToArray());
    }

    [GeneratedRegex(@"^[\w-]+:[0-9a-f-]+$", RegexOptions.CultureInvariant)]
    private static partial Regex IdPattern();
}
