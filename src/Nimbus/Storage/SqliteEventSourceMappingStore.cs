using System.Text.Json;
using Nimbus.Functions;

namespace Nimbus.Storage;

/// <summary>Event source mappings in metadata.db (migration 7), one JSON record per row.</summary>
internal sealed class SqliteEventSourceMappingStore(SqliteDatabase database) : IEventSourceMappingStore
{
    public async Task<EventSourceMappingRecord?> GetAsync(string uuid, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT record FROM event_source_mappings WHERE uuid = $uuid;";
        command.Parameters.AddWithValue("$uuid", uuid);
        var json = (string?)await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
        return json is null ? null : Deserialize(json);
    }

    public async Task<IReadOnlyList<EventSourceMappingRecord>> ListAsync(CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT record FROM event_source_mappings ORDER BY uuid;";
        var result = new List<EventSourceMappingRecord>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            result.Add(Deserialize(reader.GetString(0)));
        }

        return result;
    }

    public async Task<EventSourceMappingRecord?> TryCreateAsync(EventSourceMappingRecord record, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = connection.BeginTransaction(deferred: false);
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "SELECT record FROM event_source_mappings WHERE function_name = $function AND event_source_arn = $source;";
        command.Parameters.AddWithValue("$function", record.FunctionName);
        command.Parameters.AddWithValue("$source", record.EventSourceArn);
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
        {
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                var existing = Deserialize(reader.GetString(0));
                if (existing.Qualifier == record.Qualifier)
                {
                    return existing;
                }
            }
        }

        command.CommandText = "INSERT INTO event_source_mappings (uuid, function_name, event_source_arn, record) VALUES ($uuid, $function, $source, $record);";
        command.Parameters.AddWithValue("$uuid", record.Uuid);
        command.Parameters.AddWithValue("$record", Serialize(record));
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return null;
    }

    public async Task<bool> UpdateAsync(EventSourceMappingRecord record, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = "UPDATE event_source_mappings SET record = $record, function_name = $function WHERE uuid = $uuid;";
        command.Parameters.AddWithValue("$uuid", record.Uuid);
        command.Parameters.AddWithValue("$function", record.FunctionName);
        command.Parameters.AddWithValue("$record", Serialize(record));
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
    }

    public async Task<bool> UpdateIfUnchangedAsync(EventSourceMappingRecord expected, EventSourceMappingRecord record, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = "UPDATE event_source_mappings SET record = $record, function_name = $function WHERE uuid = $uuid AND record = $expected;";
        command.Parameters.AddWithValue("$uuid", record.Uuid);
        command.Parameters.AddWithValue("$function", record.FunctionName);
        command.Parameters.AddWithValue("$record", Serialize(record));
        command.Parameters.AddWithValue("$expected", Serialize(expected));
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
    }

    public async Task<bool> DeleteAsync(string uuid, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = "DELETE FROM event_source_mappings WHERE uuid = $uuid;";
        command.Parameters.AddWithValue("$uuid", uuid);
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
    }

    public async Task<IReadOnlyList<string>> DeleteAllAsync(string functionName, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = "DELETE FROM event_source_mappings WHERE function_name = $function RETURNING uuid;";
        command.Parameters.AddWithValue("$function", functionName);
        var deleted = new List<string>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            deleted.Add(reader.GetString(0));
        }

        return deleted;
    }

    public static string Serialize(EventSourceMappingRecord record) => JsonSerializer.Serialize(record, EventSourceMappingStorageJsonContext.Default.EventSourceMappingRecord);

    private static EventSourceMappingRecord Deserialize(string json) =>
        JsonSerializer.Deserialize(json, EventSourceMappingStorageJsonContext.Default.EventSourceMappingRecord)
        ?? throw new InvalidDataException("An event source mapping row holds no record.");
}
