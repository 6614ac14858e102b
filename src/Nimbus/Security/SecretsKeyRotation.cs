using System.Security.Cryptography;
using Microsoft.Data.Sqlite;
using Nimbus.Storage;

namespace Nimbus.Security;

/// <summary>
/// <c>nimbus secrets rotate-key</c>: replaces <c>secrets.key</c> with a new random key and re-seals every sealed value
/// under it: functions' environment variables (metadata.db) and users' access key secrets (iam.db), each database in
/// one transaction. Runs on a stopped server's data directory (it takes the secrets lock every server holds).
/// Crash-safe at every step: the new key is first written (0600, fsync) as <c>secrets.key.next</c>; while that file
/// exists a server opens values sealed with either key; only once every database has committed does it replace
/// <c>secrets.key</c> (rename, fsync of the directory). Run again after an interruption, it reuses that key and finishes.
/// </summary>
internal static class SecretsKeyRotation
{
    public const string NextFileName = "secrets.key.next";
    public const string LockFileName = "secrets.lock";

    /// <summary>Test hook: stop the process (as kill -9 would) right after the named step: key, metadata or iam.</summary>
    internal const string StopAfterVariable = "NIMBUS_ROTATE_KEY_STOP_AFTER";

    public const string Usage = """
        Usage (stop the server first; back up the data directory, then the new secrets.key, afterwards):
          nimbus secrets rotate-key [--data DIR] [--revoke-sessions]
              new secrets.key; re-seals environment variables and access key secrets. Session credentials issued before
              (functions' execution credentials, Cognito credentials) keep working until they expire (at most 12 h),
              through the old key kept in secrets.key.retired for that long; --revoke-sessions (the old key leaked)
              keeps no old key, so they stop at once.
        Options: --data DIR (default $NIMBUS_DATA or ./.nimbus)
        """;

    public static bool Handles(string command) => command == "secrets";

    public static int Run(string[] args)
    {
        var data = Environment.GetEnvironmentVariable("NIMBUS_DATA") is { Length: > 0 } d ? d : ".nimbus";
        var positional = new List<string>();
        var revokeSessions = false;
        for (var i = 0; i < args.Length; i++)
        {
            if (args[i] == "--data" && i + 1 < args.Length)
            {
                data = args[++i];
            }
            else if (args[i] == "--revoke-sessions")
            {
                revokeSessions = true;
            }
            else
            {
                positional.Add(args[i]);
            }
        }

        if (positional is not ["secrets", "rotate-key"])
        {
            Console.Error.WriteLine(Usage);
            return 2;
        }

        try
        {
            var (environments, accessKeys, resumed) = Rotate(Path.GetFullPath(data), revokeSessions);
            Console.Out.WriteLine(
                $"{(resumed ? "Finished the interrupted rotation" : "Rotated")} {Path.Combine(Path.GetFullPath(data), SecretBox.FileName)}: "
                + $"re-sealed {environments} function environment(s) and {accessKeys} access key secret(s). Back up the new key with the data directory. "
                + (revokeSessions
                    ? "Session credentials issued before no longer work."
                    : $"Session credentials issued before keep working until they expire (the old key stays in {RetiredSessionKey.FileName} for {SessionCredentials.MaxLifetime.TotalHours} h; --revoke-sessions ends them)."));
            return 0;
        }
        catch (Exception e) when (e is InvalidOperationException or IOException or UnauthorizedAccessException or SqliteException)
        {
            Console.Error.WriteLine("nimbus secrets rotate-key: " + e.Message);
            return 1;
        }
    }

