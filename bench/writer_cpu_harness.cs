#pragma warning disable
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Nimbus.Invocation;
using Nimbus.Metrics;
using Nimbus.Storage;
using Xunit.Abstractions;

namespace Nimbus.Tests;

// CPU per invocation of the REAL log and metering writers (LogStore.Write, MeteringStore.WriteAsync) on real SQLite
// files in a temp directory: no copy of any writer code, so it measures whatever src/ holds. It reads the calling
// thread's CPU time (CLOCK_THREAD_CPUTIME_ID, kernel time of the WAL writes included), so the figure holds on a
// loaded machine. For an A/B, run it on two commits (e.g. `git stash` / a `git archive` of the base) in the same
// minutes. Not part of any project (it would cost CI time and asserts nothing); to run it:
//
//   cp bench/writer_cpu_harness.cs tests/Nimbus.Tests/ && dotnet build tests/Nimbus.Tests -c Release
//   HARNESS_BATCH=600 dotnet test tests/Nimbus.Tests -c Release --no-build --filter "FullyQualifiedName~WriterCpuHarness" \
//       --logger "console;verbosity=detailed" | grep -E "^ (logs|meter)"
//   rm tests/Nimbus.Tests/writer_cpu_harness.cs
//
// HARNESS_BATCH is log lines per batch (3 per invocation): 600 is the 100 ms window at 2,000 invokes/s.
public sealed class WriterCpuHarness(ITestOutputHelper output)
{
    [StructLayout(LayoutKind.Sequential)]
    private struct Timespec { public long Sec; public long Nsec; }

#pragma warning disable SYSLIB1054, CA5392
    [DllImport("libc")]
    private static extern int clock_gettime(int clock, out Timespec ts);
#pragma warning restore SYSLIB1054, CA5392

    private static double ThreadCpuUs() { _ = clock_gettime(3, out var t); return t.Sec * 1e6 + t.Nsec / 1e3; }

    private const int Invokes = 12_000;
    private const int Rounds = 5;
    private static readonly int PerBatch = int.Parse(Environment.GetEnvironmentVariable("HARNESS_BATCH") ?? "600");

    // As warm instances write them into the channel: START, END and REPORT of one invocation, one stream per instance
    // (HARNESS_STREAMS, default 6: the node keeps 4-6 instances of a short function), the instances' invocations
    // overlapping, so a batch interleaves streams: each instance's START, then each one's END and REPORT (back to
    // back, as SandboxInstance writes them), END/REPORT in the START's millisecond for every other invocation.
    private static readonly int Streams = int.Parse(Environment.GetEnvironmentVariable("HARNESS_STREAMS") ?? "6");

    // HARNESS_FRESH_GROUP=1: every line names its group with a string of its own, as SandboxInstance did until
    // 2026-12-07 (FunctionRecord.EffectiveLogGroup formatted it per line), which kept the writer from seeing runs.
    private static readonly bool FreshGroup = Environment.GetEnvironmentVariable("HARNESS_FRESH_GROUP") == "1";

    private static string Group(string group) => FreshGroup ? new string(group.AsSpan()) : group;

    private static List<LogEvent> Lines(int invokes)
    {
        var list = new List<LogEvent>(invokes * 3);
        var group = "/aws/lambda/bench-metering";
        var streams = Enumerable.Range(0, Streams).Select(i => $"2026/12/06/[$LATEST]{Guid.NewGuid():N}").ToArray();
        var t = 1_765_000_000_000L;
        for (var i = 0; i < invokes; i += Streams)
        {
            var ids = Enumerable.Range(0, Math.Min(Streams, invokes - i)).Select(_ => Guid.NewGuid().ToString()).ToArray();
            for (var k = 0; k < ids.Length; k++)
            {
                list.Add(new LogEvent(Group(group), streams[k], t + i, $"START RequestId: {ids[k]} Version: $LATEST"));
            }

            for (var k = 0; k < ids.Length; k++)
            {
                var end = t + i + ((i / Streams) + k) % 2;
                list.Add(new LogEvent(Group(group), streams[k], end, $"END RequestId: {ids[k]}"));
                list.Add(new LogEvent(Group(group), streams[k], end, $"REPORT RequestId: {ids[k]}\tDuration: 0.51 ms\tBilled Duration: 1 ms\tMemory Size: 128 MB\tMax Memory Used: 61 MB\t"));
            }
        }

        return list;
    }

    [Fact]
    public void Logs()
    {
        var figures = new List<double>();
        for (var round = 0; round < Rounds; round++)
        {
            var dir = Directory.CreateTempSubdirectory("harness-").FullName;
            var store = new LogStore(new SqliteDatabase(Path.Combine(dir, "logs.db"), LogMigrations.All), TimeProvider.System, NullLogger<LogStore>.Instance);
            var lines = Lines(Invokes);
            var batches = lines.Chunk(PerBatch).Select(b => b.ToList()).ToList();
            store.Write(Lines(PerBatch / 3));
            var start = ThreadCpuUs();
            foreach (var batch in batches)
            {
                store.Write(batch);
            }

            figures.Add((ThreadCpuUs() - start) / Invokes);
            store.Dispose();
            Directory.Delete(dir, true);
        }

        output.WriteLine($"logs: {string.Join(" ", figures.Select(f => f.ToString("F1")))} us thread CPU per invoke (3 lines, {PerBatch} lines per batch, {Streams} streams); median {figures.Order().ElementAt(Rounds / 2):F1}");
    }

    [Fact]
    public async Task Metering()
    {
        var figures = new List<double>();
        for (var round = 0; round < Rounds; round++)
        {
            var dir = Directory.CreateTempSubdirectory("harness-").FullName;
            var store = new MeteringStore(new SqliteDatabase(Path.Combine(dir, "metrics.db"), MeteringMigrations.All), Options.Create(new MetricsOptions()), TimeProvider.System, NullLogger<MeteringStore>.Instance);
            var records = Enumerable.Range(0, Invokes).Select(i => new InvocationRecord(Guid.NewGuid().ToString(), "bench-metering", "bench-metering", "$LATEST",
                DateTimeOffset.UtcNow, 0.5 + i % 7, 1, 128, 61, null, InvocationOutcome.Success, 1 + i % 32)).ToList();
            var batches = records.Chunk(PerBatch / 3).Select(b => b.ToList()).ToList();
            await store.WriteAsync(batches[0]);
            var start = ThreadCpuUs();
            foreach (var batch in batches)
            {
                await store.WriteAsync(batch);
            }

            figures.Add((ThreadCpuUs() - start) / Invokes);
            store.Dispose();
            Directory.Delete(dir, true);
        }

        output.WriteLine($"meter: {string.Join(" ", figures.Select(f => f.ToString("F1")))} us thread CPU per invoke (rows + rollup, {PerBatch / 3} per batch); median {figures.Order().ElementAt(Rounds / 2):F1}");
    }
}
