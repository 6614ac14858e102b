using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Nimbus.Invocation;
using Nimbus.Metrics;
using Nimbus.Storage;

namespace Nimbus.Tests.Storage;

/// <summary>
/// The background writers of logs.db and metrics.db on real SQLite files, without a server: what a batch leaves on
/// disk (the order and ids of log lines, the stream totals) and what metering retention deletes and keeps.
/// </summary>
public sealed class WriterStoreTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("nimbus-writers-").FullName;

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_directory, recursive: true);
    }

    [Fact]
    public void Log_writer_stores_every_line_in_its_stream_s_order_with_distinct_ids_and_exact_stream_totals()
    {
        var store = new LogStore(new SqliteDatabase(Path.Combine(_directory, "logs.db"), LogMigrations.All), TimeProvider.System, NullLogger<LogStore>.Instance);
        const string group = "/aws/lambda/writer";
        string a = "2026/12/06/[$LATEST]aaaa", b = "2026/12/06/[$LATEST]bbbb";

        // Runs of three lines of one stream (one invocation's START, END, REPORT), and lines that are not.
        var lines = new List<LogEvent>
        {
            new(group, a, 1_000, "START a1"), new(group, a, 1_000, "END a1"), new(group, a, 1_001, "REPORT a1"),
            new(group, b, 900, "START b1"), new(group, a, 1_002, "out a2"), new(group, b, 901, "END b1"),
            new(group, b, 902, "REPORT b1 é"), new(group, b, 903, "START b2"), new(group, b, 904, "END b2"),
            new(group, new string(a.AsSpan()), 1_003, "same name, another string instance"),
        };
        store.Write(lines);
        store.Write([new(group, a, 1_010, "START a3"), new(group, a, 1_010, "END a3"), new(group, a, 1_011, "REPORT a3")]);

        using var connection = Open(Path.Combine(_directory, "logs.db"));
        var rows = Query(connection, "SELECT id, log_stream, timestamp, message FROM log_events ORDER BY id;",
            r => (Id: r.GetInt64(0), Stream: r.GetString(1), Timestamp: r.GetInt64(2), Message: r.GetString(3)));
        Assert.Equal(lines.Count + 3, rows.Count);
        Assert.Equal(rows.Count, rows.Select(r => r.Id).Distinct().Count());

        // A batch is stored stream by stream (streams in the order of their first line), each stream's lines in the order they came.
        Assert.Equal(
            lines.Where(l => l.LogStream == a).Concat(lines.Where(l => l.LogStream == b)).Select(l => (l.LogStream, l.TimestampMs, l.Message))
                .Concat([(a, 1_010L, "START a3"), (a, 1_010L, "END a3"), (a, 1_011L, "REPORT a3")]),
            rows.Select(r => (r.Stream, r.Timestamp, r.Message)));

        var streams = Query(connection, "SELECT name, first_event, last_event, stored_bytes FROM log_streams ORDER BY name;",
            r => (Name: r.GetString(0), First: r.GetInt64(1), Last: r.GetInt64(2), Bytes: r.GetInt64(3)));
        long Bytes(string stream) => rows.Where(r => r.Stream == stream).Sum(r => LogStore.EventSize(r.Message));
        Assert.Equal([(a, 1_000L, 1_011L, Bytes(a)), (b, 900L, 904L, Bytes(b))], streams.Select(s => (s.Name, s.First, s.Last, s.Bytes)));
    }

    [Fact]
    public async Task Log_writer_stores_an_invocation_s_START_END_and_REPORT_of_one_millisecond_in_one_row_while_other_instances_write_between()
    {
        var path = Path.Combine(_directory, "logs.db");
        var store = new LogStore(new SqliteDatabase(path, LogMigrations.All), TimeProvider.System, NullLogger<LogStore>.Instance);
        var ct = CancellationToken.None;
        const string group = "/aws/lambda/overlap";
        string a = "2026/12/07/[$LATEST]aaaa", b = "2026/12/07/[$LATEST]bbbb";

        // Two instances' invocations overlap in the channel, as they do under load.
        var lines = new List<LogEvent>
        {
            new(group, a, 1_000, "START a"), new(group, b, 1_000, "START b"), new(group, a, 1_000, "END a"),
            new(group, a, 1_000, "REPORT a\t"), new(group, b, 1_001, "END b"), new(group, b, 1_001, "REPORT b\t"),
        };
        store.Write(lines);

        using (var connection = Open(path))
        {
            // a's three lines share a row; b's START is a millisecond before its END and REPORT.
            Assert.Equal([3L, 1L, 2L], Query(connection, "SELECT event_count FROM events ORDER BY id;", r => r.GetInt64(0)));
        }

        foreach (var stream in new[] { a, b })
        {
            var events = await store.GetStreamEventsAsync(group, stream, 0, long.MaxValue, null, null, forward: true, 100, ct);
            Assert.Equal(lines.Where(l => l.LogStream == stream).Select(l => (l.TimestampMs, l.Message)), events.Select(e => (e.Timestamp, e.Message)));
            Assert.Equal(events.OrderBy(e => e.Id), events);
        }

        // Every event once, by (time, id), with distinct ids; a page boundary inside a's row resumes after it.
        var filtered = await store.FilterEventsAsync(group, null, null, 0, long.MaxValue, null, 100, ct);
        Assert.Equal(lines.Select(l => l.Message).Order(), filtered.Select(e => e.Message).Order());
        Assert.Equal(filtered.OrderBy(e => e.Timestamp).ThenBy(e => e.Id), filtered);
        Assert.Equal(filtered.Count, filtered.Select(e => e.Id).Distinct().Count());
        var rest = await store.FilterEventsAsync(group, null, null, 0, long.MaxValue, new LogPosition(filtered[0].Timestamp, filtered[0].Id), 100, ct);
        Assert.Equal(filtered.Skip(1), rest);
        store.Dispose();
    }

    [Fact]
    public async Task Log_store_migrates_a_logs_db_with_text_keyed_events_and_reads_every_event_back_with_its_id()
    {
        // A logs.db as the first two schema versions left it: events keyed by group and stream text.
        var path = Path.Combine(_directory, "old-logs.db");
        var v1 = new SqliteDatabase(path, LogMigrations.All.Take(1).ToList());
        using (var connection = new SqliteConnection($"Data Source={path};Pooling=False"))
        {
            connection.Open();
            Execute(connection, """
                INSERT INTO log_events (log_group, log_stream, timestamp, ingestion_time, message) VALUES
                    ('/aws/lambda/a', 's1', 1000, 5000, 'START x'), ('/aws/lambda/a', 's2', 999, 5000, 'other stream'),
                    ('/aws/lambda/a', 's1', 1001, 5000, 'deleted below'), ('/aws/lambda/a', 's1', 1001, 5001, 'END x é'),
                    ('/aws/lambda/b', 's1', 2000, 6000, 'b''s line'), ('/aws/lambda/a', 's1', 1001, 5002, 'REPORT x');
                DELETE FROM log_events WHERE message = 'deleted below';
                """);
        }

        _ = new SqliteDatabase(path, LogMigrations.All.Take(2).ToList());
        using (var connection = new SqliteConnection($"Data Source={path};Pooling=False"))
        {
            connection.Open();
            Execute(connection, """
                UPDATE log_groups SET retention_days = 7 WHERE name = '/aws/lambda/b';
                INSERT INTO log_groups (name, creation_time) VALUES ('/empty', 7000);
                INSERT INTO log_streams (log_group, name, creation_time) VALUES ('/empty', 'none yet', 7001);
                """);
        }

        SqliteConnection.ClearAllPools();
        var database = new SqliteDatabase(path, LogMigrations.All);
        Assert.Equal(LogMigrations.All.Count, database.SchemaVersion);
        var store = new LogStore(database, TimeProvider.System, NullLogger<LogStore>.Instance);
        var ct = CancellationToken.None;

        Assert.Equal(
            [new LogGroupRow("/aws/lambda/a", 5000, null, (4 * 26) + 7 + 12 + 8 + 8), new LogGroupRow("/aws/lambda/b", 6000, 7, 26 + 8), new LogGroupRow("/empty", 7000, null, 0)],
            await store.ListGroupsAsync(null, null, null, 10, ct));
        Assert.Equal([new LogStreamRow("none yet", 7001, null, null, null, 0)], await store.ListStreamsAsync("/empty", null, false, false, null, null, 10, ct));

        // The same ids (eventIds clients de-duplicate on), the same order, the same text.
        var s1 = await store.GetStreamEventsAsync("/aws/lambda/a", "s1", 0, long.MaxValue, null, null, forward: true, 10, ct);
        Assert.Equal([(1L, 1000L, "START x"), (4L, 1001L, "END x é"), (6L, 1001L, "REPORT x")], s1.Select(e => (e.Id, e.Timestamp, e.Message)));
        var group = await store.FilterEventsAsync("/aws/lambda/a", null, null, 0, long.MaxValue, null, 10, ct);
        Assert.Equal([(2L, "s2"), (1L, "s1"), (4L, "s1"), (6L, "s1")], group.Select(e => (e.Id, e.LogStream)));
        Assert.Equal([5L], (await store.FilterEventsAsync("/aws/lambda/b", ["s1"], null, 0, long.MaxValue, null, 10, ct)).Select(e => e.Id));

        // New lines go on after the old ones, into the same streams.
        store.Write([new LogEvent("/aws/lambda/a", "s1", 1002, "new line"), new LogEvent("/aws/lambda/c", "s1", 3000, "new group")]);
        Assert.Equal([(1L, "START x"), (4L, "END x é"), (6L, "REPORT x"), (7L, "new line")],
            (await store.GetStreamEventsAsync("/aws/lambda/a", "s1", 0, long.MaxValue, null, null, forward: true, 10, ct)).Select(e => (e.Id, e.Message)));
        Assert.Equal(LogWriteOutcome.Done, await store.PutEventsAsync("/aws/lambda/b", "s1", [(2001, "put")], ct));
        Assert.Equal(["b's line", "put"], (await store.FilterEventsAsync("/aws/lambda/b", null, "s", 0, long.MaxValue, null, 10, ct)).Select(e => e.Message));
        Assert.Equal(["new group"], (await store.FilterEventsAsync("/aws/lambda/c", null, null, 0, long.MaxValue, null, 10, ct)).Select(e => e.Message));
        store.Dispose();
    }

    [Fact]
    public async Task Log_writer_stores_lines_of_one_millisecond_in_one_row_and_every_read_pages_through_them_one_event_at_a_time()
    {
        var path = Path.Combine(_directory, "logs.db");
        var store = new LogStore(new SqliteDatabase(path, LogMigrations.All), TimeProvider.System, NullLogger<LogStore>.Instance);
        var ct = CancellationToken.None;
        const string group = "/aws/lambda/rows";
        string a = "a", b = "b";
        var lines = new List<LogEvent>
        {
            new(group, a, 1_000, "START 1"), new(group, a, 1_000, "out é"), new(group, b, 1_000, "b's line"),
            new(group, a, 1_001, "END 1"), new(group, a, 1_001, "REPORT 1\t"), new(group, a, 1_001, "has \u001e inside"),
            new(group, a, 1_001, "after it"), new(group, a, 1_002, "START 2"),
        };
        store.Write(lines);
        var expected = lines.Where(l => l.LogStream == a).Select(l => l.Message).ToList();

        using (var connection = Open(path))
        {
            // START and the output of ms 1000, END and REPORT of ms 1001 share rows; the line holding U+001E does not.
            Assert.Equal(6, Query(connection, "SELECT COUNT(*) FROM events;", r => r.GetInt64(0)).Single());
        }

        var all = await store.GetStreamEventsAsync(group, a, 0, long.MaxValue, null, null, forward: true, 100, ct);
        Assert.Equal(expected, all.Select(e => e.Message));
        Assert.Equal(all.Count, all.Select(e => e.Id).Distinct().Count());

        // One event per page, forward and backward, from positions inside a row.
        var forward = new List<StoredLogEvent>();
        for (LogPosition? after = null; forward.Count <= expected.Count;)
        {
            var page = await store.GetStreamEventsAsync(group, a, 0, long.MaxValue, after, null, forward: true, 1, ct);
            if (page.Count == 0)
            {
                break;
            }

            forward.Add(Assert.Single(page));
            after = new LogPosition(page[0].Timestamp, page[0].Id);
        }

        Assert.Equal(all, forward);
        var backward = new List<StoredLogEvent>();
        for (LogPosition? before = null; backward.Count <= expected.Count;)
        {
            var page = await store.GetStreamEventsAsync(group, a, 0, long.MaxValue, null, before, forward: false, 1, ct);
            if (page.Count == 0)
            {
                break;
            }

            backward.Add(Assert.Single(page));
            before = new LogPosition(page[0].Timestamp, page[0].Id);
        }

        Assert.Equal(all.AsEnumerable().Reverse(), backward);
        Assert.Equal(["b's line"], (await store.FilterEventsAsync(group, [b], null, 0, long.MaxValue, null, 10, ct)).Select(e => e.Message));

        // FilterLogEvents interleaves the streams by (time, id) and resumes inside a row.
        var filtered = await store.FilterEventsAsync(group, null, null, 0, long.MaxValue, null, 100, ct);
        Assert.Equal(lines.Count, filtered.Count);
        Assert.Equal(filtered.OrderBy(e => e.Timestamp).ThenBy(e => e.Id), filtered);
        var rest = await store.FilterEventsAsync(group, null, null, 0, long.MaxValue, new LogPosition(all[3].Timestamp, all[3].Id), 2, ct);
        Assert.Equal(filtered.SkipWhile(e => e.Id != all[3].Id).Skip(1).Take(2), rest);
        store.Dispose();
    }

    [Fact]
    public async Task Log_event_ids_keep_increasing_after_a_retention_sweep_empties_the_table_and_after_a_restart()
    {
        var path = Path.Combine(_directory, "logs.db");
        var ct = CancellationToken.None;
        const string group = "/aws/lambda/ids";

        // Both ways the writer takes ids (a row of its own; START, END and REPORT of one millisecond sharing a row) and PutLogEvents.
        async Task<List<long>> WriteAsync(LogStore store, long ms)
        {
            store.Write([new(group, "s", ms, "START"), new(group, "s", ms, "END"), new(group, "s", ms, "REPORT"), new(group, "s", ms + 1, "own row")]);
            Assert.Equal(LogWriteOutcome.Done, await store.PutEventsAsync(group, "s", [(ms + 2, "put")], ct));
            var ids = (await store.FilterEventsAsync(group, null, null, ms, ms + 3, null, 100, ct)).Select(e => e.Id).ToList();
            Assert.Equal(5, ids.Distinct().Count());
            return ids;
        }

        var store = new LogStore(new SqliteDatabase(path, LogMigrations.All), TimeProvider.System, NullLogger<LogStore>.Instance);
        var seen = await WriteAsync(store, 1_000);
        Assert.True(await store.SetRetentionAsync(group, 1, ct));
        var muchLater = DateTimeOffset.FromUnixTimeMilliseconds(1_000).AddDays(30);
        Assert.True(await store.SweepRetentionAsync(muchLater, ct) > 0);
        Assert.Empty(await store.FilterEventsAsync(group, null, null, 0, long.MaxValue, null, 100, ct));

        // After the sweep emptied the table, aws logs tail must not see an id it saw before (it would drop the line).
        var afterSweep = await WriteAsync(store, 2_000);
        Assert.True(afterSweep.Min() > seen.Max(), $"ids after the sweep {string.Join(",", afterSweep)} reuse ids before it {string.Join(",", seen)}");

        store.Dispose();
        SqliteConnection.ClearAllPools();
        store = new LogStore(new SqliteDatabase(path, LogMigrations.All), TimeProvider.System, NullLogger<LogStore>.Instance);
        Assert.True(await store.SweepRetentionAsync(muchLater, ct) > 0);
        Assert.Empty(await store.FilterEventsAsync(group, null, null, 0, long.MaxValue, null, 100, ct));
        var afterRestart = await WriteAsync(store, 3_000);
        Assert.True(afterRestart.Min() > afterSweep.Max(), $"ids after the restart {string.Join(",", afterRestart)} reuse ids before it {string.Join(",", afterSweep)}");
        store.Dispose();
    }

    [Fact]
    public async Task Log_writer_gives_a_stream_deleted_and_created_again_its_new_id()
    {
        var store = new LogStore(new SqliteDatabase(Path.Combine(_directory, "logs.db"), LogMigrations.All), TimeProvider.System, NullLogger<LogStore>.Instance);
        var ct = CancellationToken.None;
        store.Write([new LogEvent("/g", "s", 1, "first life")]);
        Assert.True(await store.DeleteGroupAsync("/g", ct));
        store.Write([new LogEvent("/g", "s", 2, "second life")]);

        Assert.Equal(["second life"], (await store.GetStreamEventsAsync("/g", "s", 0, long.MaxValue, null, null, forward: true, 10, ct)).Select(e => e.Message));
        var stream = Assert.Single(await store.ListStreamsAsync("/g", null, false, false, null, null, 10, ct));
        Assert.Equal(("s", 2L, 2L, 26L + 11), (stream.Name, stream.FirstEventTimestamp, stream.LastEventTimestamp, stream.StoredBytes));
        store.Dispose();
    }

    [Fact]
    public async Task Writer_threads_store_every_line_and_record_appended_from_many_threads_while_running_and_what_is_queued_at_stop()
    {
        var logPath = Path.Combine(_directory, "logs.db");
        var meterPath = Path.Combine(_directory, "metrics.db");
        var logs = new LogStore(new SqliteDatabase(logPath, LogMigrations.All), TimeProvider.System, NullLogger<LogStore>.Instance);
        var meter = new MeteringStore(new SqliteDatabase(meterPath, MeteringMigrations.All), Options.Create(new MetricsOptions()),
            TimeProvider.System, NullLogger<MeteringStore>.Instance);
        await logs.StartAsync(CancellationToken.None);
        await meter.StartAsync(CancellationToken.None);
        const string group = "/aws/lambda/threads";
        const int Writers = 4, PerWriter = 600;
        var start = DateTimeOffset.UtcNow;

        // Each "instance" writes its own stream's lines (and meters its invocations) from a thread of its own, as the
        // output pumps and the invoker do; the first half while the writers run, the second half just before the stop.
        async Task Append(int writer, int from, int to)
        {
            await Task.Yield();
            var stream = $"2026/12/07/[$LATEST]w{writer}";
            for (var i = from; i < to; i++)
            {
                await logs.AppendAsync(new LogEvent(group, stream, 1_000 + i / 3, $"line {i} of w{writer}"));
                if (i % 3 == 2)
                {
                    meter.OnCompleted(new InvocationRecord($"w{writer}-{i}", "threads", "threads", "$LATEST", start, 1.5, 2, 128, 60, null, InvocationOutcome.Success, 1));
                }
            }
        }

        await Task.WhenAll(Enumerable.Range(0, Writers).Select(w => Task.Run(() => Append(w, 0, PerWriter / 2))));
        long Count(string path, string sql)
        {
            using var connection = Open(path);
            return Query(connection, sql, r => r.GetInt64(0))[0];
        }

        // Written by the running threads, without a stop: a bounded wait on the condition.
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while ((Count(logPath, "SELECT COUNT(*) FROM log_events;") < Writers * PerWriter / 2
            || Count(meterPath, "SELECT COUNT(*) FROM invocations;") < Writers * PerWriter / 6) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
        }

        Assert.Equal(Writers * PerWriter / 2, Count(logPath, "SELECT COUNT(*) FROM log_events;"));
        Assert.Equal(Writers * PerWriter / 6, Count(meterPath, "SELECT COUNT(*) FROM invocations;"));

        await Task.WhenAll(Enumerable.Range(0, Writers).Select(w => Task.Run(() => Append(w, PerWriter / 2, PerWriter))));
        await logs.StopAsync(CancellationToken.None);
        await meter.StopAsync(CancellationToken.None);

        for (var w = 0; w < Writers; w++)
        {
            var events = await logs.GetStreamEventsAsync(group, $"2026/12/07/[$LATEST]w{w}", 0, long.MaxValue, null, null, forward: true, 10_000, CancellationToken.None);
            Assert.Equal(Enumerable.Range(0, PerWriter).Select(i => $"line {i} of w{w}"), events.Select(e => e.Message));
            Assert.Equal(events.OrderBy(e => e.Id), events);
        }

        Assert.Equal(Writers * PerWriter / 3, Count(meterPath, "SELECT COUNT(DISTINCT request_id) FROM invocations;"));
        Assert.Equal(Writers * PerWriter / 3, Count(meterPath, "SELECT SUM(invocations) FROM minute_rollup;"));
        logs.Dispose();
        meter.Dispose();
    }

    [Fact]
    public async Task Metering_retention_deletes_rows_past_it_and_keeps_the_rest()
    {
        var path = Path.Combine(_directory, "metrics.db");
        var store = new MeteringStore(new SqliteDatabase(path, MeteringMigrations.All),
            Options.Create(new MetricsOptions { MeteringRetentionDays = 400, MetricSampleRetentionDays = 15 }), TimeProvider.System, NullLogger<MeteringStore>.Instance);
        var now = DateTimeOffset.UtcNow;
        InvocationRecord Record(string id, DateTimeOffset start) =>
            new(id, "fn", "fn", "$LATEST", start, 1.5, 2, 128, 60, null, InvocationOutcome.Success, 1);
        AsyncSample Age(DateTimeOffset at) => new(at, (int)AsyncEventMetric.Age, "fn", "fn", new Aggregate(1, 5, 5, 5));

        await store.WriteAsync(
            [Record("expired", now.AddDays(-401)), Record("kept-old", now.AddDays(-399)), Record("kept-new", now.AddMinutes(-1))],
            [Age(now.AddDays(-16)), Age(now.AddDays(-14)), Age(now.AddMinutes(-1))]);

        Assert.Equal(1 + 1 + 1, store.SweepRetention(now)); // an invocation, its minute's rollup, a sample
        Assert.Equal(0, store.SweepRetention(now));

        using var connection = Open(path);
        Assert.Equal(["kept-new", "kept-old"], Query(connection, "SELECT request_id FROM invocations ORDER BY 1;", r => r.GetString(0)));
        Assert.Equal(
            [MeteringStore.MinuteOf(now.AddDays(-399)), MeteringStore.MinuteOf(now.AddMinutes(-1))],
            Query(connection, "SELECT minute FROM minute_rollup ORDER BY 1;", r => r.GetInt64(0)));
        Assert.Equal(
            [now.AddDays(-14).ToUnixTimeMilliseconds(), now.AddMinutes(-1).ToUnixTimeMilliseconds()],
            Query(connection, "SELECT at_ms FROM async_samples ORDER BY 1;", r => r.GetInt64(0)));

        // The per-minute statistics of the samples follow the metering retention.
        Assert.Equal(3, Query(connection, "SELECT minute FROM async_rollup;", r => r.GetInt64(0)).Count);
    }

    private static void Execute(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    private static SqliteConnection Open(string path)
    {
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString());
        connection.Open();
        return connection;
    }

    private static List<T> Query<T>(SqliteConnection connection, string sql, Func<SqliteDataReader, T> read)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        using var reader = command.ExecuteReader();
        var rows = new List<T>();
        while (reader.Read())
        {
            rows.Add(read(reader));
        }

        return rows;
    }
}
