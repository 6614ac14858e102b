using System.Text.Json;
using Microsoft.Data.Sqlite;
using Nimbus.Functions;

namespace Nimbus.Storage;

/// <summary>The embedded metadata store: metadata.db in the data directory.</summary>
internal sealed class SqliteMetadataStore(SqliteDatabase database) : IMetadataStore
{
    private const int SqliteConstraintPrimaryKey = 1555;

    public async Task<FunctionRecord?> GetFunctionAsync(string name, string version, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT record FROM functions WHERE name = $name AND version = $version;";
        command.Parameters.AddWithValue("$name", name);
        command.Parameters.AddWithValue("$version", version);
        var json = (string?)await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
        return json is null ? null : Deserialize(json);
    }

    public async Task<bool> TryCreateFunctionAsync(FunctionRecord record, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = """
            INSERT INTO functions (name, version, revision_id, code_size, record)
            VALUES ($name, $version, $revision, $size, $record);
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
            UPDATE functions SET revision_id = $revision, code_size = $size, record = $record
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
            SELECT record FROM functions
            WHERE version = '$LATEST' AND name > $after
            ORDER BY name LIMIT $limit;
            """;
        command.Parameters.AddWithValue("$after", afterName ?? "");
        command.Parameters.AddWithValue("$limit", limit);
        var result = new List<FunctionRecord>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            result.Add(Deserialize(reader.GetString(0)));
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
        command.CommandText = "DELETE FROM function_concurrency WHERE name = $name;";
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

    private static void Bind(SqliteCommand command, FunctionRecord record)
    {
        command.Parameters.AddWithValue("$name", record.Name);
        command.Parameters.AddWithValue("$version", record.Version);
        command.Parameters.AddWithValue("$revision", record.RevisionId);
        command.Parameters.AddWithValue("$size", record.CodeSize);
        command.Parameters.AddWithValue("$record", JsonSerializer.Serialize(record, StorageJsonContext.Default.FunctionRecord));
    }

    private static FunctionRecord Deserialize(string json) =>
        JsonSerializer.Deserialize(json, StorageJsonContext.Default.FunctionRecord)
        ?? throw new InvalidDataException("A function record in metadata.db is null.");
}
