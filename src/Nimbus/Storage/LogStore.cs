using System.Threading.Channels;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Nimbus.Storage;

/// <summary>
/// Append-only store of function logs (logs.db). Writers enqueue into a bounded channel and never touch SQLite
/// on the invoke path; one background writer commits batches. A full channel makes writers wait, which slows a
/// chatty function's output pipe instead of dropping its lines. <paramref name="discard"/> (benchmarks only,
/// <c>NIMBUS_BENCH_DISABLE_FUNCTION_LOGS</c>) drops every line at the door, so an A/B can measure what storing them costs.
/// </summary>
internal sealed partial class LogStore(SqliteDatabase database, TimeProvider time, ILogger<LogStore> logger, bool discard = false) : BackgroundService
{
    private const int BatchSize = 512;

    /// <summary>
    /// How long the writer lets lines gather before it commits a batch that is not full. Every invocation logs at
    /// least START, END and REPORT; committing as they came meant a transaction (and a WAL sync) per invocation
    /// or two under load, the writer competing with the invoke path for the CPU. Lines reach logs.db at most this
    /// much later; shutdown still commits everything queued.
    /// </summary>
    internal static readonly TimeSpan BatchWindow = TimeSpan.FromMilliseconds(20);

    private readonly Channel<LogEvent> _pending = Channel.CreateBounded<LogEvent>(new BoundedChannelOptions(65_536)
    {
        FullMode = BoundedChannelFullMode.Wait,
        SingleReader = true,
    });

    public ValueTask AppendAsync(LogEvent logEvent, CancellationToken cancellationToken = default) =>
        discard || _pending.Writer.TryWrite(logEvent) ? ValueTask.CompletedTask : _pending.Writer.WriteAsync(logEvent, cancellationToken);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var batch = new List<LogEvent>(BatchSize);
        var reader = _pending.Reader;
        try
        {
            while (await reader.WaitToReadAsync(stoppingToken).ConfigureAwait(false))
            {
                if (reader.Count < BatchSize)
                {
                    await Task.Delay(BatchWindow, time, stoppingToken).ConfigureAwait(false);
                }

                while (batch.Count < BatchSize && reader.TryRead(out var item))
                {
                    batch.Add(item);
                }

                await WriteAsync(batch).ConfigureAwait(false);
                batch.Clear();
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down: commit what is already queued so no accepted line is lost.
            while (reader.TryRead(out var item))
            {
                batch.Add(item);
            }

            if (batch.Count > 0)
            {
                await WriteAsync(batch).ConfigureAwait(false);
            }
        }
    }

    private async Task WriteAsync(List<LogEvent> batch)
    {
        try
        {
            await using var connection = await database.OpenAsync(CancellationToken.None).ConfigureAwait(false);
            await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync().ConfigureAwait(false);
            var now = time.GetUtcNow().ToUnixTimeMilliseconds();

            // Lambda creates a function's log group and stream on its first write, as on AWS.
            await InsertEventsAsync(connection, transaction, batch, now, createMissing: true, CancellationToken.None).ConfigureAwait(false);
            await transaction.CommitAsync().ConfigureAwait(false);
        }
        catch (SqliteException e)
        {
            Log.LogBatchFailed(logger, batch.Count, database.Path, e);
        }
    }

    /// <summary>
    /// Appends events and brings their streams' first/last event times, last ingestion time and stored bytes up to
    /// date, inside the caller's transaction. The rowid of each event is its stable event id.
    /// </summary>
    private static async Task InsertEventsAsync(SqliteConnection connection, SqliteTransaction transaction, IReadOnlyList<LogEvent> events, long now, bool createMissing, CancellationToken cancellationToken)
    {
        await using (var command = connection.CreateCommand())
        {
            command.Transaction = transaction;
            command.CommandText = """
                INSERT INTO log_events (log_group, log_stream, timestamp, ingestion_time, message)
                VALUES ($group, $stream, $timestamp, $ingestion, $message);
                """;
            var group = command.Parameters.Add("$group", SqliteType.Text);
            var stream = command.Parameters.Add("$stream", SqliteType.Text);
            var timestamp = command.Parameters.Add("$timestamp", SqliteType.Integer);
            var ingestion = command.Parameters.Add("$ingestion", SqliteType.Integer);
            var message = command.Parameters.Add("$message", SqliteType.Text);
            ingestion.Value = now;
            foreach (var item in events)
            {
                group.Value = item.LogGroup;
                stream.Value = item.LogStream;
                timestamp.Value = item.TimestampMs;
                message.Value = item.Message;
                await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }
        }

        var streams = new Dictionary<(string Group, string Stream), (long First, long Last, long Bytes)>();
        foreach (var item in events)
        {
            var size = EventSize(item.Message);
            streams[(item.LogGroup, item.LogStream)] = streams.TryGetValue((item.LogGroup, item.LogStream), out var seen)
                ? (Math.Min(seen.First, item.TimestampMs), Math.Max(seen.Last, item.TimestampMs), seen.Bytes + size)
                : (item.TimestampMs, item.TimestampMs, size);
        }

        await using var upsert = connection.CreateCommand();
        upsert.Transaction = transaction;
        upsert.CommandText = (createMissing
            ? "INSERT INTO log_groups (name, creation_time) VALUES ($group, $now) ON CONFLICT (name) DO NOTHING;"
            : "") + """
            INSERT INTO log_streams (log_group, name, creation_time, first_event, last_event, last_ingestion, stored_bytes)
            VALUES ($group, $stream, $now, $first, $last, $now, $bytes)
            ON CONFLICT (log_group, name) DO UPDATE SET
                first_event = MIN(COALESCE(first_event, excluded.first_event), excluded.first_event),
                last_event = MAX(COALESCE(last_event, excluded.last_event), excluded.last_event),
                last_ingestion = excluded.last_ingestion,
                stored_bytes = stored_bytes + excluded.stored_bytes;
            """;
        var g = upsert.Parameters.Add("$group", SqliteType.Text);
        var s = upsert.Parameters.Add("$stream", SqliteType.Text);
        var first = upsert.Parameters.Add("$first", SqliteType.Integer);
        var last = upsert.Parameters.Add("$last", SqliteType.Integer);
        var bytes = upsert.Parameters.Add("$bytes", SqliteType.Integer);
        upsert.Parameters.AddWithValue("$now", now);
        foreach (var ((groupName, streamName), (firstEvent, lastEvent, size)) in streams)
        {
            g.Value = groupName;
            s.Value = streamName;
            first.Value = firstEvent;
            last.Value = lastEvent;
            bytes.Value = size;
            await upsert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>An event's size as CloudWatch Logs counts it: its message's UTF-8 bytes plus 26.</summary>
    public static long EventSize(string message) => System.Text.Encoding.UTF8.GetByteCount(message) + 26;
}
