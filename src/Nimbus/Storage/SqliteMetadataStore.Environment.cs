using System.Text.Json;
using Nimbus.Functions;
using Nimbus.Security;

namespace Nimbus.Storage;

// Environment variables at rest: sealed into functions.environment (migration 9), never in the JSON record.
internal sealed partial class SqliteMetadataStore
{
    /// <summary>
    /// Opens the store and prepares it for use: checks that every sealed environment opens with this node's key
    /// (a missing or different <c>secrets.key</c> stops the start with what to do), and seals the environment
    /// variables of rows written before they were encrypted, then rewrites the file so no copy stays in clear.
    /// </summary>
    public static SqliteMetadataStore Open(SqliteDatabase database, SecretBox secrets)
    {
        var store = new SqliteMetadataStore(database, secrets);
        store.SealStoredEnvironments();
        return store;
    }

    internal static string AssociatedData(string name, string version) => $"nimbus-function-environment:{name}:{version}";

    private (string Json, string? Environment) Seal(FunctionRecord record)
    {
        if (secrets is null || record.Environment is null)
        {
            return (JsonSerializer.Serialize(record, StorageJsonContext.Default.FunctionRecord), null);
        }

        var variables = JsonSerializer.Serialize(new Dictionary<string, string>(record.Environment, StringComparer.Ordinal), SecurityJsonContext.Default.DictionaryStringString);
        return (JsonSerializer.Serialize(record with { Environment = null }, StorageJsonContext.Default.FunctionRecord),
            secrets.Seal(variables, AssociatedData(record.Name, record.Version)));
    }

    private FunctionRecord OpenEnvironment(FunctionRecord record, string? environment)
    {
        if (environment is null)
        {
            return record;
        }

        var variables = secrets?.Open(environment, AssociatedData(record.Name, record.Version))
            ?? throw new InvalidDataException(KeyMismatch(record));
        return record with
        {
            Environment = JsonSerializer.Deserialize(variables, SecurityJsonContext.Default.DictionaryStringString)
                ?? throw new InvalidDataException($"The sealed environment of function {record.Name} (version {record.Version}) in {database.Path} is null."),
        };
    }

    private string KeyMismatch(FunctionRecord record)
    {
        var key = secrets?.KeyPath ?? SecretBox.FileName;
        var why = secrets?.Created == true
            ? $"{key} was missing (a new key was made, which cannot open them, and removed again)."
            : $"{key} is not the key they were encrypted with.";
        return $"The environment variables of function {record.Name} (version {record.Version}) in {database.Path} cannot be decrypted: {why} "
            + $"Stop the server, put the original {SecretBox.FileName} of this data directory back from your backup (mode 0600), and start again. "
            + "If that key is lost, the encrypted values cannot be recovered: start with a new data directory and deploy the functions again.";
    }

    private void SealStoredEnvironments()
    {
        if (secrets is null)
        {
            return;
        }

        using var connection = database.OpenAsync(CancellationToken.None).GetAwaiter().GetResult();
        var plaintext = new List<FunctionRecord>();
        using (var select = connection.CreateCommand())
        {
            select.CommandText = "SELECT record, environment FROM functions;";
            using var reader = select.ExecuteReader();
            while (reader.Read())
            {
                var record = Deserialize(reader.GetString(0));
                if (!reader.IsDBNull(1))
                {
                    if (secrets.Open(reader.GetString(1), AssociatedData(record.Name, record.Version)) is null)
                    {
                        var message = KeyMismatch(record);
                        if (secrets.Created && secrets.KeyPath is { } created)
                        {
                            // The key made just now opens nothing stored: leave the place free for the original.
                            File.Delete(created);
                        }

                        throw new Hosting.StartupException(message);
                    }
                }
                else if (record.Environment is not null)
                {
                    plaintext.Add(record);
                }
            }
        }

        if (plaintext.Count == 0)
        {
            return;
        }

        using (var transaction = connection.BeginTransaction())
        {
            foreach (var record in plaintext)
            {
                using var update = connection.CreateCommand();
                update.Transaction = transaction;
                update.CommandText = "UPDATE functions SET revision_id = $revision, code_size = $size, record = $record, environment = $environment WHERE name = $name AND version = $version;";
                Bind(update, record);
                update.ExecuteNonQuery();
            }

            transaction.Commit();
        }

        // The old rows' pages (in the file and in the WAL) still hold the values in clear: rebuild the file and
        // empty the WAL, so only the sealed copies remain.
        using var vacuum = connection.CreateCommand();
        vacuum.CommandText = "PRAGMA wal_checkpoint(TRUNCATE); VACUUM; PRAGMA wal_checkpoint(TRUNCATE);";
        vacuum.ExecuteNonQuery();
    }
}
