using System.Text.Json;
using System.Threading.Channels;
using Nimbus.Functions;
using Nimbus.Storage;

namespace Nimbus.Sandboxes;

internal enum InstanceState
{
    Initializing,
    Idle,
    Busy,
    Dead,
}

/// <summary>
/// One execution environment of one function version: a sandboxed runtime process plus the Runtime API state
/// it talks to. It runs one invocation at a time; the pool guarantees that by handing it to one caller.
/// </summary>
internal sealed class SandboxInstance
{
    /// <summary>
    /// How long an instance must sit idle, waiting on /next, before it is frozen. Freezing and thawing cost little
    /// each, but under steady traffic an instance is idle for microseconds between invocations, and stopping and
    /// waking every thread of its runtime each time costs the whole node CPU; an instance idle past this is
    /// frozen, so idle instances still use no CPU.
    /// </summary>
    internal static readonly TimeSpan FreezeDelay = TimeSpan.FromMilliseconds(10);

    // The invoker's write hands the event straight to the /next request waiting for it, on the invoker's thread.
    private readonly Channel<PendingInvocation> _next = Channel.CreateBounded<PendingInvocation>(new BoundedChannelOptions(1)
    {
        SingleReader = true,
        AllowSynchronousContinuations = true,
    });
    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource<RuntimeReply> _initError = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly LogStore _logs;
    private readonly TimeProvider _time;
    private readonly Lock _tailLock = new();
    private readonly long _startedTimestamp;
    private LogTail? _tail;

    // The event the runtime received on /next; only the Runtime API request of this instance writes it.
    private volatile PendingInvocation? _handedOut;
    private double? _initDurationMs;
    private bool _initReported;
    private int _stopping;

    // Guards State changes between Idle and Busy against freezing: a frozen instance is always thawed before it
    // runs an invocation, and an instance is frozen only while idle and waiting on /next.
    private readonly Lock _freezeLock = new();
    private bool _waitingForNext;
    private bool _frozen;
    private readonly ITimer _freezeTimer;

