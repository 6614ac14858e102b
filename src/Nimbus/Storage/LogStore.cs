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
    private const int BatchSize = 4_096;

    /// <summary>
    /// How long the writer lets lines gather before it commits a batch that is not full. Every invocation logs at
    /// least START, END and REPORT; each commit rewrites the tail pages of the events table and its indexes into the WAL,
    /// so fewer, larger batches write (and checksum) fewer pages per line. Lines reach logs.db at most this much
    /// later (CloudWatch Logs itself delivers Lambda's lines seconds late; `aws logs tail --follow` polls every few
    /// seconds); shutdown still commits everything queued.
    /// </summary>
    internal static readonly TimeSpan BatchWindow = TimeSpan.FromMilliseconds(100);

    /// <summary>Joins the messages of the events one row holds (LogMigrations 3); a message holding it gets a row of its own.</summary>
    internal const char Separator = '\u001e';

    private const int MaxEventsPerRow = 16;

    /// <summary>The background writer's connection and statements; only the writer loop touches it.</summary>
    private Writer? _writer;

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

                Write(batch);
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
                Write(batch);
            }
        }
        finally
        {
            _writer?.Dispose();
            _writer = null;
        }
    }

    /// <summary>Commits one batch; only the writer loop calls it (and bench/writer_cpu_harness.cs, to time it).</summary>
    internal void Write(List<LogEvent> batch)
    {
        try
        {
            _writer ??= new Writer(database);
            _writer.Write(batch, time.GetUtcNow().ToUnixTimeMilliseconds());
        }
        catch (SqliteException e)
        {
            // The next batch starts over on a fresh connection.
            _writer?.Dispose();
            _writer = null;
            Log.LogBatchFailed(logger, batch.Count, database.Path, e);
        }
    }

    /// <summary>
    /// Appends events to one stream (<paramref name="streamId"/> of group <paramref name="groupId"/>) and brings its
    /// first/last event times, last ingestion time and stored bytes up to date, inside the caller's transaction. The
    /// rowid of each event is its stable event id.
    /// </summary>
    private static async Task InsertEventsAsync(SqliteConnection connection, SqliteTransaction transaction, long streamId, long groupId,
        IReadOnlyList<(long Timestamp, string Message)> events, long now, CancellationToken cancellationToken)
    {
        long first = long.MaxValue, last = long.MinValue, bytes = 0;
        await using (var command = connection.CreateCommand())
        {
            command.Transaction = transaction;
            command.CommandText = "INSERT INTO events (stream_id, group_id, timestamp, ingestion_time, message) VALUES ($stream, $group, $timestamp, $ingestion, $message);";
            command.Parameters.AddWithValue("$stream", streamId);
            command.Parameters.AddWithValue("$group", groupId);
            command.Parameters.AddWithValue("$ingestion", now);
            var timestamp = command.Parameters.Add("$timestamp", SqliteType.Integer);
            var message = command.Parameters.Add("$message", SqliteType.Text);
            foreach (var (ts, text) in events)
            {
                timestamp.Value = ts;
                message.Value = text;
                await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                first = Math.Min(first, ts);
                last = Math.Max(last, ts);
                bytes += EventSize(text);
            }
        }

        await using var update = connection.CreateCommand();
        update.Transaction = transaction;
        update.CommandText = """
            UPDATE log_streams SET
                first_event = MIN(COALESCE(first_event, $first), $first),
                last_event = MAX(COALESCE(last_event, $last), $last),
                last_ingestion = $now,
                stored_bytes = stored_bytes + $bytes
            WHERE id = $stream;
            """;
        update.Parameters.AddWithValue("$first", first);
        update.Parameters.AddWithValue("$last", last);
        update.Parameters.AddWithValue("$now", now);
        update.Parameters.AddWithValue("$bytes", bytes);
        update.Parameters.AddWithValue("$stream", streamId);
        await update.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Adds the totals of <paramref name="events"/> to <paramref name="streams"/>, one look-up per run of lines of one stream.</summary>
    private static void StreamTotals(ReadOnlySpan<LogEvent> events, Dictionary<(string Group, string Stream), (long First, long Last, long Bytes)> streams)
    {
        var i = 0;
        while (i < events.Length)
        {
            var (group, stream) = (events[i].LogGroup, events[i].LogStream);
            long first = long.MaxValue, last = long.MinValue, bytes = 0;
            for (; i < events.Length && ReferenceEquals(events[i].LogGroup, group) && ReferenceEquals(events[i].LogStream, stream); i++)
            {
                first = Math.Min(first, events[i].TimestampMs);
                last = Math.Max(last, events[i].TimestampMs);
                bytes += EventSize(events[i].Message);
            }

            streams[(group, stream)] = streams.TryGetValue((group, stream), out var seen)
                ? (Math.Min(seen.First, first), Math.Max(seen.Last, last), seen.Bytes + bytes)
                : (first, last, bytes);
        }
    }

    /// <summary>
    /// The background writer's own connection, with the statements of a batch prepared once. Function log lines
    /// commit with <c>synchronous=NORMAL</c>: in WAL mode a committed batch survives the server being killed, and
    /// only an operating-system crash or power loss can take the last batches back, the same lines the channel
    /// would lose in any crash before their batch. No fsync per batch. PutLogEvents, which promises durability
    /// before its 2xx, keeps committing on pooled connections with <c>synchronous=FULL</c>.
    /// </summary>
    private sealed class Writer : IDisposable
    {
        // A row of n events takes the ids max + 1 .. max + n: its rowid is the last (LogMigrations 3).
        private const string InsertSql = """
            INSERT INTO events (id, stream_id, group_id, timestamp, ingestion_time, message, event_count)
            VALUES (CASE WHEN ?6 = 1 THEN NULL ELSE (SELECT COALESCE(MAX(id), 0) FROM events) + ?6 END, ?1, ?2, ?3, ?4, ?5, ?6);
            """;

        private const string GroupSql = "INSERT INTO log_groups (name, creation_time) VALUES (?1, ?2) ON CONFLICT (name) DO NOTHING;";

        // Run after GroupSql in the same transaction, so the group exists; RETURNING gives the ids the events carry,
        // read under the write lock: a stream deleted and created again meanwhile gets its new id.
        private const string StreamSql = """
            INSERT INTO log_streams (group_id, name, creation_time, first_event, last_event, last_ingestion, stored_bytes)
            VALUES ((SELECT id FROM log_groups WHERE name = ?1), ?2, ?3, ?4, ?5, ?3, ?6)
            ON CONFLICT (group_id, name) DO UPDATE SET
                first_event = MIN(COALESCE(first_event, excluded.first_event), excluded.first_event),
                last_event = MAX(COALESCE(last_event, excluded.last_event), excluded.last_event),
                last_ingestion = excluded.last_ingestion,
                stored_bytes = stored_bytes + excluded.stored_bytes
            RETURNING id, group_id;
            """;

        private readonly SqliteWriter _sqlite;
        private readonly PreparedStatement _insert;
        private readonly PreparedStatement _group;
        private readonly PreparedStatement _stream;
        private readonly Dictionary<(string Group, string Stream), (long First, long Last, long Bytes)> _streams = [];
        private readonly Dictionary<(string Group, string Stream), (long StreamId, long GroupId)> _ids = [];
        private byte[] _utf8 = new byte[1024];

        public Writer(SqliteDatabase database)
        {
            _sqlite = new SqliteWriter(database, "NORMAL");
            _insert = _sqlite.Prepare(InsertSql);
            _group = _sqlite.Prepare(GroupSql);
            _stream = _sqlite.Prepare(StreamSql);
        }

        /// <summary>Creates or updates the batch's groups and streams, then appends its lines, in one transaction.</summary>
        public void Write(List<LogEvent> batch, long now)
        {
            using var transaction = _sqlite.Connection.BeginTransaction();
            var lines = System.Runtime.InteropServices.CollectionsMarshal.AsSpan(batch);

            // Lambda creates a function's log group and stream on its first write, as on AWS.
            StreamTotals(lines, _streams);
            _group.Bind(2, now);
            _stream.Bind(3, now);
            foreach (var ((g, s), (firstEvent, lastEvent, size)) in _streams)
            {
                _group.Bind(1, g);
                _group.Run();
                _stream.Bind(1, g);
                _stream.Bind(2, s);
                _stream.Bind(4, firstEvent);
                _stream.Bind(5, lastEvent);
                _stream.Bind(6, size);
                _stream.RunReturning(out var streamId, out var groupId);
                _ids[(g, s)] = (streamId, groupId);
            }

            // Bindings stay between runs: a run of lines of one stream binds its ids once.
            _insert.Bind(4, now);
            string? group = null;
            string? stream = null;
            for (var i = 0; i < lines.Length;)
            {
                ref readonly var item = ref lines[i];
                if (!ReferenceEquals(item.LogStream, stream) || !ReferenceEquals(item.LogGroup, group))
                {
                    var (streamId, groupId) = _ids[(group = item.LogGroup, stream = item.LogStream)];
                    _insert.Bind(1, streamId);
                    _insert.Bind(2, groupId);
                }

                var count = RowLength(lines[i..]);
                var length = 0;
                for (var j = 0; j < count; j++)
                {
                    var message = lines[i + j].Message;
                    var needed = length + 1 + System.Text.Encoding.UTF8.GetMaxByteCount(message.Length);
                    if (needed > _utf8.Length)
                    {
                        Array.Resize(ref _utf8, Math.Max(needed, _utf8.Length * 2));
                    }

                    if (j > 0)
                    {
                        _utf8[length++] = (byte)Separator;
                    }

                    length += System.Text.Encoding.UTF8.GetBytes(message, _utf8.AsSpan(length));
                }

                _insert.Bind(3, item.TimestampMs);
                _insert.Bind(5, _utf8.AsSpan(0, length));
                _insert.Bind(6, (long)count);
                _insert.Run();
                i += count;
            }

            _streams.Clear();
            _ids.Clear();
            transaction.Commit();
        }

        public void Dispose() => _sqlite.Dispose();

        /// <summary>
        /// How many of the first lines go into one row: the lines of one stream in a row of the batch with one timestamp
        /// (END and REPORT, which an instance writes back to back), none holding the separator, at most <see cref="MaxEventsPerRow"/>.
        /// </summary>
        private static int RowLength(ReadOnlySpan<LogEvent> lines)
        {
            ref readonly var first = ref lines[0];
            if (first.Message.Contains(Separator, StringComparison.Ordinal))
            {
                return 1;
            }

            var count = 1;
            while (count < lines.Length && count < MaxEventsPerRow
                && ReferenceEquals(lines[count].LogStream, first.LogStream) && ReferenceEquals(lines[count].LogGroup, first.LogGroup)
                && lines[count].TimestampMs == first.TimestampMs && !lines[count].Message.Contains(Separator, StringComparison.Ordinal))
            {
                count++;
            }

            return count;
        }
    }

    /// <summary>An event's size as CloudWatch Logs counts it: its message's UTF-8 bytes plus 26.</summary>
    public static long EventSize(string message) => System.Text.Encoding.UTF8.GetByteCount(message) + 26;
}
