#pragma warning disable
using System.Runtime.InteropServices;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Nimbus.Invocation;
using Nimbus.Metrics;
using Nimbus.Storage;
using Xunit.Abstractions;

namespace Nimbus.Tests;

// CPU per invocation of the log and metering writers: the code before issue 9's rework (copied below as OldWrite /
// OldMeter: a pooled connection per batch, Microsoft.Data.Sqlite binding every parameter by name per row,
// synchronous=FULL) against the writers in src/ (LogStore.Write, MeteringStore.WriteAsync), alternating in one
// process, on real SQLite files in a temp directory. It reads the calling thread's CPU time (CLOCK_THREAD_CPUTIME_ID,
// kernel time of fsync included), so the figure holds on a loaded machine. Not part of any project (it would cost
// CI time and asserts nothing); to run it:
//
//   cp bench/writer_cpu_harness.cs tests/Nimbus.Tests/ && dotnet build tests/Nimbus.Tests -c Release
//   HARNESS_BATCH=600 dotnet test tests/Nimbus.Tests -c Release --no-build --filter "FullyQualifiedName~WriterCpuHarness" \
//       --logger "console;verbosity=detailed" | grep -E "^ (logs|meter)"
//   rm tests/Nimbus.Tests/writer_cpu_harness.cs
//
// HARNESS_BATCH is log lines per batch (3 per invocation): 600 is the 100 ms window at 2,000 invokes/s.
public sealed partial class WriterCpuHarness(ITestOutputHelper output)
{
    [StructLayout(LayoutKind.Sequential)]
    private struct Timespec { public long Sec; public long Nsec; }

#pragma warning disable SYSLIB1054, CA5392
    [DllImport("libc")]
    private static extern int clock_gettime(int clock, out Timespec ts);
#pragma warning restore SYSLIB1054, CA5392

    private static double ThreadCpuUs() { _ = clock_gettime(3, out var t); return t.Sec * 1e6 + t.Nsec / 1e3; }

    private const int Invokes = 6_000;
    private static readonly int PerBatch = int.Parse(Environment.GetEnvironmentVariable("HARNESS_BATCH") ?? "150");

    private static List<LogEvent> Lines(int n, int offset)
    {
        var list = new List<LogEvent>();
        var group = "/aws/lambda/bench-metering";
        var streams = Enumerable.Range(0, 10).Select(i => $"2026/12/06/[$LATEST]{Guid.NewGuid():N}").ToArray();
        var t = 1_765_000_000_000L;
        for (var i = 0; i < n; i++)
        {
            var id = Guid.NewGuid().ToString();
            var s = streams[i % 10];
            list.Add(new LogEvent(group, s, t + i, $"START RequestId: {id} Version: $LATEST"));
            list.Add(new LogEvent(group, s, t + i, $"END RequestId: {id}"));
            list.Add(new LogEvent(group, s, t + i, $"REPORT RequestId: {id}\tDuration: 0.51 ms\tBilled Duration: 1 ms\tMemory Size: 128 MB\tMax Memory Used: 61 MB\t"));
        }
        return list;
    }

    [Fact]
    public async Task Logs()
    {
        for (var round = 0; round < 3; round++)
        {
            foreach (var mode in new[] { "old", "new" })
            {
                var dir = Directory.CreateTempSubdirectory("harness-").FullName;
                var db = new SqliteDatabase(Path.Combine(dir, "logs.db"), LogMigrations.All);
                var store = new LogStore(db, TimeProvider.System, NullLogger<LogStore>.Instance);
                var lines = Lines(Invokes, 0);
                // warm
                var warm = Lines(300, 0);
                double cpu;
                if (mode == "old")
                {
                    await OldWrite(db, warm.Take(PerBatch).ToList());
                    var start = ThreadCpuUs();
                    for (var i = 0; i < lines.Count; i += PerBatch)
                    {
                        await OldWrite(db, lines.Skip(i).Take(PerBatch).ToList());
                    }
                    cpu = ThreadCpuUs() - start;
                }
                else
                {
                    store.Write(warm.Take(PerBatch).ToList());
                    var start = ThreadCpuUs();
                    for (var i = 0; i < lines.Count; i += PerBatch)
                    {
                        store.Write(lines.Skip(i).Take(PerBatch).ToList());
                    }
                    cpu = ThreadCpuUs() - start;
                }
                output.WriteLine($"logs {mode}: {cpu / Invokes:F1} us thread CPU per invoke (3 lines)");
                Directory.Delete(dir, true);
            }
        }
    }

