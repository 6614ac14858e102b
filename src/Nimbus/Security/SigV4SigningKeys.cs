using System.Collections.Concurrent;

namespace Nimbus.Security;

/// <summary>
/// Signing keys derived once per (secret, date, region, service): a key is four chained HMACs and every signed
/// request needs one, but a client signs every request of a day with the same key. Bounded: emptied when full.
/// </summary>
internal static class SigV4SigningKeys
{
    private const int MaxKeys = 4096;

    private static readonly ConcurrentDictionary<(string Secret, string Date, string Region, string Service), byte[]> Keys = new();

    /// <summary>The signing key; callers must not change the array (it is shared).</summary>
    public static byte[] Get(string secret, string date, string region, string service)
    {
        var id = (secret, date, region, service);
        if (Keys.TryGetValue(id, out var key))
        {
            return key;
        }

        if (Keys.Count >= MaxKeys)
        {
            Keys.Clear();
        }

        key = SigV4.SigningKey(secret, date, region, service);
        Keys[id] = key;
        return key;
    }
}
