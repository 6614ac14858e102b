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
    public void Log_writer_stores_every_line_in_order_with_distinct_ids_and_exact_stream_totals()
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
        Assert.Equal(
            lines.Select(l => (l.LogStream, l.TimestampMs, l.Message)).Concat([(a, 1_010L, "START a3"), (a, 1_010L, "END a3"), (a, 1_011L, "REPORT a3")]),
            rows.Select(r => (r.Stream, r.Timestamp, r.Message)));

        var streams = Query(connection, "SELECT name, first_event, last_event, stored_bytes FROM log_streams ORDER BY name;",
            r => (Name: r.GetString(0), First: r.GetInt64(1), Last: r.GetInt64(2), Bytes: r.GetInt64(3)));
        long Bytes(string stream) => rows.Where(r => r.Stream == stream).Sum(r => LogStore.EventSize(r.Message));
        Assert.Equal([(a, 1_000L, 1_011L, Bytes(a)), (b, 900L, 904L, Bytes(b))], streams.Select(s => (s.Name, s.First, s.Last, s.Bytes)));
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
