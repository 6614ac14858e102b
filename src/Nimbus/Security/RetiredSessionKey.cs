using System.Globalization;

namespace Nimbus.Security;

/// <summary>
/// The key <c>secrets.key</c> held before the last <c>nimbus secrets rotate-key</c>, kept in
/// <c>secrets.key.retired</c> (0600) only to open session tokens issued before the rotation (functions' execution
/// credentials, Cognito credentials), until every such token has expired: the rotation time plus
/// <see cref="SessionCredentials.MaxLifetime"/>. It seals nothing and opens nothing else; tokens it opens must expire by
/// <see cref="Until"/>. <c>rotate-key --revoke-sessions</c> (for a key that leaked) keeps no retired key.
/// </summary>
internal sealed record RetiredSessionKey(SecretBox Box, DateTimeOffset Until)
{
    public const string FileName = "secrets.key.retired";

    /// <summary>Writes the file: the key (base64) on the first line, <paramref name="until"/> (Unix seconds) on the second.</summary>
    public static void Write(string dataDirectory, byte[] key, DateTimeOffset until) =>
        PrivateFile.WriteAtomically(Path.Combine(dataDirectory, FileName),
            Convert.ToBase64String(key) + "\n" + until.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture) + "\n");

    /// <summary>The retired key of <paramref name="dataDirectory"/> while it may still open a live token; null otherwise (a stale file is removed).</summary>
    public static RetiredSessionKey? Load(string dataDirectory, DateTimeOffset now)
    {
        var path = Path.Combine(dataDirectory, FileName);
        if (!File.Exists(path))
        {
            return null;
        }

        var lines = File.ReadAllLines(path);
        byte[] key;
        try
        {
            key = lines.Length >= 2 ? Convert.FromBase64String(lines[0].Trim()) : [];
        }
        catch (FormatException)
        {
            key = [];
        }

        if (key.Length != 32 || !long.TryParse(lines[1].Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var seconds)
            || DateTimeOffset.FromUnixTimeSeconds(seconds) is var until && until <= now)
        {
            // Past its time (or not ours): nothing it could open is still valid.
            File.Delete(path);
            return null;
        }

        return new RetiredSessionKey(new SecretBox(key), until);
    }
}
