using Microsoft.Extensions.Logging.Abstractions;
using Nimbus.Sandboxes;

namespace Nimbus.Tests.Sandboxes;

public sealed class PrestartPoolTests
{
    private static readonly PrestartKey Node = new(RuntimeFamily.Node, "/usr/bin/node", 108, 512);
    private static readonly PrestartKey Python = new(RuntimeFamily.Python, "/usr/bin/python3", 0, 512);

    [Fact]
    public async Task A_kept_shape_is_filled_and_a_taken_runtime_is_replaced()
    {
        var harness = new Harness(perShape: 2);
        harness.Pool.Keep(Node);
        await harness.WaitForStartsAsync(2);

        var taken = harness.Pool.TryTake(Node);
        await harness.WaitForStartsAsync(3);

        Assert.NotNull(taken);
        Assert.Equal(Node, taken.Key);
        Assert.Empty(harness.Stopped);
    }

    [Fact]
    public async Task A_runtime_that_already_waits_for_its_function_is_taken_before_one_still_loading()
    {
        var harness = new Harness(perShape: 2);
        harness.Pool.Keep(Node);
        await harness.WaitForStartsAsync(2);
        var loaded = harness.Started[1];
        _ = loaded.WaitForAssignmentAsync(CancellationToken.None);

        Assert.Same(loaded, harness.Pool.TryTake(Node));
    }

    [Fact]
    public async Task A_shape_nobody_kept_joins_on_demand_and_the_first_demand_gets_nothing()
    {
        var harness = new Harness(perShape: 1);

        Assert.Null(harness.Pool.TryTake(Python));
        await harness.WaitForStartsAsync(1);
        Assert.Equal(Python, harness.Started[0].Key);
        Assert.Same(harness.Started[0], harness.Pool.TryTake(Python));
    }

    [Fact]
    public async Task Nothing_starts_without_room_and_a_runtime_that_dies_unused_once_is_replaced()
    {
        var full = new Harness(perShape: 1) { Room = false };
        full.Pool.Keep(Node);
        Assert.Empty(full.Started);

        var harness = new Harness(perShape: 1);
        Assert.Null(harness.Pool.TryTake(Python));
        await harness.WaitForStartsAsync(1);
        harness.Sandboxes[0].Exit();
        await harness.WaitForStopsAsync(1);

        // One death is not a broken runtime: the next one starts at once, without waiting for a demand.
        await harness.WaitForStartsAsync(2);
        Assert.Equal(Python, harness.Started[1].Key);
        Assert.Same(harness.Started[1], harness.Pool.TryTake(Python));
    }

    [Fact]
    public async Task A_pool_that_had_no_room_refills_when_room_comes_back_without_waiting_for_a_cold_start()
    {
        var harness = new Harness(perShape: 2) { Room = false };
        harness.Pool.Keep(Node);
        Assert.Empty(harness.Started);

        harness.Room = true;
        harness.Pool.Refill();

        await harness.WaitForStartsAsync(2);
        Assert.Equal((2, 2), harness.Pool.StatusOf(Node));
    }

    [Fact]
    public async Task Runtimes_that_die_unused_again_and_again_pause_their_shape()
    {
        var harness = new Harness(perShape: 1);
        Assert.Null(harness.Pool.TryTake(Python));
        for (var death = 1; death <= PrestartPool.FailuresBeforePause; death++)
        {
            await harness.WaitForStartsAsync(death);
            harness.Sandboxes[death - 1].Exit();
            await harness.WaitForStopsAsync(death);
        }

        // Paused: a demand neither gets a dead runtime nor starts another one in a loop.
        Assert.Null(harness.Pool.TryTake(Python));
        await Task.Delay(50);
        Assert.Equal(PrestartPool.FailuresBeforePause, harness.Started.Count);

        harness.Time.Advance(PrestartPool.FailurePause);
        Assert.Null(harness.Pool.TryTake(Python));
        await harness.WaitForStartsAsync(PrestartPool.FailuresBeforePause + 1);
    }

    [Fact]
    public async Task A_runtime_that_loaded_resets_the_count_of_deaths()
    {
        var harness = new Harness(perShape: 1);
        Assert.Null(harness.Pool.TryTake(Python));
        await harness.WaitForStartsAsync(1);
        harness.Sandboxes[0].Exit();
        await harness.WaitForStartsAsync(2);
        _ = harness.Started[1].WaitForAssignmentAsync(CancellationToken.None);
        await Task.Delay(20);
        harness.Sandboxes[1].Exit();
        await harness.WaitForStartsAsync(3);
        harness.Sandboxes[2].Exit();

        // Two deaths in a row since the last load: still replaced.
        await harness.WaitForStartsAsync(4);
    }

