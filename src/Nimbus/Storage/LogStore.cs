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

    /// <summary>
    /// The writer loop on a thread of its own (<see cref="BatchingThread{T}"/>): the lines of a window, up to
    /// <see cref="BatchSize"/>, in one transaction; on stop, everything queued.
    /// </summary>
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await new BatchingThread<LogEvent>("nimbus-log-writer", _pending.Reader, BatchSize, BatchWindow, Write).Run(stoppingToken).ConfigureAwait(false);
        }
        finally
        {
            // The writer thread has ended: nothing else touches the connection.
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
    /// rowid of each event is its stable event id, never one used before (AUTOINCREMENT).
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

    /// <summary>
    /// The background writer's own connection, with the statements of a batch prepared once. Function log lines
    /// commit with <c>synchronous=NORMAL</c>: in WAL mode a committed batch survives the server being killed, and
    /// only an operating-system crash or power loss can take the last batches back, the same lines the channel
    /// would lose in any crash before their batch. No fsync per batch. PutLogEvents, which promises durability
    /// before its 2xx, keeps committing on pooled connections with <c>synchronous=FULL</c>.
    /// </summary>
    private sealed class Writer : IDisposable
    {
        // A row of n events takes the ids seq + 1 .. seq + n, seq being the highest id ever assigned (sqlite_sequence,
        // LogMigrations 4), never MAX(id), which falls when the newest rows are deleted: its rowid is the last id.
        private const string InsertSql = """
            INSERT INTO events (id, stream_id, group_id, timestamp, ingestion_time, message, event_count)
            VALUES (CASE WHEN ?6 = 1 THEN NULL ELSE COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'events'), 0) + ?6 END, ?1, ?2, ?3, ?4, ?5, ?6);
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

        // The batch's lines by stream, streams in the order their first line came; reused from batch to batch.
        private readonly Dictionary<(string Group, string Stream), StreamLines> _byStream = [];
        private readonly Dictionary<string, StreamLines> _byReference = new(ReferenceEqualityComparer.Instance);
        private readonly List<StreamLines> _streams = [];
        private readonly Stack<StreamLines> _spare = new();
        private byte[] _utf8 = new byte[1024];

        public Writer(SqliteDatabase database)
        {
            _sqlite = new SqliteWriter(database, "NORMAL");
            _insert = _sqlite.Prepare(InsertSql);
            _group = _sqlite.Prepare(GroupSql);
            _stream = _sqlite.Prepare(StreamSql);
        }

        /// <summary>
        /// Creates or updates the batch's groups and streams, then appends its lines, in one transaction. The lines are
        /// taken stream by stream (each stream's in the order they came): instances' invocations overlap, so one
        /// stream's START and its END and REPORT are seldom next to each other in the channel, and taken together they
        /// share a row whenever they share a millisecond. Event ids keep each stream's order; lines of different
        /// streams with one timestamp are ordered by stream within a batch, which the (timestamp, id) order of
        /// FilterLogEvents then keeps for good.
        /// </summary>
        public void Write(List<LogEvent> batch, long now)
        {
            using var transaction = _sqlite.Connection.BeginTransaction();
            GroupByStream(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(batch));

            // Lambda creates a function's log group and stream on its first write, as on AWS.
            _group.Bind(2, now);
            _stream.Bind(3, now);
            _insert.Bind(4, now);
            foreach (var stream in _streams)
            {
                _group.Bind(1, stream.Group);
                _group.Run();
                _stream.Bind(1, stream.Group);
                _stream.Bind(2, stream.Stream);
                _stream.Bind(4, stream.First);
                _stream.Bind(5, stream.Last);
                _stream.Bind(6, stream.Bytes);
                _stream.RunReturning(out var streamId, out var groupId);

                // Bindings stay between runs: a stream's rows bind its ids once.
                _insert.Bind(1, streamId);
                _insert.Bind(2, groupId);
                var lines = System.Runtime.InteropServices.CollectionsMarshal.AsSpan(stream.Lines);
                for (var i = 0; i < lines.Length;)
                {
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

                    _insert.Bind(3, lines[i].TimestampMs);
                    _insert.Bind(5, _utf8.AsSpan(0, length));
                    _insert.Bind(6, (long)count);
                    _insert.Run();
                    i += count;
                }
            }

            ClearStreams();
            transaction.Commit();
        }

        /// <summary>Sorts the batch's lines into <see cref="_streams"/> with each stream's totals: one look-up per run of one stream's lines.</summary>
        private void GroupByStream(ReadOnlySpan<LogEvent> lines)
        {
            ClearStreams();
            StreamLines? current = null;
            foreach (ref readonly var line in lines)
            {
                if (current is null || !ReferenceEquals(line.LogStream, current.Stream) || !ReferenceEquals(line.LogGroup, current.Group))
                {
                    // An instance names its stream and group with the same two strings on every line: found by
                    // reference first, by value (hashing both names) only for a string seen first in this batch.
                    if (!_byReference.TryGetValue(line.LogStream, out current) || !ReferenceEquals(line.LogGroup, current.Group))
                    {
                        if (!_byStream.TryGetValue((line.LogGroup, line.LogStream), out current))
                        {
                            current = _spare.TryPop(out var spare) ? spare : new StreamLines();
                            current.Start(line.LogGroup, line.LogStream);
                            _byStream.Add((line.LogGroup, line.LogStream), current);
                            _streams.Add(current);
                        }

                        _byReference[line.LogStream] = current;
                    }
                }

                current.Add(line);
            }
        }

        private void ClearStreams()
        {
            foreach (var stream in _streams)
            {
                stream.Lines.Clear();
                _spare.Push(stream);
            }

            _streams.Clear();
            _byStream.Clear();
            _byReference.Clear();
        }

        public void Dispose() => _sqlite.Dispose();

        /// <summary>One stream's lines of a batch, in the order they came, and their totals for its row in log_streams.</summary>
        private sealed class StreamLines
        {
            public string Group { get; private set; } = "";

            public string Stream { get; private set; } = "";

            public List<LogEvent> Lines { get; } = [];

            public long First { get; private set; }

            public long Last { get; private set; }

            public long Bytes { get; private set; }

            public void Start(string group, string stream)
            {
                (Group, Stream) = (group, stream);
                (First, Last, Bytes) = (long.MaxValue, long.MinValue, 0);
            }

            public void Add(in LogEvent line)
            {
                Lines.Add(line);
                First = Math.Min(First, line.TimestampMs);
                Last = Math.Max(Last, line.TimestampMs);
                Bytes += EventSize(line.Message);
            }
        }

        /// <summary>
        /// How many of the first lines (all of one stream) go into one row: those in a row with one timestamp (END and
        /// REPORT, which an instance writes back to back, and the START before them in a short invocation), none holding
        /// the separator, at most <see cref="MaxEventsPerRow"/>.
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
