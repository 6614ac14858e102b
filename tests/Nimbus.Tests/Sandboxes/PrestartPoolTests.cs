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
    public async Task Nothing_starts_without_room_and_a_runtime_that_dies_unused_pauses_its_shape()
    {
        var harness = new Harness(perShape: 1) { Room = false };
        harness.Pool.Keep(Node);
        Assert.Empty(harness.Started);

        harness.Room = true;
        Assert.Null(harness.Pool.TryTake(Python));
        await harness.WaitForStartsAsync(1);
        harness.Sandboxes[0].Exit();
        await harness.WaitForStopsAsync(1);

        // Paused: a demand neither gets the dead runtime nor starts another one in a loop.
        Assert.Null(harness.Pool.TryTake(Python));
        Assert.Single(harness.Started);
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

        public Harness(int perShape)
        {
            Pool = new PrestartPool(perShape, StartAsync, StopAsync, () => Room, Time, NullLogger.Instance);
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