    public SandboxInstance(FunctionRecord function, int runtimeApiPort, LogStore logs, TimeProvider time)
    {
        Function = function;
        RuntimeApiPort = runtimeApiPort;
        _logs = logs;
        _time = time;
        Id = Guid.NewGuid().ToString("N");
        var now = time.GetUtcNow();
        LogStreamName = $"{now:yyyy'/'MM'/'dd}/[{function.Version}]{Id}";
        _startedTimestamp = time.GetTimestamp();
        LastUsed = now;
        _tail = new LogTail();
        _freezeTimer = time.CreateTimer(static state => ((SandboxInstance)state!).FreezeIfStillIdle(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
    }

    public string Id { get; }

    public FunctionRecord Function { get; }

    public int RuntimeApiPort { get; }

    public string LogStreamName { get; }

    public ISandbox? Sandbox { get; private set; }

    public InstanceState State { get; private set; } = InstanceState.Initializing;

    public DateTimeOffset LastUsed { get; private set; }

    /// <summary>The invocation being run: set by the invoker before the runtime asks for it on /next.</summary>
    public PendingInvocation? Current { get; private set; }

    public bool IsInitialized => _ready.Task.IsCompleted;

    /// <summary>Completes when init is over, however it ended: ready, failed, exited, or past Lambda's 10 s limit.</summary>
    public Task InitEnded => Sandbox is { } sandbox
        ? Task.WhenAny(_ready.Task, _initError.Task, sandbox.Exited, Task.Delay(LambdaLimits.InitTimeout, _time))
        : Task.CompletedTask;

    public void Attach(ISandbox sandbox) => Sandbox = sandbox;

    /// <summary>Called for every line the runtime writes to stdout or stderr.</summary>
    public ValueTask OnOutputLineAsync(string line) => WriteAsync(line);

    // ---- Runtime API side (called by RuntimeApi on this instance's port) ----

    /// <summary>
    /// GET /next: the first call ends init; then waits for the next event. Null when the runtime asks again
    /// before answering the event it already has (the caller answers 403).
    /// </summary>
    public async ValueTask<PendingInvocation?> NextAsync(CancellationToken cancellationToken)
    {
        if (_handedOut is { IsAnswered: false })
        {
            return null;
        }

        if (_ready.TrySetResult())
        {
            _initDurationMs = _time.GetElapsedTime(_startedTimestamp).TotalMilliseconds;
        }

        if (!_next.Reader.TryRead(out var invocation))
        {
            try
            {
                lock (_freezeLock)
                {
                    _waitingForNext = true;
                    ScheduleFreezeLocked();
                }

                invocation = await _next.Reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                lock (_freezeLock)
                {
                    _waitingForNext = false;
                }
            }
        }

        _handedOut = invocation;
        return invocation;
    }

    /// <summary>POST /init/error: false once init is over (the caller answers 403).</summary>
    public bool TryReportInitError(RuntimeReply error) => !IsInitialized && _initError.TrySetResult(error);

    // ---- Invoker side ----

    /// <summary>Runs one invocation to its end: response, function error, init failure, crash or timeout.</summary>
    public async Task<InvokeOutcome> InvokeAsync(PendingInvocation invocation, CancellationToken cancellationToken)
    {
        var sandbox = Sandbox ?? throw new InvalidOperationException("The instance has no sandbox attached.");
        State = InstanceState.Busy;
        var cold = !_initReported;
        _initReported = true;

        if (!IsInitialized)
        {
            var failure = await WaitForInitAsync(sandbox, invocation, cancellationToken).ConfigureAwait(false);
            if (failure is not null)
            {
                return failure;
            }
        }

        lock (_tailLock)
        {
            _tail ??= new LogTail();
        }

        await WriteAsync(PlatformLog.Start(invocation.RequestId, Function.Version)).ConfigureAwait(false);
        var timeout = TimeSpan.FromSeconds(Function.Timeout);
        invocation.DeadlineMs = _time.GetUtcNow().Add(timeout).ToUnixTimeMilliseconds();
        if (cold)
        {
            // A first invocation that crashes leaves nothing to sample afterwards; the init peak is a floor.
            sandbox.PeakMemoryBytes();
        }

        var started = _time.GetTimestamp();
        Current = invocation;
        _next.Writer.TryWrite(invocation);

        // The timeout is one timer that goes away with the wait: a linked source and Task.Delay cost a cancellation
        // callback per invocation, and awaiting CancelAsync ran it through the thread pool. Null: timed out.
        var ended = Task.WhenAny(invocation.Reply, sandbox.Exited);
        await ((Task)ended.WaitAsync(timeout, _time, cancellationToken)).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        var finished = ended.IsCompleted ? ended.Result : null;
        var durationMs = _time.GetElapsedTime(started).TotalMilliseconds;

        // Sample before a timeout kill: the peak of a dead tree cannot be read any more.
        var peakBytes = sandbox.PeakMemoryBytes();

        InvokeOutcomeKind kind;
        byte[] body;
        var reusable = true;
        var timedOut = false;
        if (finished == invocation.Reply)
        {
            var reply = invocation.Reply.Result;
            await DrainAsync(sandbox).ConfigureAwait(false);
            kind = reply.IsError || reply.TooLarge ? InvokeOutcomeKind.FunctionError : InvokeOutcomeKind.Response;
            body = reply.Body;
        }
        else if (finished == sandbox.Exited)
        {
            var exit = sandbox.Exited.Result;
            await DrainAsync(sandbox).ConfigureAwait(false);
            var message = PlatformLog.Exited(invocation.RequestId, exit);
            var errorType = sandbox.OutOfMemory ? "Runtime.OutOfMemory" : "Runtime.ExitError";
            await WriteAsync(message).ConfigureAwait(false);
            await WriteAsync(errorType).ConfigureAwait(false);
            kind = InvokeOutcomeKind.FunctionError;
            body = ErrorBody(errorType, message);
            reusable = false;
        }
        else
        {
            sandbox.Kill();
            await ((Task)sandbox.Exited).WaitAsync(TimeSpan.FromSeconds(5), CancellationToken.None).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            await DrainAsync(sandbox).ConfigureAwait(false);
            await WriteAsync(PlatformLog.TimedOut(_time.GetUtcNow(), invocation.RequestId, Function.Timeout)).ConfigureAwait(false);
            kind = InvokeOutcomeKind.FunctionError;
            body = ErrorBody("Sandbox.Timedout", PlatformLog.TimedOutMessage(invocation.RequestId, Function.Timeout));
            reusable = false;
            timedOut = true;
        }

        Current = null;
        var memoryMb = (int)Math.Ceiling(peakBytes / (1024.0 * 1024.0));
        var initMs = cold ? _initDurationMs : null;
        await WriteAsync(PlatformLog.End(invocation.RequestId)).ConfigureAwait(false);
        await WriteAsync(PlatformLog.Report(invocation.RequestId, durationMs, Function.MemorySize, memoryMb, initMs)).ConfigureAwait(false);
        var tail = TakeTail();
        LastUsed = _time.GetUtcNow();
        State = reusable ? InstanceState.Idle : InstanceState.Dead;
        return new InvokeOutcome(kind, body, tail, durationMs, initMs, memoryMb, reusable, timedOut);
    }

    /// <summary>
    /// Called before the instance is killed. Under the freeze lock: a freeze already under way ends before this
    /// returns (so the kill's thaw comes after it) and none starts later; on cgroup v1 a frozen process ignores
    /// SIGKILL until thawed.
    /// </summary>
    public void MarkDead()
    {
        lock (_freezeLock)
        {
            State = InstanceState.Dead;
        }

        _freezeTimer.Dispose();
    }

    /// <summary>
    /// Provisioned concurrency: runs init ahead of any invocation (at most Lambda's 10 s) and leaves the instance
    /// idle, so its first invocation reports no Init Duration. False when init failed; the instance is then dead.
    /// </summary>
    public async Task<bool> InitializeAheadAsync(CancellationToken cancellationToken)
    {
        var sandbox = Sandbox ?? throw new InvalidOperationException("The instance has no sandbox attached.");
        using var timer = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var initTimeout = Task.Delay(LambdaLimits.InitTimeout, _time, timer.Token);
        var first = await Task.WhenAny(_ready.Task, _initError.Task, sandbox.Exited, initTimeout).ConfigureAwait(false);
        await timer.CancelAsync().ConfigureAwait(false);
        if (first == _ready.Task)
        {
            _initReported = true;
            LastUsed = _time.GetUtcNow();
            State = InstanceState.Idle;
            return true;
        }

        sandbox.Kill();
        State = InstanceState.Dead;
        return false;
    }

    /// <summary>True for the first caller only: that caller stops the instance and returns its port.</summary>
    public bool TryBeginStop() => Interlocked.Exchange(ref _stopping, 1) == 0;

    /// <summary>Claimed by one caller for an invocation, and thawed; only the pool calls this, under its lock.</summary>
    public void TakeForInvocation()
    {
        lock (_freezeLock)
        {
            State = InstanceState.Busy;
            if (_frozen)
            {
                Sandbox?.Thaw();
                _frozen = false;
            }
        }
    }

    /// <summary>
    /// Back in the pool: frozen once its runtime waits on /next and it has stayed idle for
    /// <see cref="FreezeDelay"/>. Freezing waits for /next (here or in <see cref="NextAsync"/>), as on Lambda, so a
    /// runtime that still works after answering (a bash bootstrap starting curl) is not frozen halfway and does
    /// not make the next invocation pay for it.
    /// </summary>
    public void FreezeIfWaiting()
    {
        lock (_freezeLock)
        {
            ScheduleFreezeLocked();
        }
    }

    private void ScheduleFreezeLocked()
    {
        if (State == InstanceState.Idle && _waitingForNext && !_frozen)
        {
            // Re-arming restarts the wait: the instance freezes FreezeDelay after it last became idle.
            _freezeTimer.Change(FreezeDelay, Timeout.InfiniteTimeSpan);
        }
    }

    // On a timer thread. The lock orders it against TakeForInvocation: an instance taken for an invocation is
    // Busy and never frozen; one frozen before it was taken is thawed there.
    private void FreezeIfStillIdle()
    {
        lock (_freezeLock)
        {
            if (State == InstanceState.Idle && _waitingForNext && !_frozen && Sandbox is { } sandbox)
            {
                sandbox.Freeze();
                _frozen = true;
            }
        }
    }

    private async Task<InvokeOutcome?> WaitForInitAsync(ISandbox sandbox, PendingInvocation invocation, CancellationToken cancellationToken)
    {
        using var timer = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var initTimeout = Task.Delay(LambdaLimits.InitTimeout, _time, timer.Token);
        var first = await Task.WhenAny(_ready.Task, _initError.Task, sandbox.Exited, initTimeout).ConfigureAwait(false);
        await timer.CancelAsync().ConfigureAwait(false);
        if (first == _ready.Task)
        {
            return null;
        }

        var initMs = _time.GetElapsedTime(_startedTimestamp).TotalMilliseconds;
        byte[] body;
        var timedOut = false;
        if (first == _initError.Task)
        {
            body = _initError.Task.Result.Body;

            // The runtime exits after reporting; give it a moment so its last lines reach the log.
            await ((Task)sandbox.Exited).WaitAsync(TimeSpan.FromSeconds(1), CancellationToken.None).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
        else if (first == sandbox.Exited)
        {
            var exit = sandbox.Exited.Result;
            var message = PlatformLog.Exited(invocation.RequestId, exit);
            var errorType = sandbox.OutOfMemory ? "Runtime.OutOfMemory" : "Runtime.ExitError";
            await DrainAsync(sandbox).ConfigureAwait(false);
            await WriteAsync(message).ConfigureAwait(false);
            await WriteAsync(errorType).ConfigureAwait(false);
            body = ErrorBody(errorType, message);
        }
        else
        {
            var seconds = LambdaLimits.InitTimeout.TotalSeconds;
            timedOut = true;
            body = ErrorBody("Sandbox.Timedout", PlatformLog.TimedOutMessage(invocation.RequestId, seconds));
            await WriteAsync(PlatformLog.TimedOut(_time.GetUtcNow(), invocation.RequestId, seconds)).ConfigureAwait(false);
        }

        sandbox.Kill();
        await ((Task)sandbox.Exited).WaitAsync(TimeSpan.FromSeconds(5), CancellationToken.None).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        await DrainAsync(sandbox).ConfigureAwait(false);
        await WriteAsync(PlatformLog.Start(invocation.RequestId, Function.Version)).ConfigureAwait(false);
        await WriteAsync(PlatformLog.End(invocation.RequestId)).ConfigureAwait(false);
        await WriteAsync(PlatformLog.Report(invocation.RequestId, 0, Function.MemorySize, 0, initMs)).ConfigureAwait(false);
        State = InstanceState.Dead;
        return new InvokeOutcome(InvokeOutcomeKind.FunctionError, body, TakeTail(), 0, initMs, 0, InstanceReusable: false, timedOut);
    }

    private static async Task DrainAsync(ISandbox sandbox)
    {
        try
        {
            await sandbox.DrainOutputAsync(CancellationToken.None).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
    }

    private string TakeTail()
    {
        lock (_tailLock)
        {
            var text = _tail?.ToString() ?? "";
            _tail = null;
            return text;
        }
    }

    private ValueTask WriteAsync(string line)
    {
        lock (_tailLock)
        {
            _tail?.Add(line);
        }

        return _logs.AppendAsync(new LogEvent(Function.EffectiveLogGroup, LogStreamName, _time.GetUtcNow().ToUnixTimeMilliseconds(), line));
    }

    public static byte[] ErrorBody(string errorType, string errorMessage)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("errorType", errorType);
            writer.WriteString("errorMessage", errorMessage);
            writer.WriteEndObject();
        }

        return buffer.ToArray();
    }

    internal static string NewTraceId(TimeProvider time)
    {
        var epoch = time.GetUtcNow().ToUnixTimeSeconds();
        Span<byte> random = stackalloc byte[20];
        System.Security.Cryptography.RandomNumberGenerator.Fill(random);
        var hex = Convert.ToHexStringLower(random);
        return $"Root=1-{epoch:x8}-{hex[..24]};Parent={hex[24..40]};Sampled=0";
    }
}
