using System.Text.Json;
using Microsoft.Data.Sqlite;
using Nimbus.Functions;
using Nimbus.Security;

namespace Nimbus.Storage;

/// <summary>The embedded metadata store: metadata.db in the data directory.</summary>
/// <remarks>
/// A function's environment variables are not kept in its JSON record: they are sealed with AES-256-GCM under the
/// node's <see cref="SecretBox"/> into the <c>environment</c> column, the associated data naming the function and
/// version, so the values never reach the file (or its WAL) in clear and a sealed value cannot be moved to another row.
/// </remarks>
internal sealed partial class SqliteMetadataStore(SqliteDatabase database, SecretBox? secrets = null) : IMetadataStore
{
    private const int SqliteConstraintPrimaryKey = 1555;

    public async Task<FunctionRecord?> GetFunctionAsync(string name, string version, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT record, environment FROM functions WHERE name = $name AND version = $version;";
        command.Parameters.AddWithValue("$name", name);
        command.Parameters.AddWithValue("$version", version);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        return await reader.ReadAsync(cancellationToken).ConfigureAwait(false) ? Read(reader) : null;
    }

    public async Task<bool> TryCreateFunctionAsync(FunctionRecord record, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = """
            INSERT INTO functions (name, version, revision_id, code_size, record, environment)
            VALUES ($name, $version, $revision, $size, $record, $environment);
            """;
        Bind(command, record);
        try
        {
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (SqliteException e) when (e.SqliteExtendedErrorCode == SqliteConstraintPrimaryKey)
        {
            return false;
        }
    }

    public async Task<bool> TryUpdateFunctionAsync(FunctionRecord record, string expectedRevisionId, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = """
            UPDATE functions SET revision_id = $revision, code_size = $size, record = $record, environment = $environment
            WHERE name = $name AND version = $version AND revision_id = $expected;
            """;
        Bind(command, record);
        command.Parameters.AddWithValue("$expected", expectedRevisionId);
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
    }

    public async Task<IReadOnlyList<FunctionRecord>> ListFunctionsAsync(string? afterName, int limit, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = """
            SELECT record, environment FROM functions
            WHERE version = '$LATEST' AND name > $after
            ORDER BY name LIMIT $limit;
            """;
        command.Parameters.AddWithValue("$after", afterName ?? "");
        command.Parameters.AddWithValue("$limit", limit);
        var result = new List<FunctionRecord>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            result.Add(Read(reader));
        }

        return result;
    }