    private static async Task OldWrite(SqliteDatabase database, List<LogEvent> events)
    {
        await using var connection = await database.OpenAsync(CancellationToken.None);
        await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync();
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        await using (var command = connection.CreateCommand())
        {
            command.Transaction = transaction;
            command.CommandText = "INSERT INTO log_events (log_group, log_stream, timestamp, ingestion_time, message) VALUES ($group, $stream, $timestamp, $ingestion, $message);";
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
                await command.ExecuteNonQueryAsync();
            }
        }
        var streams = new Dictionary<(string, string), (long, long, long)>();
        foreach (var item in events)
        {
            var size = LogStore.EventSize(item.Message);
            streams[(item.LogGroup, item.LogStream)] = streams.TryGetValue((item.LogGroup, item.LogStream), out var seen)
                ? (Math.Min(seen.Item1, item.TimestampMs), Math.Max(seen.Item2, item.TimestampMs), seen.Item3 + size) : (item.TimestampMs, item.TimestampMs, size);
        }
        await using var upsert = connection.CreateCommand();
        upsert.Transaction = transaction;
        upsert.CommandText = "INSERT INTO log_groups (name, creation_time) VALUES ($group, $now) ON CONFLICT (name) DO NOTHING;" + """
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
        foreach (var ((gn, sn), (f, l, b)) in streams)
        {
            g.Value = gn; s.Value = sn; first.Value = f; last.Value = l; bytes.Value = b;
            await upsert.ExecuteNonQueryAsync();
        }
        await transaction.CommitAsync();
    }

    [Fact]
    public async Task Metering()
    {
        for (var round = 0; round < 3; round++)
        {
            foreach (var mode in new[] { "old", "new" })
            {
                var dir = Directory.CreateTempSubdirectory("harness-").FullName;
                var db = new SqliteDatabase(Path.Combine(dir, "metrics.db"), MeteringMigrations.All);
                var store = new MeteringStore(db, Options.Create(new MetricsOptions()), TimeProvider.System, NullLogger<MeteringStore>.Instance);
                var records = Enumerable.Range(0, Invokes).Select(i => new InvocationRecord(Guid.NewGuid().ToString(), "bench-metering", "bench-metering", "$LATEST",
                    DateTimeOffset.UtcNow, 0.5 + i % 7, 1, 128, 61, null, InvocationOutcome.Success, 1 + i % 32)).ToList();
                var batch = 500; // 100 ms at 5,000/s
                await store.WriteAsync(records.Take(batch).ToList());
                var start = ThreadCpuUs();
                for (var i = 0; i < records.Count; i += batch)
                {
                    var part = records.Skip(i).Take(batch).ToList();
                    if (mode == "old") { await OldMeter(db, part); } else { await store.WriteAsync(part); }
                }
                var cpu = ThreadCpuUs() - start;
                output.WriteLine($"meter {mode}: {cpu / Invokes:F1} us thread CPU per invoke (rows only for old; rows+rollup for new)");
                Directory.Delete(dir, true);
            }
        }
    }

    private static async Task OldMeter(SqliteDatabase database, List<InvocationRecord> batch)
    {
        await using var connection = await database.OpenAsync(CancellationToken.None);
        await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync();
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = """
            INSERT INTO invocations (request_id, function_name, resource, executed_version, start_ms, duration_ms, billed_ms,
                memory_mb, max_memory_mb, init_ms, cold_start, outcome, concurrency)
            VALUES ($id, $fn, $res, $ver, $start, $dur, $billed, $mem, $maxmem, $init, $cold, $outcome, $conc);
            """;
        var id = command.Parameters.Add("$id", SqliteType.Text);
        var fn = command.Parameters.Add("$fn", SqliteType.Text);
        var res = command.Parameters.Add("$res", SqliteType.Text);
        var ver = command.Parameters.Add("$ver", SqliteType.Text);
        var start = command.Parameters.Add("$start", SqliteType.Integer);
        var dur = command.Parameters.Add("$dur", SqliteType.Real);
        var billed = command.Parameters.Add("$billed", SqliteType.Integer);
        var mem = command.Parameters.Add("$mem", SqliteType.Integer);
        var maxmem = command.Parameters.Add("$maxmem", SqliteType.Integer);
        var init = command.Parameters.Add("$init", SqliteType.Real);
        var cold = command.Parameters.Add("$cold", SqliteType.Integer);
        var outcome = command.Parameters.Add("$outcome", SqliteType.Integer);
        var conc = command.Parameters.Add("$conc", SqliteType.Integer);
        foreach (var record in batch)
        {
            id.Value = record.RequestId; fn.Value = record.FunctionName; res.Value = record.Resource; ver.Value = record.ExecutedVersion;
            start.Value = record.Start.ToUnixTimeMilliseconds(); dur.Value = record.DurationMs; billed.Value = record.BilledMs;
            mem.Value = record.MemorySizeMb; maxmem.Value = record.MaxMemoryUsedMb; init.Value = record.InitDurationMs is { } ms ? ms : DBNull.Value;
            cold.Value = record.ColdStart ? 1 : 0; outcome.Value = (int)record.Outcome; conc.Value = record.ConcurrentExecutions;
            command.ExecuteNonQuery();
        }
        await transaction.CommitAsync();
    }
}
