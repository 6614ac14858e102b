using Microsoft.Extensions.Logging.Abstractions;
using Nimbus.Functions;
using Nimbus.Sandboxes;
using Nimbus.Storage;

namespace Nimbus.Tests.Sandboxes;

/// <summary>
/// An idle instance is frozen <see cref="SandboxInstance.FreezeDelay"/> after it last became idle (waiting on /next), never
/// while it runs an invocation, and thawed before its next one; under steady use its freeze timer is not moved per
/// invocation. Time is driven by the test: the instance's timers fire only when it advances the clock.
/// </summary>
public sealed class FreezeTimerTests : IDisposable
{
    private static readonly TimeSpan Gap = TimeSpan.FromMilliseconds(1);

    private readonly string _directory = Directory.CreateTempSubdirectory("nimbus-freeze-").FullName;
    private readonly ManualTime _time = new();
    private readonly CountingSandbox _sandbox = new();
    private readonly SandboxInstance _instance;
    private Task<PendingInvocation?> _next = Task.FromResult<PendingInvocation?>(null);
    private int _invocations;

    public FreezeTimerTests()
    {
        var logs = new LogStore(new SqliteDatabase(Path.Combine(_directory, "logs.db"), LogMigrations.All), _time, NullLogger<LogStore>.Instance, discard: true);
        var function = new FunctionRecord
        {
            Name = "freeze",
            Runtime = "nodejs20.x",
            Handler = "index.handler",
            Role = "arn:aws:iam::000000000000:role/freeze",
            CodeSha256Hex = new string('0', 64),
            CodeSize = 1,
            LastModified = _time.GetUtcNow(),
            RevisionId = "1",
        };
        _instance = new SandboxInstance(function, 9001, logs, _time);
        _instance.Attach(_sandbox);
    }

    [Fact]
    public async Task An_instance_used_every_millisecond_is_never_frozen_and_freezes_FreezeDelay_after_its_last_invocation()
    {
        await StartIdleAsync();

        // 40 ms of traffic, an invocation every millisecond: longer than FreezeDelay, yet never idle that long.
        for (var i = 0; i < 40; i++)
        {
            _time.Advance(Gap);
            await InvokeAsync();
        }

        Assert.Equal(0, _sandbox.Freezes);

        _time.Advance(SandboxInstance.FreezeDelay - TimeSpan.FromTicks(1));
        Assert.Equal(0, _sandbox.Freezes);
        _time.Advance(TimeSpan.FromTicks(1));
        Assert.Equal(1, _sandbox.Freezes);

        // Thawed before its next event reaches the runtime.
        _instance.TakeForInvocation();
        Assert.Equal(1, _sandbox.Thaws);
    }

    [Fact]
    public async Task Under_steady_use_the_freeze_timer_is_set_about_once_per_FreezeDelay_not_once_per_invocation()
    {
        // Not a fix: the old code froze at the same moments, but moved the timer (a timer queue's lock) on every invocation.
        await StartIdleAsync();
        var before = _time.FreezeTimerChanges;

        for (var i = 0; i < 40; i++)
        {
            _time.Advance(Gap);
            await InvokeAsync();
        }

        // 40 invocations in 40 ms: the timer fired about four times, each time finding the instance used meanwhile.
        var changes = _time.FreezeTimerChanges - before;
        Assert.True(changes <= 6, $"The freeze timer was set {changes} times for 40 invocations in 40 ms; about one per {SandboxInstance.FreezeDelay.TotalMilliseconds} ms expected.");
        Assert.Equal(0, _sandbox.Freezes);
    }

    [Fact]
    public async Task An_instance_whose_runtime_has_not_asked_for_its_next_event_is_not_frozen()
    {
        await StartIdleAsync();
        _time.Advance(Gap);
        _instance.TakeForInvocation();
        var invocation = NewInvocation();
        var run = _instance.InvokeAsync(invocation, CancellationToken.None);
        Assert.Same(invocation, await _next);
        invocation.TryAnswer(new RuntimeReply(false, "{}"u8.ToArray(), null));
        await run;
        _instance.FreezeIfWaiting();

        // Answered but not back on /next (a runtime still at work after its answer): not frozen however long it takes.
        _time.Advance(SandboxInstance.FreezeDelay * 5);
        Assert.Equal(0, _sandbox.Freezes);

        _next = _instance.NextAsync(CancellationToken.None).AsTask();
        _time.Advance(SandboxInstance.FreezeDelay);
        Assert.Equal(1, _sandbox.Freezes);
    }

    public void Dispose()
    {
        _instance.MarkDead();
        Directory.Delete(_directory, recursive: true);
    }

