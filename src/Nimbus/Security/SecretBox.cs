using System.Security.Cryptography;
using System.Text;

namespace Nimbus.Security;

/// <summary>
/// Encrypts secrets at rest with AES-256-GCM under one key kept in <c>&lt;data&gt;/secrets.key</c> (mode 0600, created
/// at first start with temp+fsync+rename). Sealed values are <c>v1:</c> + base64(nonce ‖ tag ‖ ciphertext); the
/// associated data binds a value to its place (a key id, a function ARN) so one sealed value cannot be swapped for another.
/// </summary>
internal sealed class SecretBox
{
    public const string FileName = "secrets.key";
    private const string Prefix = "v1:";
    private const int NonceSize = 12;
    private const int TagSize = 16;

    private readonly byte[] _key;

    // Keys that open but never seal: the new key of an interrupted rotation (SecretsKeyRotation), so a data directory
    // whose rows are partly re-sealed stays readable until the rotation is run again and finishes.
    private readonly byte[][] _openOnly;
    private readonly byte[][] _opening;

    // Held (shared) for the server's life: SecretsKeyRotation takes it exclusively, so it never runs beside a server.
    private FileStream? _lock;

    public SecretBox(byte[] key, params byte[][] openOnly)
    {
        if (key.Length != 32 || openOnly.Any(k => k.Length != 32))
        {
            throw new ArgumentException("The secrets key must be 32 bytes.", nameof(key));
        }

        _key = key;
        _openOnly = openOnly;
        _opening = [key, .. openOnly];
    }

    /// <summary>True when a key rotation was interrupted: its new key is read too, until it is run again.</summary>
    public bool RotationPending => _openOnly.Length > 0;

    /// <summary>True when this box holds its data directory's secrets lock (a server's box does).</summary>
    public bool HoldsLock => _lock is not null;

    /// <summary>The key file this box was loaded from; null when built from bytes.</summary>
    public string? KeyPath { get; private init; }

    /// <summary>True when the key file did not exist and was created by this process.</summary>
    public bool Created { get; private init; }

    /// <summary>
    /// Loads the key of a data directory, creating it (0600) the first time, and holds the data directory's secrets
    /// lock (shared) for the life of the process; the new key of an interrupted rotation is loaded to open with too.
    /// </summary>
    public static SecretBox ForDataDirectory(string dataDirectory)
    {
        var lockFile = LockShared(dataDirectory);
        var path = Path.Combine(dataDirectory, FileName);
        var created = false;
        if (!File.Exists(path))
        {
            PrivateFile.WriteAtomically(path, Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)) + "\n");
            created = true;
        }

        var next = Path.Combine(dataDirectory, SecretsKeyRotation.NextFileName);
        byte[][] openOnly = File.Exists(next) ? [ReadKey(next)] : [];
        return new SecretBox(ReadKey(path), openOnly) { KeyPath = path, Created = created, _lock = lockFile };
    }

    /// <summary>The 32-byte key in <paramref name="path"/> (base64), or a start-up error saying what to restore.</summary>
    public static byte[] ReadKey(string path)
    {
        byte[] key;
        try
        {
            key = Convert.FromBase64String(File.ReadAllText(path).Trim());
        }
        catch (FormatException)
        {
            key = [];
        }

        if (key.Length != 32)
        {
            throw new Hosting.StartupException(
                $"{path} is not a Nimbus secrets key (32 random bytes in base64). Restore the original file from your backup of the data directory (mode 0600); "
                + "without it the sealed secrets (access keys, environment variables) cannot be read.");
        }

        return key;
    }

    /// <summary>The data directory's secrets lock, shared: many servers may hold it, a key rotation may not run beside them.</summary>
    private static FileStream LockShared(string dataDirectory)
    {
        var path = Path.Combine(dataDirectory, SecretsKeyRotation.LockFileName);
        try
        {
            // On Linux .NET takes flock(LOCK_SH) for a read-only open that shares, LOCK_EX for FileShare.None.
            return new FileStream(path, FileMode.OpenOrCreate, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        }
        catch (IOException e)
        {
            throw new Hosting.StartupException(
                $"A key rotation (nimbus secrets rotate-key) holds {path}: wait for it to finish, then start the server again.", e);
        }
    }

    public static bool IsSealed(string value) => value.StartsWith(Prefix, StringComparison.Ordinal);

    public string Seal(string plaintext, string associatedData)
    {
        var plain = Encoding.UTF8.GetBytes(plaintext);
        var output = new byte[NonceSize + TagSize + plain.Length];
        var nonce = output.AsSpan(0, NonceSize);
        RandomNumberGenerator.Fill(nonce);
        using var aes = new AesGcm(_key, TagSize);
        aes.Encrypt(nonce, plain, output.AsSpan(NonceSize + TagSize), output.AsSpan(NonceSize, TagSize), Encoding.UTF8.GetBytes(associatedData));
        return Prefix + Convert.ToBase64String(output);
    }

    /// <summary>The plaintext, or null when the value was not sealed by this key for this associated data.</summary>
    public string? Open(string sealedValue, string associatedData)
    {
        if (!IsSealed(sealedValue))
        {
            return null;
        }

        byte[] data;
        try
        {
            data = Convert.FromBase64String(sealedValue[Prefix.Length..]);
        }
        catch (FormatException)
        {
            return null;
        }

        if (data.Length < NonceSize + TagSize)
        {
            return null;
        }

        var plain = new byte[data.Length - NonceSize - TagSize];
        var associated = Encoding.UTF8.GetBytes(associatedData);
        foreach (var key in _opening)
        {
            try
            {
                using var aes = new AesGcm(key, TagSize);
                aes.Decrypt(data.AsSpan(0, NonceSize), data.AsSpan(NonceSize + TagSize), data.AsSpan(NonceSize, TagSize), plain, associated);
                return Encoding.UTF8.GetString(plain);
            }
            catch (AuthenticationTagMismatchException)
            {
                // Not sealed with this key: try the next one.
            }
        }

        return null;
    }
}

/// <summary>Files only the server's user may read: created 0600, written to a temp file, fsynced, renamed.</summary>
internal static class PrivateFile
{
    public static void WriteAtomically(string path, string content)
    {
        var temp = path + ".tmp-" + Guid.NewGuid().ToString("N");
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Options = FileOptions.WriteThrough };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        using (var stream = new FileStream(temp, options))
        {
            stream.Write(Encoding.UTF8.GetBytes(content));
            stream.Flush(flushToDisk: true);
        }

        File.Move(temp, path, overwrite: true);
    }
}
