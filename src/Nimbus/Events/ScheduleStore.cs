using System.Text.Json;
using Microsoft.Data.Sqlite;
using Nimbus.Storage;

namespace Nimbus.Events;

/// <summary>
/// schedules.db: schedules, their groups and the last run fired. Every write is one transaction committed with
/// synchronous=FULL before the caller answers or fires the next run.
/// </summary>
internal sealed class ScheduleStore(SqliteDatabase database)
{
    public async Task<IReadOnlyList<StoredSchedule>> ListSchedulesAsync(CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT record, last_fired FROM schedules ORDER BY group_name, name;";
        var schedules = new List<StoredSchedule>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            var record = JsonSerializer.Deserialize(reader.GetString(0), ScheduleJsonContext.Default.ScheduleRecord)
                ?? throw new InvalidDataException("A stored schedule is null.");
            schedules.Add(new StoredSchedule(record, reader.IsDBNull(1) ? null : DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(1))));
        }

        return schedules;
    }

    public async Task<IReadOnlyList<ScheduleGroupRecord>> ListGroupsAsync(CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT name, created_at, modified_at FROM schedule_groups ORDER BY name;";
        var groups = new List<ScheduleGroupRecord>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            groups.Add(new ScheduleGroupRecord(reader.GetString(0), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(1)), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(2))));
        }

        return groups;
    }

    /// <summary>Inserts or replaces a schedule; <paramref name="lastFired"/> is kept across an update.</summary>
    public Task PutScheduleAsync(ScheduleRecord record, DateTimeOffset? lastFired, CancellationToken cancellationToken) =>
        ExecuteAsync(
            "INSERT OR REPLACE INTO schedules (group_name, name, record, last_fired) VALUES ($group, $name, $record, $fired);",
            command =>
            {
                command.Parameters.AddWithValue("$group", record.GroupName);
                command.Parameters.AddWithValue("$name", record.Name);
                command.Parameters.AddWithValue("$record", JsonSerializer.Serialize(record, ScheduleJsonContext.Default.ScheduleRecord));
                command.Parameters.AddWithValue("$fired", lastFired is { } fired ? fired.ToUnixTimeMilliseconds() : DBNull.Value);
            },
            cancellationToken);

    public Task SetLastFiredAsync(string group, string name, DateTimeOffset lastFired, CancellationToken cancellationToken) =>
        ExecuteAsync(
            "UPDATE schedules SET last_fired = $fired WHERE group_name = $group AND name = $name;",
            command =>
            {
                command.Parameters.AddWithValue("$group", group);
                command.Parameters.AddWithValue("$name", name);
                command.Parameters.AddWithValue("$fired", lastFired.ToUnixTimeMilliseconds());
            },
            cancellationToken);

    public Task DeleteScheduleAsync(string group, string name, CancellationToken cancellationToken) =>
        ExecuteAsync(
            "DELETE FROM schedules WHERE group_name = $group AND name = $name;",
            command =>
            {
                command.Parameters.AddWithValue("$group", group);
                command.Parameters.AddWithValue("$name", name);
            },
            cancellationToken);

    /// <summary>Inserts a group with its tags, in one transaction.</summary>
    public async Task PutGroupAsync(ScheduleGroupRecord group, IReadOnlyCollection<KeyValuePair<string, string>> tags, CancellationToken cancellationToken)
    {
        await using var connection = await OpenFullAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await using (var insert = connection.CreateCommand())
        {
            insert.Transaction = transaction;
            insert.CommandText = "INSERT INTO schedule_groups (name, created_at, modified_at) VALUES ($name, $created, $modified);";
            insert.Parameters.AddWithValue("$name", group.Name);
            insert.Parameters.AddWithValue("$created", group.CreationDate.ToUnixTimeMilliseconds());
            insert.Parameters.AddWithValue("$modified", group.LastModificationDate.ToUnixTimeMilliseconds());
            await insert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        await WriteTagsAsync(connection, transaction, group.Name, tags, cancellationToken).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Replaces every tag of a group, in one transaction.</summary>
    public async Task SetGroupTagsAsync(string group, IReadOnlyCollection<KeyValuePair<string, string>> tags, CancellationToken cancellationToken)
    {
        await using var connection = await OpenFullAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await WriteTagsAsync(connection, transaction, group, tags, cancellationToken).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Every group's tags (the default group's too, which is never stored as a group).</summary>
    public async Task<IReadOnlyList<(string Group, string Key, string Value)>> ListGroupTagsAsync(CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT group_name, key, value FROM schedule_group_tags ORDER BY group_name, key;";
        var tags = new List<(string, string, string)>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            tags.Add((reader.GetString(0), reader.GetString(1), reader.GetString(2)));
        }

        return tags;
    }

    /// <summary>Deletes a group, every schedule in it and its tags, in one transaction.</summary>
    public Task DeleteGroupAsync(string name, CancellationToken cancellationToken) =>
        ExecuteAsync(
            "DELETE FROM schedules WHERE group_name = $name; DELETE FROM schedule_groups WHERE name = $name; DELETE FROM schedule_group_tags WHERE group_name = $name;",
            command => command.Parameters.AddWithValue("$name", name),
            cancellationToken);

    private static async Task WriteTagsAsync(
        SqliteConnection connection, SqliteTransaction transaction, string group, IReadOnlyCollection<KeyValuePair<string, string>> tags, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "DELETE FROM schedule_group_tags WHERE group_name = $group;";
        command.Parameters.AddWithValue("$group", group);
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        command.CommandText = "INSERT INTO schedule_group_tags (group_name, key, value) VALUES ($group, $key, $value);";
        var key = command.Parameters.Add("$key", SqliteType.Text);
        var value = command.Parameters.Add("$value", SqliteType.Text);
        foreach (var tag in tags)
        {
            key.Value = tag.Key;
            value.Value = tag.Value;
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task<SqliteConnection> OpenFullAsync(CancellationToken cancellationToken)
    {
        var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var pragma = connection.CreateCommand();

        // synchronous is per connection: a pooled connection must not commit with less than FULL.
        pragma.CommandText = "PRAGMA synchronous=FULL;";
        await pragma.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        return connection;
    }

    private async Task ExecuteAsync(string sql, Action<SqliteCommand> bind, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using (var pragma = connection.CreateCommand())
        {
            // synchronous is per connection: a pooled connection must not commit with less than FULL.
            pragma.CommandText = "PRAGMA synchronous=FULL;";
            await pragma.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        bind(command);
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
    }
}
