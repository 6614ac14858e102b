using System.Threading.Channels;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;

namespace Nimbus.Storage;

/// <summary>
/// The embedded async event queue: events.db (WAL, synchronous=FULL) in the data directory. Writes are group
/// committed: callers enqueue into a bounded channel and one writer commits everything queued in one transaction,
/// so a burst of Event invokes costs one fsync per batch instead of one per event. A write's task completes only
/// after its transaction committed.
/// </summary>
internal sealed partial class SqliteAsyncEventStore : IAsyncEventStore, IAsyncDisposable
{
    private const int BatchSize = 1_024;

    private readonly SqliteDatabase _database;
    private readonly ILogger<SqliteAsyncEventStore> _logger;
    private readonly Channel<PendingWrite> _writes = Channel.CreateBounded<PendingWrite>(new BoundedChannelOptions(8_192)
    {
        FullMode = BoundedChannelFullMode.Wait,
        SingleReader = true,
    });

    private readonly Task _writer;

    public SqliteAsyncEventStore(SqliteDatabase database, ILogger<SqliteAsyncEventStore> logger)
    {
        _database = database;
        _logger = logger;
        _writer = Task.Run(WriteLoopAsync);
    }

    public Task AddAsync(StoredEvent storedEvent, CancellationToken cancellationToken) =>
        EnqueueAsync(new PendingWrite(WriteKind.Insert, storedEvent.RequestId, storedEvent), cancellationToken);

    public Task UpdateAsync(StoredEvent storedEvent, CancellationToken cancellationToken) =>
        EnqueueAsync(new PendingWrite(WriteKind.Update, storedEvent.RequestId, storedEvent), cancellationToken);

    public Task DeleteAsync(string requestId, CancellationToken cancellationToken) =>
        EnqueueAsync(new PendingWrite(WriteKind.Delete, requestId, null), cancellationToken);

    public async Task<IReadOnlyList<StoredEvent>> ListAsync(CancellationToken cancellationToken)
    {
        await using var connection = await _database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = """
            SELECT request_id, function_name, qualifier, payload, accepted_at, invoke_count, throttle_count, next_attempt_at,
                   trace_header, trace_parent
            FROM async_events ORDER BY accepted_at, request_id;
            """;
        var events = new List<StoredEvent>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            events.Add(new StoredEvent(
                reader.GetString(0),
                reader.GetString(1),
                reader.IsDBNull(2) ? null : reader.GetString(2),
                (byte[])reader.GetValue(3),
                DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(4)),
                reader.GetInt32(5),
                reader.GetInt32(6),
                DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(7)))
            {
                TraceHeader = reader.IsDBNull(8) ? null : reader.GetString(8),
                TraceParent = reader.IsDBNull(9) ? null : reader.GetString(9),
            });
        }

        return events;
    }

    public async ValueTask DisposeAsync()
    {
        _writes.Writer.TryComplete();
        await _writer.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }

    private async Task EnqueueAsync(PendingWrite write, CancellationToken cancellationToken)
    {
        await _writes.Writer.WriteAsync(write, cancellationToken).ConfigureAwait(false);
        await write.Done.Task.ConfigureAwait(false);
    }

    private async Task WriteLoopAsync()
    {
        var batch = new List<PendingWrite>(BatchSize);
        var reader = _writes.Reader;
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            while (batch.Count < BatchSize && reader.TryRead(out var write))
            {
                batch.Add(write);
            }

            try
            {
                Commit(batch);
                foreach (var write in batch)
                {
                    write.Done.TrySetResult();
                }
            }
            catch (SqliteException e)
            {
                Log.EventBatchFailed(_logger, batch.Count, _database.Path, e);
                foreach (var write in batch)
                {
                    write.Done.TrySetException(e);
                }
            }

            batch.Clear();
        }
    }

    private void Commit(List<PendingWrite> batch)
    {
        using var connection = _database.OpenAsync(CancellationToken.None).GetAwaiter().GetResult();
        using var transaction = connection.BeginTransaction();
        using var insert = Command(connection, transaction, """
            INSERT OR REPLACE INTO async_events (request_id, function_name, qualifier, payload, accepted_at, invoke_count, throttle_count, next_attempt_at, trace_header, trace_parent)
            VALUES ($id, $function, $qualifier, $payload, $accepted, $invokes, $throttles, $next, $trace, $traceParent);
            """);
        using var update = Command(connection, transaction, """
            UPDATE async_events SET invoke_count = $invokes, throttle_count = $throttles, next_attempt_at = $next WHERE request_id = $id;
            """);
        using var delete = Command(connection, transaction, "DELETE FROM async_events WHERE request_id = $id;");
        foreach (var write in batch)
        {
            var command = write.Kind switch
            {
                WriteKind.Insert => insert,
                WriteKind.Update => update,
                _ => delete,
            };
            command.Parameters.Clear();
            command.Parameters.AddWithValue("$id", write.RequestId);
            if (write.Event is { } e)
            {
                command.Parameters.AddWithValue("$invokes", e.InvokeCount);
                command.Parameters.AddWithValue("$throttles", e.ThrottleCount);
                command.Parameters.AddWithValue("$next", e.NextAttemptAt.ToUnixTimeMilliseconds());
                if (write.Kind == WriteKind.Insert)
                {
                    command.Parameters.AddWithValue("$function", e.FunctionName);
                    command.Parameters.AddWithValue("$qualifier", (object?)e.Qualifier ?? DBNull.Value);
                    command.Parameters.AddWithValue("$payload", e.Payload);
                    command.Parameters.AddWithValue("$accepted", e.AcceptedAt.ToUnixTimeMilliseconds());
                    command.Parameters.AddWithValue("$trace", (object?)e.TraceHeader ?? DBNull.Value);
                    command.Parameters.AddWithValue("$traceParent", (object?)e.TraceParent ?? DBNull.Value);
                }
            }

            command.ExecuteNonQuery();
        }

        transaction.Commit();
    }

    private static SqliteCommand Command(SqliteConnection connection, SqliteTransaction transaction, string sql)
    {
        var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        return command;
    }

    private enum WriteKind
    {
        Insert,
        Update,
        Delete,
    }

    private sealed record PendingWrite(WriteKind Kind, string RequestId, StoredEvent? Event)
    {
        public TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