    [Fact]
    public async Task A_pool_drained_faster_than_it_refills_grows_to_its_cap_and_returns_to_its_floor_after_a_quiet_period()
    {
        var harness = new Harness(perShape: 1, cap: 8);
        harness.Pool.Keep(Node);
        await harness.WaitForStartsAsync(1);

        // Three cold starts back to back, each finding its runtime still loading: 1 -> 2 -> 4 -> 8.
        for (var take = 0; take < 3; take++)
        {
            Assert.NotNull(harness.Pool.TryTake(Node));
            await Task.Delay(20);
        }

        Assert.Equal(8, harness.Pool.StatusOf(Node).Target);
        await harness.WaitForStartsAsync(3 + 8);
        Assert.Equal(8, harness.Pool.StatusOf(Node).Kept);

        // A quiet period shorter than shrinkAfter keeps it; past it the pool returns to the floor and stops the rest.
        harness.Time.Advance(Harness.ShrinkAfter / 2);
        harness.Pool.ReapUnused(harness.Time.GetUtcNow() - TimeSpan.FromHours(1));
        Assert.Equal((8, 8), harness.Pool.StatusOf(Node));
        harness.Time.Advance(Harness.ShrinkAfter);
        harness.Pool.ReapUnused(harness.Time.GetUtcNow() - TimeSpan.FromHours(1));
        await harness.WaitForStopsAsync(7);
        Assert.Equal((1, 1), harness.Pool.StatusOf(Node));
    }

    [Fact]
    public async Task The_shape_cold_starts_drain_now_is_refilled_before_one_drained_earlier()
    {
        var harness = new Harness(perShape: 2, cap: 8, maxLoading: 1);
        harness.Pool.Keep(Node);
        harness.Pool.Keep(Python);
        for (var loaded = 0; loaded < 4; loaded++)
        {
            await harness.WaitForStartsAsync(loaded + 1);
            _ = harness.Started[loaded].WaitForAssignmentAsync(CancellationToken.None);
        }

        await Task.Delay(50);

        // Node drained earlier, python now: once the one start in flight (node's) has loaded, python's replacement starts
        // before node's second.
        _ = harness.Pool.TryTake(Node);
        _ = harness.Pool.TryTake(Node);
        await harness.WaitForStartsAsync(5);
        harness.Time.Advance(TimeSpan.FromSeconds(1));
        _ = harness.Pool.TryTake(Python);
        _ = harness.Started[4].WaitForAssignmentAsync(CancellationToken.None);
        await harness.WaitForStartsAsync(6);

        Assert.Equal(Node, harness.Started[4].Key);
        Assert.Equal(Python, harness.Started[5].Key);
    }

    [Fact]
    public async Task A_function_scaling_out_does_not_grow_the_pool()
    {
        var harness = new Harness(perShape: 1, cap: 8);
        harness.Pool.Keep(Node);
        await harness.WaitForStartsAsync(1);

        for (var take = 0; take < 3; take++)
        {
            Assert.NotNull(harness.Pool.TryTake(Node, mayGrow: false));
            await Task.Delay(20);
        }

        Assert.Equal(1, harness.Pool.StatusOf(Node).Target);
    }

    [Fact]
    public async Task A_take_that_finds_a_runtime_waiting_does_not_grow_the_pool()
    {
        var harness = new Harness(perShape: 1, cap: 8);
        harness.Pool.Keep(Node);
        await harness.WaitForStartsAsync(1);
        _ = harness.Started[0].WaitForAssignmentAsync(CancellationToken.None);

        Assert.Same(harness.Started[0], harness.Pool.TryTake(Node));
        await harness.WaitForStartsAsync(2);

        Assert.Equal((1, 1), harness.Pool.StatusOf(Node));
    }

    [Fact]
    public async Task At_most_maxLoading_runtimes_load_at_once_and_the_next_starts_when_one_has_loaded()
    {
        var harness = new Harness(perShape: 4, maxLoading: 2);
        harness.Pool.Keep(Node);
        await harness.WaitForStartsAsync(2);
        await Task.Delay(50);
        Assert.Equal(2, harness.Started.Count);

        _ = harness.Started[0].WaitForAssignmentAsync(CancellationToken.None);
        await harness.WaitForStartsAsync(3);
        await Task.Delay(50);
        Assert.Equal(3, harness.Started.Count);
    }

    [Fact]
    public async Task An_instance_that_needs_a_port_takes_it_from_the_deepest_shape()
    {
        var harness = new Harness(perShape: 1, cap: 4);
        harness.Pool.Keep(Python);
        harness.Pool.Keep(Node);
        await harness.WaitForStartsAsync(2);
        _ = harness.Pool.TryTake(Node);
        await harness.WaitForStartsAsync(4);

        Assert.Equal(Node, harness.Pool.TryTakeAny()!.Key);
        Assert.Equal(Python, harness.Pool.TryTakeAny()!.Key);
    }

