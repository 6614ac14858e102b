using System.Globalization;
using System.Text.Json;

namespace Nimbus.Security;

/// <summary>Temporary credentials as a sandbox receives them.</summary>
internal sealed record TemporaryCredentials(string AccessKeyId, string SecretAccessKey, string SessionToken, DateTimeOffset Expiration);

/// <summary>
/// Issues and checks temporary credentials for a role (a function's execution role). Stateless: the session token is
/// the role, the key pair and the expiry sealed with the server's <see cref="SecretBox"/>, so any token this server
/// did not issue, or whose key id differs, fails to open; nothing is stored and nothing to clean up. After a key
/// rotation, tokens sealed with the previous key still open through <paramref name="retired"/> until they expire.
/// </summary>
internal sealed class SessionCredentials(SecretBox box, TimeProvider time, string accountId, RetiredSessionKey? retired = null)
{
    /// <summary>How long temporary credentials live (AWS's default for Lambda is the session of the execution role, up to 12 h).</summary>
    public static readonly TimeSpan Lifetime = TimeSpan.FromHours(1);

    /// <summary>The longest session Nimbus issues (execution credentials and Cognito credentials: 12 h, AWS's longest role session).</summary>
    public static readonly TimeSpan MaxLifetime = TimeSpan.FromHours(12);

    private const string AssociatedData = "nimbus-session-token";

    public TemporaryCredentials Issue(string roleName, string sessionName, TimeSpan? lifetime = null, CognitoIdentity? cognito = null)
    {
        var accessKeyId = SigV4.NewAccessKeyId("ASIA");
        var secret = SigV4.NewSecretAccessKey();
        var expiration = time.GetUtcNow() + (lifetime ?? Lifetime);
        var fields = new Dictionary<string, string>
        {
            ["k"] = accessKeyId,
            ["s"] = secret,
            ["r"] = roleName,
            ["n"] = sessionName,
            ["e"] = expiration.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture),
        };
        if (cognito is not null)
        {
            fields["ci"] = cognito.IdentityId;
            fields["cp"] = cognito.IdentityPoolId;
        }

        var payload = JsonSerializer.Serialize(fields, SecurityJsonContext.Default.DictionaryStringString);
        return new TemporaryCredentials(accessKeyId, secret, box.Seal(payload, AssociatedData), expiration);
    }

    /// <summary>The principal and secret of a session token presented with <paramref name="accessKeyId"/>, or the failure.</summary>
    public AuthFailure? TryOpen(string accessKeyId, string token, out Principal? principal, out string? secret)
    {
        principal = null;
        secret = null;
        var payload = box.Open(token, AssociatedData);
        var openedWithRetired = false;
        if (payload is null && retired is not null && time.GetUtcNow() < retired.Until)
        {
            payload = retired.Box.Open(token, AssociatedData);
            openedWithRetired = payload is not null;
        }

        Dictionary<string, string>? fields = null;
        try
        {
            fields = payload is null ? null : JsonSerializer.Deserialize(payload, SecurityJsonContext.Default.DictionaryStringString);
        }
        catch (JsonException)
        {
            fields = null;
        }

        if (fields is null || !fields.TryGetValue("k", out var key) || key != accessKeyId
            || !fields.TryGetValue("e", out var expiresText) || !long.TryParse(expiresText, CultureInfo.InvariantCulture, out var expires)
            || (openedWithRetired && DateTimeOffset.FromUnixTimeSeconds(expires) > retired!.Until))
        {
            return AuthFailure.InvalidToken();
        }

        if (time.GetUtcNow() > DateTimeOffset.FromUnixTimeSeconds(expires))
        {
            return AuthFailure.ExpiredToken();
        }

        var role = fields["r"];
        principal = new Principal(PrincipalKind.Role, role, $"arn:aws:sts::{accountId}:assumed-role/{role}/{fields["n"]}", accessKeyId)
        {
            Cognito = fields.TryGetValue("ci", out var identityId) && fields.TryGetValue("cp", out var poolId) ? new CognitoIdentity(identityId, poolId) : null,
        };
        secret = fields["s"];
        return null;
    }
}
