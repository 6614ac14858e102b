using System.Threading.Channels;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;

namespace Nimbus.Storage;

/// <summary>
/// queues.db (WAL, synchronous=FULL) in the data directory. Writes are group committed: one writer takes everything
/// queued and commits it in one transaction, so a burst of sends costs one fsync per batch. A write's task completes
/// only after its transaction committed. The channel is unbounded because <see cref="Append"/> is called under the
/// queue service's gate and must not wait; the service bounds how many operations are in flight instead.
/// </summary>
internal sealed partial class SqliteQueueStore : IQueueStore, IAsyncDisposable
{
    private const int BatchSize = 2_048;

    private readonly SqliteDatabase _database;
    private readonly ILogger<SqliteQueueStore> _logger;
    private readonly Channel<PendingWrite> _writes = Channel.CreateUnbounded<PendingWrite>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Task _writer;

    public SqliteQueueStore(SqliteDatabase database, ILogger<SqliteQueueStore> logger)
    {
        _database = database;
        _logger = logger;
        _writer = Task.Run(WriteLoopAsync);
    }

    public async Task<QueueSnapshot> LoadAsync(CancellationToken cancellationToken)
    {
        await using var connection = await _database.OpenAsync(cancellationToken).ConfigureAwait(false);
        var queues = new List<QueueRow>();
        await using (var command = connection.CreateCommand())
        {
            command.CommandText = "SELECT name, created_at, modified_at, attributes, tags FROM queues ORDER BY name;";
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                queues.Add(new QueueRow(reader.GetString(0), Time(reader.GetInt64(1)), Time(reader.GetInt64(2)), reader.GetString(3), reader.GetString(4)));
            }
        }

        var messages = new List<MessageRow>();
        await using (var command = connection.CreateCommand())
        {
            command.CommandText = """
                SELECT seq, queue_name, message_id, body, attributes, sent_at, visible_at, receive_count, first_received_at,
                       receipt_token, group_id, deduplication_id, trace_header, dead_letter_source_arn
                FROM messages ORDER BY seq;
                """;
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                messages.Add(new MessageRow(
                    reader.GetInt64(0),
                    reader.GetString(1),
                    reader.GetString(2),
                    reader.GetString(3),
                    NullableString(reader, 4),
                    Time(reader.GetInt64(5)),
                    Time(reader.GetInt64(6)),
                    reader.GetInt32(7),
                    reader.IsDBNull(8) ? null : Time(reader.GetInt64(8)),
                    NullableString(reader, 9),
                    NullableString(reader, 10),
                    NullableString(reader, 11),
                    NullableString(reader, 12),
                    NullableString(reader, 13)));
            }
        }

        return new QueueSnapshot(queues, messages);
    }

    public Task Append(IReadOnlyList<QueueWrite> writes)
    {
        var pending = new PendingWrite(writes);
        return _writes.Writer.TryWrite(pending)
            ? pending.Done.Task
            : Task.FromException(new ObjectDisposedException(nameof(SqliteQueueStore), "The queue store is shutting down."));
    }

    public async ValueTask DisposeAsync()
    {
        _writes.Writer.TryComplete();
        await _writer.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
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
                Log.QueueBatchFailed(_logger, batch.Count, _database.Path, e);
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
        using var putQueue = Command(connection, transaction, """
            INSERT OR REPLACE INTO queues (name, created_at, modified_at, attributes, tags) VALUES ($name, $created, $modified, $attributes, $tags);
            """);
        using var dropQueue = Command(connection, transaction, "DELETE FROM queues WHERE name = $name; DELETE FROM messages WHERE queue_name = $name;");
        using var purge = Command(connection, transaction, "DELETE FROM messages WHERE queue_name = $name;");
        using var putMessage = Command(connection, transaction, """
            INSERT OR REPLACE INTO messages (seq, queue_name, message_id, body, attributes, sent_at, visible_at, receive_count, first_received_at,
                receipt_token, group_id, deduplication_id, trace_header, dead_letter_source_arn)
            VALUES ($seq, $queue, $id, $body, $attributes, $sent, $visible, $receives, $first, $token, $group, $dedup, $trace, $dlqSource);
            """);
        using var update = Command(connection, transaction, """
            UPDATE messages SET visible_at = $visible, receive_count = $receives, first_received_at = $first, receipt_token = $token WHERE seq = $seq;
            """);
        using var remove = Command(connection, transaction, "DELETE FROM messages WHERE seq = $seq;");
        foreach (var pending in batch)
        {
            foreach (var write in pending.Writes)
            {
                switch (write)
                {
                    case QueueWrite.PutQueue(var queue):
                        Run(putQueue, ("$name", queue.Name), ("$created", queue.CreatedAt.ToUnixTimeMilliseconds()),
                            ("$modified", queue.ModifiedAt.ToUnixTimeMilliseconds()), ("$attributes", queue.AttributesJson), ("$tags", queue.TagsJson));
                        break;
                    case QueueWrite.DropQueue(var name):
                        Run(dropQueue, ("$name", name));
                        break;
                    case QueueWrite.Purge(var name):
                        Run(purge, ("$name", name));
                        break;
                    case QueueWrite.PutMessage(var m):
                        Run(putMessage, ("$seq", m.Seq), ("$queue", m.QueueName), ("$id", m.MessageId), ("$body", m.Body),
                            ("$attributes", m.AttributesJson), ("$sent", m.SentAt.ToUnixTimeMilliseconds()),
                            ("$visible", m.VisibleAt.ToUnixTimeMilliseconds()), ("$receives", m.ReceiveCount),
                            ("$first", m.FirstReceivedAt?.ToUnixTimeMilliseconds()), ("$token", m.ReceiptToken), ("$group", m.GroupId),
                            ("$dedup", m.DeduplicationId), ("$trace", m.TraceHeader), ("$dlqSource", m.DeadLetterSourceArn));
                        break;
                    case QueueWrite.UpdateDelivery u:
                        Run(update, ("$seq", u.Seq), ("$visible", u.VisibleAt.ToUnixTimeMilliseconds()), ("$receives", u.ReceiveCount),
                            ("$first", u.FirstReceivedAt?.ToUnixTimeMilliseconds()), ("$token", u.ReceiptToken));
                        break;
                    case QueueWrite.RemoveMessage(var seq):
                        Run(remove, ("$seq", seq));
                        break;
                    default:
                        throw new InvalidOperationException($"Unknown queue write {write.GetType().Name}.");
                }
            }
        }

        transaction.Commit();
    }

    private static void Run(SqliteCommand command, params (string Name, object? Value)[] parameters)
    {
        command.Parameters.Clear();
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value ?? DBNull.Value);
        }

        command.ExecuteNonQuery();
    }

    private static SqliteCommand Command(SqliteConnection connection, SqliteTransaction transaction, string sql)
    {
        var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        return command;
    }

    private static DateTimeOffset Time(long unixMilliseconds) => DateTimeOffset.FromUnixTimeMilliseconds(unixMilliseconds);

    private static string? NullableString(SqliteDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetString(ordinal);

    private sealed record PendingWrite(IReadOnlyList<QueueWrite> Writes)
    {
        public TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