    [Fact]
    public async Task An_unassigned_runtime_keeps_its_last_lines_of_output_and_an_assigned_one_hands_them_to_its_instance()
    {
        var runtime = new PrestartedRuntime(Node, "r1", 40000, 20001);
        for (var line = 1; line <= PrestartedRuntime.KeptLines + 2; line++)
        {
            await runtime.OnOutputLineAsync($"line {line}");
        }

        Assert.Equal(string.Join(" | ", Enumerable.Range(3, PrestartedRuntime.KeptLines).Select(n => $"line {n}")), runtime.RecentOutput());

        List<string> instanceLog = [];
        runtime.Assign(new Dictionary<string, string>(), line =>
        {
            instanceLog.Add(line);
            return ValueTask.CompletedTask;
        });
        await runtime.OnOutputLineAsync("after");
        Assert.Equal(["after"], instanceLog);
    }

    [Fact]
    public async Task Unused_shapes_leave_after_the_cutoff_but_kept_ones_stay()
    {
        var harness = new Harness(perShape: 1);
        harness.Pool.Keep(Node);
        _ = harness.Pool.TryTake(Python);
        await harness.WaitForStartsAsync(2);

        harness.Time.Advance(TimeSpan.FromMinutes(11));
        harness.Pool.ReapUnused(harness.Time.GetUtcNow() - TimeSpan.FromMinutes(10));
        await harness.WaitForStopsAsync(1);

        Assert.Equal(Python, Assert.Single(harness.Stopped).Key);
        Assert.NotNull(harness.Pool.TryTake(Node));
    }

    [Fact]
    public async Task Stopping_the_pool_stops_every_unused_runtime_and_starts_no_more()
    {
        var harness = new Harness(perShape: 2);
        harness.Pool.Keep(Node);
        await harness.WaitForStartsAsync(2);

        await harness.Pool.StopAllAsync();

        Assert.Equal(2, harness.Stopped.Count);
        Assert.Null(harness.Pool.TryTake(Node));
        Assert.Equal(2, harness.Started.Count);
    }

    private sealed class Harness
    {
        private int _nextPort = 40000;

        public static readonly TimeSpan ShrinkAfter = TimeSpan.FromMinutes(1);

        public Harness(int perShape, int? cap = null, int maxLoading = 16)
        {
            Pool = new PrestartPool(perShape, cap ?? perShape, maxLoading, ShrinkAfter, StartAsync, StopAsync, () => Room, Time, NullLogger.Instance);
        }

        public ManualTime Time { get; } = new();

        public PrestartPool Pool { get; }

        public bool Room { get; set; } = true;

        public List<PrestartedRuntime> Started { get; } = [];

        public List<FakeSandbox> Sandboxes { get; } = [];

        public List<PrestartedRuntime> Stopped { get; } = [];

        public async Task WaitForStartsAsync(int count)
        {
            var deadline = DateTime.UtcNow.AddSeconds(10);
            while (Count(Started) < count)
            {
                Assert.True(DateTime.UtcNow < deadline, $"Expected {count} runtimes started; {Count(Started)} were.");
                await Task.Delay(5);
            }

            // The pool adds a runtime after its start completes; let that continuation run.
            await Task.Delay(20);
        }

        public async Task WaitForStopsAsync(int count)
        {
            var deadline = DateTime.UtcNow.AddSeconds(10);
            while (Count(Stopped) < count)
            {
                Assert.True(DateTime.UtcNow < deadline, $"Expected {count} runtimes stopped; {Count(Stopped)} were.");
                await Task.Delay(5);
            }
        }

        private static int Count(List<PrestartedRuntime> list)
        {
            lock (list)
            {
                return list.Count;
            }
        }

        private async Task<PrestartedRuntime?> StartAsync(PrestartKey key)
        {
            await Task.Yield();
            var sandbox = new FakeSandbox();
            var runtime = new PrestartedRuntime(key, Guid.NewGuid().ToString("N"), Interlocked.Increment(ref _nextPort), 20001);
            runtime.Attach(sandbox);
            lock (Started)
            {
                Sandboxes.Add(sandbox);
                Started.Add(runtime);
            }

            return runtime;
        }

        private Task StopAsync(PrestartedRuntime runtime)
        {
            lock (Stopped)
            {
                Stopped.Add(runtime);
            }

            return Task.CompletedTask;
        }
    }

    private sealed class ManualTime : TimeProvider
    {
        private DateTimeOffset _now = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

        public override DateTimeOffset GetUtcNow() => _now;

        public void Advance(TimeSpan by) => _now += by;
    }

    private sealed class FakeSandbox : ISandbox
    {
        private readonly TaskCompletionSource<SandboxExit> _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public int ProcessId => 1;

        public int? UserId => 20001;

        public Task<SandboxExit> Exited => _exited.Task;

        public bool OutOfMemory => false;

        public void Exit() => _exited.TrySetResult(new SandboxExit(1, 1, null));

        public void Kill() => Exit();

        public long PeakMemoryBytes() => 0;

        public void Freeze()
        {
        }

        public void Thaw()
        {
        }

        public void Specialize(string codeDirectory, int memoryMb)
        {
        }

        public Task DrainOutputAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public ValueTask DisposeAsync()
        {
            Exit();
            return ValueTask.CompletedTask;
        }
    }
}