    // Init ends with the runtime's first /next; the pool then keeps the instance idle, as after provisioned concurrency.
    private async Task StartIdleAsync()
    {
        _next = _instance.NextAsync(CancellationToken.None).AsTask();
        Assert.True(await _instance.InitializeAheadAsync(CancellationToken.None));
        _instance.FreezeIfWaiting();
    }

    // One warm invocation as the pool and the runtime run it: taken (thawed), the event to the waiting /next, the
    // runtime's answer, the release, and the runtime's next /next.
    private async Task InvokeAsync()
    {
        _instance.TakeForInvocation();
        var invocation = NewInvocation();
        var run = _instance.InvokeAsync(invocation, CancellationToken.None);
        Assert.Same(invocation, await _next);
        invocation.TryAnswer(new RuntimeReply(false, "{}"u8.ToArray(), null));
        var outcome = await run;
        Assert.Equal(InvokeOutcomeKind.Response, outcome.Kind);
        _instance.FreezeIfWaiting();
        _next = _instance.NextAsync(CancellationToken.None).AsTask();
    }

    private PendingInvocation NewInvocation() => new()
    {
        RequestId = $"00000000-0000-0000-0000-{++_invocations:D12}",
        Payload = "{}"u8.ToArray(),
        InvokedFunctionArn = "arn:aws:lambda:us-east-1:000000000000:function:freeze",
        TraceId = "Root=1-00000000-000000000000000000000000;Sampled=0",
    };

    /// <summary>A clock the test advances; timers fire, in order, on the advancing thread.</summary>
    private sealed class ManualTime : TimeProvider
    {
        private static readonly DateTimeOffset Start = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
        private readonly List<ManualTimer> _timers = [];
        private ManualTimer? _freezeTimer;
        private long _ticks;

        /// <summary>How often the first timer created (the instance's freeze timer) was set to a due time.</summary>
        public int FreezeTimerChanges { get; private set; }

        public override DateTimeOffset GetUtcNow() => Start.AddTicks(Interlocked.Read(ref _ticks));

        public override long GetTimestamp() => Interlocked.Read(ref _ticks);

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
        {
            var timer = new ManualTimer(this, callback, state);
            lock (_timers)
            {
                _freezeTimer ??= timer;
                _timers.Add(timer);
            }

            timer.Change(dueTime, period);
            return timer;
        }

        public void Advance(TimeSpan by)
        {
            var end = Interlocked.Read(ref _ticks) + by.Ticks;
            while (true)
            {
                ManualTimer? due;
                lock (_timers)
                {
                    due = _timers.Where(t => t.Due >= 0 && t.Due <= end).MinBy(t => t.Due);
                    if (due is not null)
                    {
                        Interlocked.Exchange(ref _ticks, due.Due);
                        due.Due = -1;
                    }
                }

                if (due is null)
                {
                    break;
                }

                due.Fire();
            }

            Interlocked.Exchange(ref _ticks, end);
        }

        private sealed class ManualTimer(ManualTime time, TimerCallback callback, object? state) : ITimer
        {
            public long Due { get; set; } = -1;

            public bool Change(TimeSpan dueTime, TimeSpan period)
            {
                lock (time._timers)
                {
                    Due = dueTime == Timeout.InfiniteTimeSpan ? -1 : Interlocked.Read(ref time._ticks) + dueTime.Ticks;
                    if (Due >= 0 && ReferenceEquals(this, time._freezeTimer))
                    {
                        time.FreezeTimerChanges++;
                    }
                }

                return true;
            }

            public void Fire() => callback(state);

            public void Dispose()
            {
                lock (time._timers)
                {
                    time._timers.Remove(this);
                }
            }

            public ValueTask DisposeAsync()
            {
                Dispose();
                return ValueTask.CompletedTask;
            }
        }
    }

    private sealed class CountingSandbox : ISandbox
    {
        private readonly TaskCompletionSource<SandboxExit> _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public int Freezes { get; private set; }

        public int Thaws { get; private set; }

        public int ProcessId => 1;

        public int? UserId => 20001;

        public Task<SandboxExit> Exited => _exited.Task;

        public bool OutOfMemory => false;

        public void Kill() => _exited.TrySetResult(new SandboxExit(1, null, 9));

        public long PeakMemoryBytes() => 64L << 20;

        public void Freeze() => Freezes++;

        public void Thaw() => Thaws++;

        public void Specialize(string codeDirectory, int memoryMb)
        {
        }

        public Task DrainOutputAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public ValueTask DisposeAsync()
        {
            Kill();
            return ValueTask.CompletedTask;
        }
    }
}