    /// <summary>Rotates the key of <paramref name="dataDirectory"/>; the counts of re-sealed values, and whether it finished an interrupted rotation.</summary>
    internal static (int Environments, int AccessKeys, bool Resumed) Rotate(string dataDirectory, bool revokeSessions = false)
    {
        var keyPath = Path.Combine(dataDirectory, SecretBox.FileName);
        if (!File.Exists(keyPath))
        {
            throw new InvalidOperationException($"{keyPath} does not exist: there is no key to rotate. Check --data (or NIMBUS_DATA).");
        }

        using var exclusive = LockExclusive(dataDirectory);
        var old = SecretBox.ReadKey(keyPath);
        var nextPath = Path.Combine(dataDirectory, NextFileName);
        var resumed = File.Exists(nextPath);
        if (!resumed)
        {
            PrivateFile.WriteAtomically(nextPath, Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)) + "\n");
            DirectorySync.Flush(dataDirectory);
        }

        var next = SecretBox.ReadKey(nextPath);
        var reading = new SecretBox(old, next);
        var sealing = new SecretBox(next);
        StopAfter("key");

        var environments = Reseal(Path.Combine(dataDirectory, "metadata.db"), MetadataMigrations.All,
            "SELECT name, version, environment FROM functions WHERE environment IS NOT NULL;",
            "UPDATE functions SET environment = $sealed WHERE name = $k1 AND version = $k2;",
            (name, version) => SqliteMetadataStore.AssociatedData(name, version!), reading, sealing);
        StopAfter("metadata");

        var accessKeys = Reseal(Path.Combine(dataDirectory, "iam.db"), IamMigrations.All,
            "SELECT access_key_id, NULL, secret_sealed FROM access_keys;",
            "UPDATE access_keys SET secret_sealed = $sealed WHERE access_key_id = $k1;",
            (accessKeyId, _) => accessKeyId, reading, sealing);
        StopAfter("iam");

        // Session tokens are never stored, so they cannot be re-sealed: the old key opens them (and nothing else) until the
        // last one issued before now has expired, unless they are revoked. Written before the old key file is replaced.
        var retiredPath = Path.Combine(dataDirectory, RetiredSessionKey.FileName);
        if (revokeSessions)
        {
            File.Delete(retiredPath);
        }
        else
        {
            RetiredSessionKey.Write(dataDirectory, old, DateTimeOffset.UtcNow + SessionCredentials.MaxLifetime);
        }

        // Every row now opens with the new key alone: it becomes the key, and the old one is gone.
        File.Move(nextPath, keyPath, overwrite: true);
        DirectorySync.Flush(dataDirectory);
        return (environments, accessKeys, resumed);
    }

    /// <summary>Re-seals every value <paramref name="select"/> returns (key 1, key 2 or NULL, sealed value) in one transaction.</summary>
    private static int Reseal(string path, IReadOnlyList<string> migrations, string select, string update,
        Func<string, string?, string> associatedData, SecretBox reading, SecretBox sealing)
    {
        if (!File.Exists(path))
        {
            return 0;
        }

        var database = new SqliteDatabase(path, migrations);
        using var connection = database.OpenAsync(CancellationToken.None).GetAwaiter().GetResult();
        using var transaction = connection.BeginTransaction();
        var rows = new List<(string Key1, string? Key2, string Sealed)>();
        using (var command = connection.CreateCommand())
        {
            command.Transaction = transaction;
            command.CommandText = select;
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                rows.Add((reader.GetString(0), reader.IsDBNull(1) ? null : reader.GetString(1), reader.GetString(2)));
            }
        }

        foreach (var (key1, key2, sealedValue) in rows)
        {
            var ad = associatedData(key1, key2);
            var plain = reading.Open(sealedValue, ad) ?? throw new InvalidOperationException(
                $"A value in {path} ({key1}{(key2 is null ? "" : " " + key2)}) opens with neither {SecretBox.FileName} nor {NextFileName}: "
                + "nothing was changed in this file. Restore the data directory's original key from your backup and run the rotation again.");
            using var command = connection.CreateCommand();
            command.Transaction = transaction;
            command.CommandText = update;
            command.Parameters.AddWithValue("$sealed", sealing.Seal(plain, ad));
            command.Parameters.AddWithValue("$k1", key1);
            if (key2 is not null)
            {
                command.Parameters.AddWithValue("$k2", key2);
            }

            command.ExecuteNonQuery();
        }

        transaction.Commit();

        // Pages freed by the update still hold the values sealed with the old key: rebuild the file, empty the WAL.
        using (var vacuum = connection.CreateCommand())
        {
            vacuum.CommandText = "PRAGMA wal_checkpoint(TRUNCATE); VACUUM; PRAGMA wal_checkpoint(TRUNCATE);";
            vacuum.ExecuteNonQuery();
        }

        SqliteConnection.ClearPool(connection);
        return rows.Count;
    }

    private static FileStream LockExclusive(string dataDirectory)
    {
        var path = Path.Combine(dataDirectory, LockFileName);
        try
        {
            return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException e)
        {
            throw new InvalidOperationException(
                $"A Nimbus server is running on {dataDirectory} (it holds {path}): stop it, then run the rotation again.", e);
        }
    }

    private static void StopAfter(string step)
    {
        if (Environment.GetEnvironmentVariable(StopAfterVariable) == step)
        {
            Environment.FailFast($"{StopAfterVariable}={step}: stopping as a crash would.");
        }
    }
}