    public async Task<bool> DeleteFunctionAsync(string name, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = connection.BeginTransaction();
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "DELETE FROM functions WHERE name = $name;";
        command.Parameters.AddWithValue("$name", name);
        var deleted = await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) > 0;
        command.CommandText = """
            DELETE FROM function_concurrency WHERE name = $name;
            DELETE FROM function_version_counters WHERE name = $name;
            DELETE FROM aliases WHERE function_name = $name;
            DELETE FROM provisioned_concurrency WHERE function_name = $name;
            DELETE FROM function_urls WHERE function_name = $name;
            """;
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return deleted;
    }

    public async Task<(int FunctionCount, long TotalCodeSize)> GetUsageAsync(CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = """
            SELECT (SELECT COUNT(*) FROM functions WHERE version = '$LATEST'), COALESCE(SUM(code_size), 0) FROM functions;
            """;
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
        return (reader.GetInt32(0), reader.GetInt64(1));
    }

    public async Task<int?> GetReservedConcurrencyAsync(string name, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT reserved FROM function_concurrency WHERE name = $name;";
        command.Parameters.AddWithValue("$name", name);
        return await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is long reserved ? (int)reserved : null;
    }

    public async Task<IReadOnlyDictionary<string, int>> ListReservedConcurrencyAsync(CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT name, reserved FROM function_concurrency;";
        var result = new Dictionary<string, int>(StringComparer.Ordinal);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            result[reader.GetString(0)] = reader.GetInt32(1);
        }

        return result;
    }

    public async Task<ReservationWrite> TryPutReservedConcurrencyAsync(string name, int reserved, int maxTotalReserved, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);

        // BEGIN IMMEDIATE: the write lock is taken before the sum is read, so two reservations cannot both fit
        // into the same remaining room.
        await using var transaction = connection.BeginTransaction(deferred: false);
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = """
            SELECT EXISTS (SELECT 1 FROM functions WHERE name = $name AND version = '$LATEST'),
                   (SELECT COALESCE(SUM(reserved), 0) FROM function_concurrency WHERE name <> $name);
            """;
        command.Parameters.AddWithValue("$name", name);
        long others;
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
        {
            await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            if (reader.GetInt64(0) == 0)
            {
                return ReservationWrite.FunctionNotFound;
            }

            others = reader.GetInt64(1);
        }

        if (others + reserved > maxTotalReserved)
        {
            return ReservationWrite.OverLimit;
        }

        command.CommandText = """
            INSERT INTO function_concurrency (name, reserved) VALUES ($name, $reserved)
            ON CONFLICT (name) DO UPDATE SET reserved = excluded.reserved;
            """;
        command.Parameters.AddWithValue("$reserved", reserved);
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return ReservationWrite.Saved;
    }

    public async Task<bool> DeleteReservedConcurrencyAsync(string name, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = "DELETE FROM function_concurrency WHERE name = $name;";
        command.Parameters.AddWithValue("$name", name);
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) > 0;
    }

    public async Task<VersionPublish> TryPublishVersionAsync(
        string name, string latestRevisionId, Func<FunctionRecord, bool> isUnchanged, Func<int, FunctionRecord> build, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);

        // BEGIN IMMEDIATE: the revision check, the counter and the insert see no other writer in between.
        await using var transaction = connection.BeginTransaction(deferred: false);
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = """
            SELECT (SELECT revision_id FROM functions WHERE name = $name AND version = '$LATEST'),
                   (SELECT last_version FROM function_version_counters WHERE name = $name);
            """;
        command.Parameters.AddWithValue("$name", name);
        string? revision;
        long last;
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
        {
            await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            revision = reader.IsDBNull(0) ? null : reader.GetString(0);
            last = reader.IsDBNull(1) ? 0 : reader.GetInt64(1);
        }

        if (revision is null)
        {
            return new VersionPublish(VersionPublishStatus.FunctionNotFound);
        }

        if (revision != latestRevisionId)
        {
            return new VersionPublish(VersionPublishStatus.RevisionChanged);
        }

        if (last > 0)
        {
            command.CommandText = "SELECT record, environment FROM functions WHERE name = $name AND version = $version;";
            command.Parameters.AddWithValue("$version", last.ToString(System.Globalization.CultureInfo.InvariantCulture));
            FunctionRecord? previous = null;
            await using (var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
            {
                if (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    previous = Read(reader);
                }
            }

            if (previous is not null && isUnchanged(previous))
            {
                return new VersionPublish(VersionPublishStatus.Unchanged, previous);
            }
        }

        var version = build(checked((int)last + 1));
        await using (var insert = connection.CreateCommand())
        {
            insert.Transaction = transaction;
            insert.CommandText = """
                INSERT INTO functions (name, version, revision_id, code_size, record, environment)
                VALUES ($name, $version, $revision, $size, $record, $environment);
                INSERT INTO function_version_counters (name, last_version) VALUES ($name, $last)
                ON CONFLICT (name) DO UPDATE SET last_version = excluded.last_version;
                """;
            Bind(insert, version);
            insert.Parameters.AddWithValue("$last", last + 1);
            await insert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return new VersionPublish(VersionPublishStatus.Published, version);
    }

    public async Task<IReadOnlyList<FunctionRecord>> ListVersionsAsync(string name, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = """
            SELECT record, environment FROM functions WHERE name = $name
            ORDER BY version <> '$LATEST', CAST(version AS INTEGER);
            """;
        command.Parameters.AddWithValue("$name", name);
        var result = new List<FunctionRecord>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            result.Add(Read(reader));
        }

        return result;
    }

    public async Task<VersionDelete> DeleteVersionAsync(string name, string version, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = connection.BeginTransaction(deferred: false);
        var referencing = (await ReadAliasesAsync(connection, transaction, name, cancellationToken).ConfigureAwait(false))
            .Where(alias => alias.FunctionVersion == version || alias.AdditionalVersionWeights?.ContainsKey(version) == true)
            .Select(alias => alias.Name)
            .ToList();
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.Parameters.AddWithValue("$name", name);
        command.Parameters.AddWithValue("$version", version);
        command.CommandText = "SELECT EXISTS (SELECT 1 FROM functions WHERE name = $name AND version = $version);";
        if ((long)(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))! == 0)
        {
            return new VersionDelete(VersionDeleteStatus.NotFound, []);
        }

        if (referencing.Count > 0)
        {
            return new VersionDelete(VersionDeleteStatus.ReferencedByAliases, referencing);
        }

        command.CommandText = "DELETE FROM functions WHERE name = $name AND version = $version;";
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return new VersionDelete(VersionDeleteStatus.Deleted, []);
    }

    public async Task<AliasRecord?> GetAliasAsync(string functionName, string aliasName, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT record FROM aliases WHERE function_name = $function AND name = $alias;";
        command.Parameters.AddWithValue("$function", functionName);
        command.Parameters.AddWithValue("$alias", aliasName);
        var json = (string?)await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
        return json is null ? null : DeserializeAlias(json);
    }

    public async Task<IReadOnlyList<AliasRecord>> ListAliasesAsync(string functionName, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        return await ReadAliasesAsync(connection, null, functionName, cancellationToken).ConfigureAwait(false);
    }

    public Task<AliasWrite> TryCreateAliasAsync(AliasRecord alias, CancellationToken cancellationToken) =>
        WriteAliasAsync(alias, expectedRevisionId: null, cancellationToken);

    public Task<AliasWrite> TryUpdateAliasAsync(AliasRecord alias, string expectedRevisionId, CancellationToken cancellationToken) =>
        WriteAliasAsync(alias, expectedRevisionId, cancellationToken);

    public async Task<bool> DeleteAliasAsync(string functionName, string aliasName, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = """
            DELETE FROM aliases WHERE function_name = $function AND name = $alias;
            DELETE FROM function_urls WHERE function_name = $function AND qualifier = $alias;
            """;
        command.Parameters.AddWithValue("$function", functionName);
        command.Parameters.AddWithValue("$alias", aliasName);
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) > 0;
    }

    /// <summary>Creates (no expected revision) or replaces an alias, checking in the same transaction that its versions exist.</summary>
    private async Task<AliasWrite> WriteAliasAsync(AliasRecord alias, string? expectedRevisionId, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = connection.BeginTransaction(deferred: false);
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.Parameters.AddWithValue("$function", alias.FunctionName);
        command.Parameters.AddWithValue("$alias", alias.Name);
        command.CommandText = """
            SELECT EXISTS (SELECT 1 FROM functions WHERE name = $function AND version = '$LATEST'),
                   (SELECT revision_id FROM aliases WHERE function_name = $function AND name = $alias);
            """;
        string? storedRevision;
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
        {
            await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            if (reader.GetInt64(0) == 0)
            {
                return new AliasWrite(AliasWriteStatus.FunctionNotFound);
            }

            storedRevision = reader.IsDBNull(1) ? null : reader.GetString(1);
        }

        if (expectedRevisionId is null && storedRevision is not null)
        {
            return new AliasWrite(AliasWriteStatus.AliasExists);
        }

        if (expectedRevisionId is not null && storedRevision is null)
        {
            return new AliasWrite(AliasWriteStatus.AliasNotFound);
        }

        if (expectedRevisionId is not null && storedRevision != expectedRevisionId)
        {
            return new AliasWrite(AliasWriteStatus.RevisionChanged);
        }

        command.CommandText = "SELECT EXISTS (SELECT 1 FROM functions WHERE name = $function AND version = $version);";
        var version = command.Parameters.Add("$version", SqliteType.Text);
        foreach (var routed in (alias.AdditionalVersionWeights?.Keys ?? []).Prepend(alias.FunctionVersion))
        {
            version.Value = routed;
            if ((long)(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))! == 0)
            {
                return new AliasWrite(AliasWriteStatus.VersionNotFound, routed);
            }
        }

        command.Parameters.Clear();
        command.CommandText = """
            INSERT INTO aliases (function_name, name, revision_id, record) VALUES ($function, $alias, $revision, $record)
            ON CONFLICT (function_name, name) DO UPDATE SET revision_id = excluded.revision_id, record = excluded.record;
            """;
        command.Parameters.AddWithValue("$function", alias.FunctionName);
        command.Parameters.AddWithValue("$alias", alias.Name);
        command.Parameters.AddWithValue("$revision", alias.RevisionId);
        command.Parameters.AddWithValue("$record", JsonSerializer.Serialize(alias, StorageJsonContext.Default.AliasRecord));
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return new AliasWrite(AliasWriteStatus.Saved);
    }

    private static async Task<List<AliasRecord>> ReadAliasesAsync(SqliteConnection connection, SqliteTransaction? transaction, string functionName, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "SELECT record FROM aliases WHERE function_name = $function ORDER BY name;";
        command.Parameters.AddWithValue("$function", functionName);
        var result = new List<AliasRecord>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            result.Add(DeserializeAlias(reader.GetString(0)));
        }

        return result;
    }

    public async Task<LayerVersionRecord> PublishLayerVersionAsync(string layerName, Func<int, LayerVersionRecord> build, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = connection.BeginTransaction(deferred: false);
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "SELECT COALESCE((SELECT last_version FROM layer_version_counters WHERE name = $name), 0);";
        command.Parameters.AddWithValue("$name", layerName);
        var next = checked((int)(long)(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))! + 1);
        var record = build(next);
        command.CommandText = """
            INSERT INTO layer_versions (name, version, record) VALUES ($name, $version, $record);
            INSERT INTO layer_version_counters (name, last_version) VALUES ($name, $version)
            ON CONFLICT (name) DO UPDATE SET last_version = excluded.last_version;
            """;
        command.Parameters.AddWithValue("$version", next);
        command.Parameters.AddWithValue("$record", JsonSerializer.Serialize(record, StorageJsonContext.Default.LayerVersionRecord));
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return record;
    }

    public async Task<LayerVersionRecord?> GetLayerVersionAsync(string layerName, int version, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT record FROM layer_versions WHERE name = $name AND version = $version;";
        command.Parameters.AddWithValue("$name", layerName);
        command.Parameters.AddWithValue("$version", version);
        var json = (string?)await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
        return json is null ? null : DeserializeLayer(json);
    }

    public Task<IReadOnlyList<LayerVersionRecord>> ListLayerVersionsAsync(string layerName, CancellationToken cancellationToken) =>
        ReadLayersAsync("SELECT record FROM layer_versions WHERE name = $name ORDER BY version DESC;", layerName, cancellationToken);

    public Task<IReadOnlyList<LayerVersionRecord>> ListAllLayerVersionsAsync(CancellationToken cancellationToken) =>
        ReadLayersAsync("SELECT record FROM layer_versions ORDER BY name, version DESC;", null, cancellationToken);

    public async Task<bool> DeleteLayerVersionAsync(string layerName, int version, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = "DELETE FROM layer_versions WHERE name = $name AND version = $version;";
        command.Parameters.AddWithValue("$name", layerName);
        command.Parameters.AddWithValue("$version", version);
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) > 0;
    }

    private async Task<IReadOnlyList<LayerVersionRecord>> ReadLayersAsync(string sql, string? layerName, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        if (layerName is not null)
        {
            command.Parameters.AddWithValue("$name", layerName);
        }

        var result = new List<LayerVersionRecord>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            result.Add(DeserializeLayer(reader.GetString(0)));
        }

        return result;
    }

    private static LayerVersionRecord DeserializeLayer(string json) =>
        JsonSerializer.Deserialize(json, StorageJsonContext.Default.LayerVersionRecord)
        ?? throw new InvalidDataException("A layer version record in metadata.db is null.");

    private static AliasRecord DeserializeAlias(string json) =>
        JsonSerializer.Deserialize(json, StorageJsonContext.Default.AliasRecord)
        ?? throw new InvalidDataException("An alias record in metadata.db is null.");

    private void Bind(SqliteCommand command, FunctionRecord record)
    {
        var (json, environment) = Seal(record);
        command.Parameters.AddWithValue("$name", record.Name);
        command.Parameters.AddWithValue("$version", record.Version);
        command.Parameters.AddWithValue("$revision", record.RevisionId);
        command.Parameters.AddWithValue("$size", record.CodeSize);
        command.Parameters.AddWithValue("$record", json);
        command.Parameters.AddWithValue("$environment", (object?)environment ?? DBNull.Value);
    }

    /// <summary>A function row (columns: record, environment).</summary>
    private FunctionRecord Read(SqliteDataReader reader) =>
        OpenEnvironment(Deserialize(reader.GetString(0)), reader.IsDBNull(1) ? null : reader.GetString(1));

    private static FunctionRecord Deserialize(string json) =>
        JsonSerializer.Deserialize(json, StorageJsonContext.Default.FunctionRecord)
        ?? throw new InvalidDataException("A function record in metadata.db is null.");

    public async Task PutProvisionedConcurrencyAsync(ProvisionedConcurrencyRow row, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = """
            INSERT INTO provisioned_concurrency (function_name, qualifier, requested, last_modified)
            VALUES ($name, $qualifier, $requested, $modified)
            ON CONFLICT (function_name, qualifier) DO UPDATE SET requested = excluded.requested, last_modified = excluded.last_modified;
            """;
        command.Parameters.AddWithValue("$name", row.FunctionName);
        command.Parameters.AddWithValue("$qualifier", row.Qualifier);
        command.Parameters.AddWithValue("$requested", row.Requested);
        command.Parameters.AddWithValue("$modified", row.LastModified);
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<ProvisionedConcurrencyRow>> ListProvisionedConcurrencyAsync(string? functionName, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = """
            SELECT function_name, qualifier, requested, last_modified FROM provisioned_concurrency
            WHERE $name IS NULL OR function_name = $name ORDER BY function_name, qualifier;
            """;
        command.Parameters.AddWithValue("$name", (object?)functionName ?? DBNull.Value);
        var rows = new List<ProvisionedConcurrencyRow>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            rows.Add(new ProvisionedConcurrencyRow(reader.GetString(0), reader.GetString(1), reader.GetInt32(2), reader.GetString(3)));
        }

        return rows;
    }

    public async Task<bool> DeleteProvisionedConcurrencyAsync(string functionName, string qualifier, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = "DELETE FROM provisioned_concurrency WHERE function_name = $name AND qualifier = $qualifier;";
        command.Parameters.AddWithValue("$name", functionName);
        command.Parameters.AddWithValue("$qualifier", qualifier);
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) > 0;
    }

    public async Task<bool> TryCreateFunctionUrlAsync(FunctionUrlRecord record, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = """
            INSERT INTO function_urls (function_name, qualifier, url_id, auth_type, invoke_mode, cors, creation_time, last_modified_time)
            VALUES ($name, $qualifier, $url, $auth, $mode, $cors, $created, $modified)
            ON CONFLICT DO NOTHING;
            """;
        BindUrl(command, record);
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) > 0;
    }

    public async Task<bool> UpdateFunctionUrlAsync(FunctionUrlRecord record, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = """
            UPDATE function_urls SET auth_type = $auth, invoke_mode = $mode, cors = $cors, last_modified_time = $modified
            WHERE function_name = $name AND qualifier = $qualifier;
            """;
        BindUrl(command, record);
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) > 0;
    }

    public async Task<FunctionUrlRecord?> GetFunctionUrlAsync(string functionName, string qualifier, CancellationToken cancellationToken) =>
        (await ReadUrlsAsync("function_name = $name AND qualifier = $qualifier", functionName, qualifier, cancellationToken).ConfigureAwait(false)) is [var first, ..] ? first : null;

    public async Task<FunctionUrlRecord?> FindFunctionUrlAsync(string urlId, CancellationToken cancellationToken) =>
        (await ReadUrlsAsync("url_id = $qualifier", "", urlId, cancellationToken).ConfigureAwait(false)) is [var first, ..] ? first : null;

    public Task<IReadOnlyList<FunctionUrlRecord>> ListFunctionUrlsAsync(string functionName, CancellationToken cancellationToken) =>
        ReadUrlsAsync("function_name = $name", functionName, "", cancellationToken);

    public async Task<bool> DeleteFunctionUrlAsync(string functionName, string qualifier, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = "DELETE FROM function_urls WHERE function_name = $name AND qualifier = $qualifier;";
        command.Parameters.AddWithValue("$name", functionName);
        command.Parameters.AddWithValue("$qualifier", qualifier);
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) > 0;
    }

    private async Task<IReadOnlyList<FunctionUrlRecord>> ReadUrlsAsync(string where, string name, string qualifier, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = $"""
            SELECT function_name, qualifier, url_id, auth_type, invoke_mode, cors, creation_time, last_modified_time
            FROM function_urls WHERE {where} ORDER BY function_name, qualifier;
            """;
        command.Parameters.AddWithValue("$name", name);
        command.Parameters.AddWithValue("$qualifier", qualifier);
        var rows = new List<FunctionUrlRecord>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            var cors = reader.IsDBNull(5) ? null : JsonSerializer.Deserialize(reader.GetString(5), FunctionUrlJsonContext.Default.FunctionUrlCors);
            rows.Add(new FunctionUrlRecord(reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetString(3),
                reader.GetString(4), cors, reader.GetString(6), reader.GetString(7)));
        }

        return rows;
    }

    private static void BindUrl(SqliteCommand command, FunctionUrlRecord record)
    {
        command.Parameters.AddWithValue("$name", record.FunctionName);
        command.Parameters.AddWithValue("$qualifier", record.Qualifier);
        command.Parameters.AddWithValue("$url", record.UrlId);
        command.Parameters.AddWithValue("$auth", record.AuthType);
        command.Parameters.AddWithValue("$mode", record.InvokeMode);
        command.Parameters.AddWithValue("$cors", record.Cors is null ? DBNull.Value : JsonSerializer.Serialize(record.Cors, FunctionUrlJsonContext.Default.FunctionUrlCors));
        command.Parameters.AddWithValue("$created", record.CreationTime);
        command.Parameters.AddWithValue("$modified", record.LastModifiedTime);
    }
}
