using System.Collections.Concurrent;
using System.Text.Json;

namespace Nimbus.Storage;

/// <summary>
/// Event invoke configs in events.db. Every asynchronous event reads its function's config, so reads are cached;
/// the cache is cleared on every write through this store, which is the only writer.
/// </summary>
internal sealed class SqliteEventInvokeConfigStore(SqliteDatabase database) : IEventInvokeConfigStore
{
    private readonly ConcurrentDictionary<(string Function, string Qualifier), EventInvokeConfigRecord?> _cache = new();

    public async Task<EventInvokeConfigRecord?> GetAsync(string functionName, string qualifier, CancellationToken cancellationToken)
    {
        if (_cache.TryGetValue((functionName, qualifier), out var cached))
        {
            return cached;
        }

        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT record FROM event_invoke_configs WHERE function_name = $function AND qualifier = $qualifier;";
        command.Parameters.AddWithValue("$function", functionName);
        command.Parameters.AddWithValue("$qualifier", qualifier);
        var json = (string?)await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
        var record = json is null ? null : Deserialize(json);
        _cache.TryAdd((functionName, qualifier), record);
        return record;
    }

    public async Task PutAsync(string functionName, string qualifier, EventInvokeConfigRecord record, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = """
            INSERT INTO event_invoke_configs (function_name, qualifier, record) VALUES ($function, $qualifier, $record)
            ON CONFLICT (function_name, qualifier) DO UPDATE SET record = excluded.record;
            """;
        command.Parameters.AddWithValue("$function", functionName);
        command.Parameters.AddWithValue("$qualifier", qualifier);
        command.Parameters.AddWithValue("$record", JsonSerializer.Serialize(record, EventsJsonContext.Default.EventInvokeConfigRecord));
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        _cache.TryRemove((functionName, qualifier), out _);
    }

    public async Task<bool> DeleteAsync(string functionName, string qualifier, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = "DELETE FROM event_invoke_configs WHERE function_name = $function AND qualifier = $qualifier;";
        command.Parameters.AddWithValue("$function", functionName);
        command.Parameters.AddWithValue("$qualifier", qualifier);
        var deleted = await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) > 0;
        _cache.TryRemove((functionName, qualifier), out _);
        return deleted;
    }

    public async Task<IReadOnlyList<(string Qualifier, EventInvokeConfigRecord Record)>> ListAsync(string functionName, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT qualifier, record FROM event_invoke_configs WHERE function_name = $function ORDER BY qualifier;";
        command.Parameters.AddWithValue("$function", functionName);
        var items = new List<(string, EventInvokeConfigRecord)>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            items.Add((reader.GetString(0), Deserialize(reader.GetString(1))));
        }

        return items;
    }

    public async Task DeleteAllAsync(string functionName, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = "DELETE FROM event_invoke_configs WHERE function_name = $function;";
        command.Parameters.AddWithValue("$function", functionName);
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        foreach (var key in _cache.Keys.Where(k => k.Function == functionName))
        {
            _cache.TryRemove(key, out _);
        }
    }

    public static EventInvokeConfigRecord Deserialize(string json) =>
        JsonSerializer.Deserialize(json, EventsJsonContext.Default.EventInvokeConfigRecord)
        ?? throw new InvalidDataException("An event invoke config in events.db is the JSON null.");
}
