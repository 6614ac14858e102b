using System.Globalization;
using Microsoft.Data.Sqlite;

namespace Nimbus.Storage;

/// <summary>A log group as the CloudWatch Logs API describes it.</summary>
internal sealed record LogGroupRow(string Name, long CreationTime, int? RetentionDays, long StoredBytes);

/// <summary>A log stream as the CloudWatch Logs API describes it.</summary>
internal sealed record LogStreamRow(string Name, long CreationTime, long? FirstEventTimestamp, long? LastEventTimestamp, long? LastIngestionTime, long StoredBytes);

/// <summary>One stored event; <see cref="Id"/> is its stable event id.</summary>
internal sealed record StoredLogEvent(long Id, string LogStream, long Timestamp, long IngestionTime, string Message);

/// <summary>A position in (timestamp, id) order: events are read strictly after or before it.</summary>
internal readonly record struct LogPosition(long Timestamp, long Id);

/// <summary>What a write to a group or stream found.</summary>
internal enum LogWriteOutcome
{
    Done,
    GroupMissing,
    StreamMissing,
    AlreadyExists,
}

// The CloudWatch Logs API's reads and writes. Every query is bounded by its LIMIT and served by an index:
// events by (stream_id, timestamp) or (group_id, timestamp), with the rowid as tie-break. Groups and streams are
// looked up by name once per query (their UNIQUE indexes); events carry only their integer ids.
internal sealed partial class LogStore
{
    public async Task<bool> CreateGroupAsync(string name, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = "INSERT INTO log_groups (name, creation_time) VALUES ($name, $now) ON CONFLICT (name) DO NOTHING;";
        command.Parameters.AddWithValue("$name", name);
        command.Parameters.AddWithValue("$now", time.GetUtcNow().ToUnixTimeMilliseconds());
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
    }

    /// <summary>Deletes a group with its streams and events; false when there is no such group.</summary>
    public async Task<bool> DeleteGroupAsync(string name, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = """
            DELETE FROM events WHERE group_id = (SELECT id FROM log_groups WHERE name = $name);
            DELETE FROM log_streams WHERE group_id = (SELECT id FROM log_groups WHERE name = $name);
            DELETE FROM log_groups WHERE name = $name;
            """;
        command.Parameters.AddWithValue("$name", name);
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        await using var changes = connection.CreateCommand();
        changes.Transaction = transaction;
        changes.CommandText = "SELECT changes();";
        var deleted = Convert.ToInt64(await changes.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false), CultureInfo.InvariantCulture) > 0;
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return deleted;
    }

    public async Task<LogGroupRow?> GetGroupAsync(string name, CancellationToken cancellationToken)
    {
        var groups = await ListGroupsAsync(null, null, null, 1, cancellationToken, exact: name).ConfigureAwait(false);
        return groups.Count == 1 ? groups[0] : null;
    }

    /// <summary>Groups in name order after <paramref name="after"/>, filtered by a name prefix or a case-insensitive substring.</summary>
    public async Task<IReadOnlyList<LogGroupRow>> ListGroupsAsync(string? prefix, string? pattern, string? after, int limit, CancellationToken cancellationToken, string? exact = null)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = """
            SELECT g.name, g.creation_time, g.retention_days,
                   COALESCE((SELECT SUM(s.stored_bytes) FROM log_streams s WHERE s.group_id = g.id), 0)
            FROM log_groups g
            WHERE ($exact IS NULL OR g.name = $exact)
              AND ($prefix IS NULL OR substr(g.name, 1, length($prefix)) = $prefix)
              AND ($pattern IS NULL OR instr(lower(g.name), lower($pattern)) > 0)
              AND ($after IS NULL OR g.name > $after)
            ORDER BY g.name
            LIMIT $limit;
            """;
        command.Parameters.AddWithValue("$exact", (object?)exact ?? DBNull.Value);
        command.Parameters.AddWithValue("$prefix", (object?)prefix ?? DBNull.Value);
        command.Parameters.AddWithValue("$pattern", (object?)pattern ?? DBNull.Value);
        command.Parameters.AddWithValue("$after", (object?)after ?? DBNull.Value);
        command.Parameters.AddWithValue("$limit", limit);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var rows = new List<LogGroupRow>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            rows.Add(new LogGroupRow(reader.GetString(0), reader.GetInt64(1), reader.IsDBNull(2) ? null : reader.GetInt32(2), reader.GetInt64(3)));
        }

        return rows;
    }

    /// <summary>Sets (or with null removes) a group's retention; false when there is no such group.</summary>
    public async Task<bool> SetRetentionAsync(string group, int? days, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = "UPDATE log_groups SET retention_days = $days WHERE name = $name;";
        command.Parameters.AddWithValue("$name", group);
        command.Parameters.AddWithValue("$days", (object?)days ?? DBNull.Value);
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
    }

    public async Task<LogWriteOutcome> CreateStreamAsync(string group, string stream, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = """
            INSERT INTO log_streams (group_id, name, creation_time)
            SELECT id, $stream, $now FROM log_groups WHERE name = $group
            ON CONFLICT (group_id, name) DO NOTHING;
            """;
        command.Parameters.AddWithValue("$group", group);
        command.Parameters.AddWithValue("$stream", stream);
        command.Parameters.AddWithValue("$now", time.GetUtcNow().ToUnixTimeMilliseconds());
        if (await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1)
        {
            return LogWriteOutcome.Done;
        }

        return await GroupExistsAsync(connection, null, group, cancellationToken).ConfigureAwait(false)
            ? LogWriteOutcome.AlreadyExists
            : LogWriteOutcome.GroupMissing;
    }

    public async Task<LogWriteOutcome> DeleteStreamAsync(string group, string stream, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        var (outcome, streamId, _) = await FindStreamAsync(connection, transaction, group, stream, cancellationToken).ConfigureAwait(false);
        if (outcome != LogWriteOutcome.Done)
        {
            return outcome;
        }

        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = """
            DELETE FROM events WHERE stream_id = $stream;
            DELETE FROM log_streams WHERE id = $stream;
            """;
        command.Parameters.AddWithValue("$stream", streamId);
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return LogWriteOutcome.Done;
    }

    /// <summary>
    /// Streams of a group in name order, or by last event time (streams without events first), after the
    /// position <paramref name="afterKey"/>/<paramref name="afterName"/>.
    /// </summary>
    public async Task<IReadOnlyList<LogStreamRow>> ListStreamsAsync(string group, string? prefix, bool byLastEvent, bool descending,
        long? afterKey, string? afterName, int limit, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        var direction = descending ? "DESC" : "ASC";
        var compare = descending ? "<" : ">";
        var after = afterName is null
            ? ""
            : byLastEvent
                ? $"AND (COALESCE(last_event, -1), name) {compare} ($afterKey, $afterName)"
                : $"AND name {compare} $afterName";
        var order = byLastEvent ? $"COALESCE(last_event, -1) {direction}, name {direction}" : $"name {direction}";
        command.CommandText = $"""
            SELECT name, creation_time, first_event, last_event, last_ingestion, stored_bytes
            FROM log_streams
            WHERE group_id = (SELECT id FROM log_groups WHERE name = $group)
              AND ($prefix IS NULL OR substr(name, 1, length($prefix)) = $prefix)
              {after}
            ORDER BY {order}
            LIMIT $limit;
            """;
        command.Parameters.AddWithValue("$group", group);
        command.Parameters.AddWithValue("$prefix", (object?)prefix ?? DBNull.Value);
        command.Parameters.AddWithValue("$afterKey", afterKey ?? -1);
        command.Parameters.AddWithValue("$afterName", (object?)afterName ?? DBNull.Value);
        command.Parameters.AddWithValue("$limit", limit);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var rows = new List<LogStreamRow>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            rows.Add(new LogStreamRow(reader.GetString(0), reader.GetInt64(1), NullableInt64(reader, 2), NullableInt64(reader, 3), NullableInt64(reader, 4), reader.GetInt64(5)));
        }

        return rows;
    }

    /// <summary>
    /// PutLogEvents: appends to an existing stream of an existing group and commits (WAL, synchronous FULL) before
    /// it returns, so an accepted event is never lost.
    /// </summary>
    public async Task<LogWriteOutcome> PutEventsAsync(string group, string stream, IReadOnlyList<(long Timestamp, string Message)> events, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        var (outcome, streamId, groupId) = await FindStreamAsync(connection, transaction, group, stream, cancellationToken).ConfigureAwait(false);
        if (outcome != LogWriteOutcome.Done || events.Count == 0)
        {
            return outcome;
        }

        await InsertEventsAsync(connection, transaction, streamId, groupId, events, time.GetUtcNow().ToUnixTimeMilliseconds(), cancellationToken).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return LogWriteOutcome.Done;
    }

    /// <summary>Whether the stream exists; <see cref="LogWriteOutcome.Done"/> when it does.</summary>
    public async Task<LogWriteOutcome> StreamExistsAsync(string group, string stream, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        return (await FindStreamAsync(connection, null, group, stream, cancellationToken).ConfigureAwait(false)).Outcome;
    }

    /// <summary>
    /// Events of one stream in [start, end], in (timestamp, id) order: the first <paramref name="limit"/> after
    /// <paramref name="after"/> when <paramref name="forward"/>, else the last <paramref name="limit"/> before
    /// <paramref name="before"/> (still returned oldest first).
    /// </summary>
    public async Task<IReadOnlyList<StoredLogEvent>> GetStreamEventsAsync(string group, string stream, long start, long end,
        LogPosition? after, LogPosition? before, bool forward, int limit, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        var direction = forward ? "ASC" : "DESC";
        command.CommandText = $"""
            SELECT id, $stream, timestamp, ingestion_time, message, event_count
            FROM events INDEXED BY events_by_stream
            WHERE stream_id = (SELECT s.id FROM log_streams s JOIN log_groups g ON g.id = s.group_id WHERE g.name = $group AND s.name = $stream)
              AND timestamp >= $start AND timestamp <= $end
              AND ($afterTs IS NULL OR (timestamp, id) > ($afterTs, $afterId))
              AND ($beforeTs IS NULL OR (timestamp, id - event_count + 1) < ($beforeTs, $beforeId))
            ORDER BY timestamp {direction}, id {direction}
            LIMIT $limit;
            """;
        command.Parameters.AddWithValue("$group", group);
        command.Parameters.AddWithValue("$stream", stream);
        command.Parameters.AddWithValue("$start", start);
        command.Parameters.AddWithValue("$end", end);
        command.Parameters.AddWithValue("$afterTs", after is { } a ? a.Timestamp : DBNull.Value);
        command.Parameters.AddWithValue("$afterId", after is { } a2 ? a2.Id : DBNull.Value);
        command.Parameters.AddWithValue("$beforeTs", before is { } b ? b.Timestamp : DBNull.Value);
        command.Parameters.AddWithValue("$beforeId", before is { } b2 ? b2.Id : DBNull.Value);
        command.Parameters.AddWithValue("$limit", limit);
        var rows = await ReadEventsAsync(command, after, before, descending: !forward, limit, cancellationToken).ConfigureAwait(false);
        if (!forward)
        {
            rows.Reverse();
        }

        return rows;
    }

    /// <summary>
    /// Up to <paramref name="limit"/> events of a group in [start, end] after <paramref name="after"/>, in
    /// (timestamp, id) order, from the named streams or the streams with a name prefix (or all). The time range
    /// bounds the index scan, so a time-bounded query reads only its slice.
    /// </summary>
    public async Task<IReadOnlyList<StoredLogEvent>> FilterEventsAsync(string group, IReadOnlyList<string>? streams, string? streamPrefix,
        long start, long end, LogPosition? after, int limit, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        var streamFilter = "";
        if (streams is { Count: > 0 })
        {
            var names = new List<string>();
            for (var i = 0; i < streams.Count; i++)
            {
                names.Add("$s" + i.ToString(CultureInfo.InvariantCulture));
                command.Parameters.AddWithValue(names[i], streams[i]);
            }

            streamFilter = $"AND s.name IN ({string.Join(", ", names)})";
        }
        else if (streamPrefix is not null)
        {
            streamFilter = "AND substr(s.name, 1, length($prefix)) = $prefix";
            command.Parameters.AddWithValue("$prefix", streamPrefix);
        }

        command.CommandText = $"""
            SELECT e.id, s.name, e.timestamp, e.ingestion_time, e.message, e.event_count
            FROM events e INDEXED BY events_by_group_time CROSS JOIN log_streams s ON s.id = e.stream_id
            WHERE e.group_id = (SELECT id FROM log_groups WHERE name = $group) AND e.timestamp >= $start AND e.timestamp <= $end
              AND ($afterTs IS NULL OR (e.timestamp, e.id) > ($afterTs, $afterId))
              {streamFilter}
            ORDER BY e.timestamp, e.id
            LIMIT $limit;
            """;
        command.Parameters.AddWithValue("$group", group);
        command.Parameters.AddWithValue("$start", start);
        command.Parameters.AddWithValue("$end", end);
        command.Parameters.AddWithValue("$afterTs", after is { } a ? a.Timestamp : DBNull.Value);
        command.Parameters.AddWithValue("$afterId", after is { } a2 ? a2.Id : DBNull.Value);
        command.Parameters.AddWithValue("$limit", limit);
        return await ReadEventsAsync(command, after, null, descending: false, limit, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Deletes, for every group with a retention policy, the events older than its retention at <paramref name="now"/>,
    /// in bounded transactions so writers are never held for long. Returns how many events went.
    /// </summary>
    public async Task<long> SweepRetentionAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        var groups = new List<(long Id, int Days)>();
        await using (var list = connection.CreateCommand())
        {
            list.CommandText = "SELECT id, retention_days FROM log_groups WHERE retention_days IS NOT NULL;";
            await using var reader = await list.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                groups.Add((reader.GetInt64(0), reader.GetInt32(1)));
            }
        }

        long total = 0;
        foreach (var (id, days) in groups)
        {
            var cutoff = now.AddDays(-days).ToUnixTimeMilliseconds();
            long deleted;
            do
            {
                await using var delete = connection.CreateCommand();
                delete.CommandText = """
                    DELETE FROM events WHERE id IN (
                        SELECT id FROM events INDEXED BY events_by_group_time
                        WHERE group_id = $group AND timestamp < $cutoff LIMIT 10000);
                    """;
                delete.Parameters.AddWithValue("$group", id);
                delete.Parameters.AddWithValue("$cutoff", cutoff);
                deleted = await delete.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                total += deleted;
            }
            while (deleted == 10000);

            await using var streams = connection.CreateCommand();
            streams.CommandText = """
                UPDATE log_streams SET first_event = (SELECT MIN(timestamp) FROM events e WHERE e.stream_id = log_streams.id)
                WHERE group_id = $group AND first_event < $cutoff;
                """;
            streams.Parameters.AddWithValue("$group", id);
            streams.Parameters.AddWithValue("$cutoff", cutoff);
            await streams.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        return total;
    }

    /// <summary>
    /// The events of the rows <paramref name="command"/> selects (id, stream, timestamp, ingestion time, message,
    /// event_count; in (timestamp, id) order, or its reverse when <paramref name="descending"/>), each row expanded into
    /// the events it holds, those not strictly after <paramref name="after"/> and before <paramref name="before"/> left
    /// out, at most <paramref name="limit"/>. Every selected row holds at least one such event (the query compares the
    /// row's last id with after and its first with before), so <paramref name="limit"/> rows give a full page.
    /// </summary>
    private static async Task<List<StoredLogEvent>> ReadEventsAsync(SqliteCommand command, LogPosition? after, LogPosition? before, bool descending, int limit,
        CancellationToken cancellationToken)
    {
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var rows = new List<StoredLogEvent>();
        while (rows.Count < limit && await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            var (id, stream, timestamp, ingestion, message, count) =
                (reader.GetInt64(0), reader.GetString(1), reader.GetInt64(2), reader.GetInt64(3), reader.GetString(4), reader.GetInt64(5));
            if (count == 1)
            {
                rows.Add(new StoredLogEvent(id, stream, timestamp, ingestion, message));
                continue;
            }

            var parts = message.Split(Separator);
            var firstId = id - count + 1;
            for (var k = 0; k < parts.Length && rows.Count < limit; k++)
            {
                var j = descending ? parts.Length - 1 - k : k;
                var position = new LogPosition(timestamp, firstId + j);
                if ((after is not { } a || Compare(position, a) > 0) && (before is not { } b || Compare(position, b) < 0))
                {
                    rows.Add(new StoredLogEvent(firstId + j, stream, timestamp, ingestion, parts[j]));
                }
            }
        }

        return rows;
    }

    private static int Compare(LogPosition x, LogPosition y) => x.Timestamp != y.Timestamp ? x.Timestamp.CompareTo(y.Timestamp) : x.Id.CompareTo(y.Id);

    /// <summary>Whether the group and its stream exist; when they do, the stream's and the group's ids.</summary>
    private static async Task<(LogWriteOutcome Outcome, long StreamId, long GroupId)> FindStreamAsync(SqliteConnection connection, SqliteTransaction? transaction,
        string group, string stream, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = """
            SELECT g.id, (SELECT s.id FROM log_streams s WHERE s.group_id = g.id AND s.name = $stream)
            FROM log_groups g WHERE g.name = $group;
            """;
        command.Parameters.AddWithValue("$group", group);
        command.Parameters.AddWithValue("$stream", stream);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        return !await reader.ReadAsync(cancellationToken).ConfigureAwait(false) ? (LogWriteOutcome.GroupMissing, 0, 0)
            : reader.IsDBNull(1) ? (LogWriteOutcome.StreamMissing, 0, 0)
            : (LogWriteOutcome.Done, reader.GetInt64(1), reader.GetInt64(0));
    }

    private static async Task<bool> GroupExistsAsync(SqliteConnection connection, SqliteTransaction? transaction, string group, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "SELECT COUNT(*) FROM log_groups WHERE name = $group;";
        command.Parameters.AddWithValue("$group", group);
        return Convert.ToInt64(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false), CultureInfo.InvariantCulture) > 0;
    }

    private static long? NullableInt64(SqliteDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetInt64(ordinal);
}
