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

    /// <summary>With external extensions, Lambda's shutdown phase lasts at most 2 s.</summary>
    internal static readonly TimeSpan ExtensionShutdownTimeout = TimeSpan.FromSeconds(2);

    // The invoker's write hands the event straight to the /next request waiting for it, on the invoker's thread.
    private readonly Channel<PendingInvocation> _next = Channel.CreateBounded<PendingInvocation>(new BoundedChannelOptions(1)
    {
        SingleReader = true,
        AllowSynchronousContinuations = true,
    });
    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource<RuntimeReply> _initError = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly LogStore _logs;

    // One string for every line: the log writer finds a stream's run of lines by reference.
    private readonly string _logGroup;
    private readonly TimeProvider _time;
    private readonly Lock _tailLock = new();
    private readonly long _startedTimestamp;
    private LogTail? _tail;

    // The event the runtime received on /next; only the Runtime API request of this instance writes it.
    private volatile PendingInvocation? _handedOut;
    private double? _initDurationMs;
    private bool _initReported;
    private int _stopping;
    private volatile bool _extensionFailed;

    // Guards State changes between Idle and Busy against freezing: a frozen instance is always thawed before it
    // runs an invocation, and an instance is frozen only while idle and waiting on /next.
    private readonly Lock _freezeLock = new();
    private bool _waitingForNext;
    private bool _frozen;
    private readonly ITimer _freezeTimer;

    // When it last became idle and waiting on /next (a TimeProvider timestamp), and whether the freeze timer is due to
    // fire: it is armed once and re-armed from its own firing while the instance stays idle, not moved per invocation.
    private long _idleSince;
    private bool _freezeArmed;

    // The END and REPORT of the last invocation, when they go out after its caller's answer; null once taken by the next
    // invocation (which writes them, or waits for them, before its START).
    private PendingReport? _pendingReport;

    public SandboxInstance(FunctionRecord function, int runtimeApiPort, LogStore logs, TimeProvider time, InstanceExtensions? extensions = null)
    {
        Function = function;
        Extensions = extensions;
        RuntimeApiPort = runtimeApiPort;
        _logs = logs;
        _logGroup = function.EffectiveLogGroup;
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

    /// <summary>The external extensions started beside the runtime; null when the function has none.</summary>
    public InstanceExtensions? Extensions { get; }

    /// <summary>The clock of this instance's timeouts; the Runtime API paces streamed responses with it.</summary>
    public TimeProvider Time => _time;

    public FunctionRecord Function { get; }

    public int RuntimeApiPort { get; }

    public string LogStreamName { get; }

    public ISandbox? Sandbox { get; private set; }

    public InstanceState State { get; private set; } = InstanceState.Initializing;

    public DateTimeOffset LastUsed { get; private set; }

    /// <summary>When the execution-role credentials in its environment are due for renewal; max when they never are.</summary>
    public DateTimeOffset CredentialsRenewAt { get; set; } = DateTimeOffset.MaxValue;

    /// <summary>True when an invocation starting at <paramref name="now"/> could still run when its credentials are due.</summary>
    public bool CredentialsDue(DateTimeOffset now) =>
        CredentialsRenewAt != DateTimeOffset.MaxValue && now + TimeSpan.FromSeconds(Function.Timeout) >= CredentialsRenewAt;

    /// <summary>The invocation being run: set by the invoker before the runtime asks for it on /next.</summary>
    public PendingInvocation? Current { get; private set; }

    // Written before Current is set: a reader that sees Current sees this invocation's start or a later one's.
    private long _invocationStarted;

    /// <summary>When the current (or last) invocation was handed to the runtime, a <see cref="TimeProvider"/> timestamp; 0 before the first.</summary>
    public long InvocationStarted => Volatile.Read(ref _invocationStarted);

    public bool IsInitialized => _ready.Task.IsCompleted && (Extensions is null || Extensions.InitDone.IsCompleted);

    /// <summary>Init is done: the runtime asked for its first event and every extension for its first one.</summary>
    private Task Ready => Extensions is null ? _ready.Task : Task.WhenAll(_ready.Task, Extensions.InitDone);

    /// <summary>Completes when init is over, however it ended: ready, failed, exited, or past Lambda's 10 s limit.</summary>
    public Task InitEnded => Sandbox is { } sandbox
        ? Task.WhenAny(Ready, _initError.Task, sandbox.Exited, Task.Delay(LambdaLimits.InitTimeout, _time))
        : Task.CompletedTask;

    public void Attach(ISandbox sandbox) => Sandbox = sandbox;

    /// <summary>Called for every line the runtime writes to stdout or stderr (an extension's exit marker is not logged).</summary>
    public ValueTask OnOutputLineAsync(string line)
    {
        if (Extensions is { } extensions && extensions.TryParseExit(line, out var name, out var ended))
        {
            extensions.OnExited(name, ended);
            return ValueTask.CompletedTask;
        }

        return WriteAsync(line);
    }

    /// <summary>Writes a platform line; null (a record the function's SystemLogLevel leaves out) writes nothing.</summary>
    public ValueTask WritePlatformAsync(string? line) => line is null ? ValueTask.CompletedTask : WriteAsync(line);

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

        // The last invocation's END and REPORT come before this one's START, whoever writes them.
        if (Interlocked.Exchange(ref _pendingReport, null) is { } previous)
        {
            await previous.WriteAsync().ConfigureAwait(false);
        }

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

        // The tail (the last 4 KB, for X-Amz-Log-Result) is kept only for a caller that asked for it; a cold start's
        // holds the init lines since the instance started.
        lock (_tailLock)
        {
            _tail = invocation.TailLog ? _tail ?? new LogTail() : null;
        }

        await WritePlatformAsync(PlatformLog.StartLine(Function, _time.GetUtcNow(), invocation.RequestId)).ConfigureAwait(false);
        var timeout = TimeSpan.FromSeconds(Function.Timeout);
        invocation.DeadlineMs = _time.GetUtcNow().Add(timeout).ToUnixTimeMilliseconds();
        if (cold)
        {
            // A first invocation that crashes leaves nothing to sample afterwards; the init peak is a floor.
            sandbox.PeakMemoryBytes();
        }

        var started = _time.GetTimestamp();
        Volatile.Write(ref _invocationStarted, started);
        Current = invocation;

        // An extension that died since the last invocation fails this one before it reaches the runtime.
        var crashed = Extensions?.Crashed;
        Task? finished;
        if (crashed is { IsCompleted: true })
        {
            finished = crashed;
        }
        else
        {
            _next.Writer.TryWrite(invocation);
            Extensions?.Dispatch(ExtensionsApi.InvokeEventBody(invocation));

            // The timeout is one timer that goes away with the wait: a linked source and Task.Delay cost a cancellation
            // callback per invocation, and awaiting CancelAsync ran it through the thread pool. Null: timed out.
            var ended = crashed is null ? Task.WhenAny(invocation.Reply, sandbox.Exited) : Task.WhenAny(invocation.Reply, sandbox.Exited, crashed);
            await ((Task)ended.WaitAsync(timeout, _time, cancellationToken)).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            finished = ended.IsCompleted ? ended.Result : null;
        }

        var durationMs = _time.GetElapsedTime(started).TotalMilliseconds;
        if (finished == invocation.Reply && !invocation.TailLog && Extensions is null)
        {
            return ReportAfterAnswer(sandbox, invocation, durationMs, cold);
        }

        // Sample before a timeout kill: the peak of a dead tree cannot be read any more.
        var peakBytes = sandbox.PeakMemoryBytes();

        InvokeOutcomeKind kind;
        byte[] body;
        var reusable = true;
        var timedOut = false;
        if (finished == invocation.Reply)
        {
            var reply = invocation.Reply.Result;
            kind = reply.IsError || reply.TooLarge ? InvokeOutcomeKind.FunctionError : InvokeOutcomeKind.Response;
            body = reply.Body;
            await DrainAsync(sandbox).ConfigureAwait(false);
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
        else if (crashed is not null && finished == crashed)
        {
            // Lambda's shutdown phase for the extensions still alive, then the instance is reset.
            await ShutdownExtensionsAsync(ExtensionsApi.FailureReason).ConfigureAwait(false);
            sandbox.Kill();
            await ((Task)sandbox.Exited).WaitAsync(TimeSpan.FromSeconds(5), CancellationToken.None).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            await DrainAsync(sandbox).ConfigureAwait(false);
            var message = ExtensionCrashMessage(invocation.RequestId, crashed.Result);
            await WriteAsync(message).ConfigureAwait(false);
            await WriteAsync(ExtensionsApi.CrashErrorType).ConfigureAwait(false);
            kind = InvokeOutcomeKind.FunctionError;
            body = ErrorBody(ExtensionsApi.CrashErrorType, message);
            reusable = false;
        }
        else
        {
            timedOut = true;
            await ShutdownExtensionsAsync(ExtensionsApi.TimeoutReason).ConfigureAwait(false);
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
        var memory = MaxMemorySample.Of(peakBytes);
        var initMs = cold ? _initDurationMs : null;
        await WritePlatformAsync(PlatformLog.EndLine(Function, invocation.RequestId)).ConfigureAwait(false);
        await WritePlatformAsync(PlatformLog.ReportLine(Function, _time.GetUtcNow(), invocation.RequestId, durationMs, memory.Megabytes, initMs, PlatformLog.Status(kind, timedOut))).ConfigureAwait(false);
        var tail = TakeTail();
        LastUsed = _time.GetUtcNow();
        State = reusable ? InstanceState.Idle : InstanceState.Dead;
        return new InvokeOutcome(kind, body, tail, durationMs, initMs, memory, reusable, timedOut);
    }

    /// <summary>
    /// The outcome of an invocation answered by its runtime whose caller did not ask for the log's tail (and whose instance
    /// has no extensions to wait for): the runtime's last lines (the drain), END and REPORT are written once the caller's
    /// answer is out (<see cref="AnswerFirst"/>), off the way from the runtime's answer to the caller's, or by the
    /// instance's next invocation before its START, whichever comes first. Max Memory Used is read by the first to ask for
    /// it (<see cref="MaxMemorySample"/>): the invoker's record after the caller's answer, or the REPORT, which reads it
    /// before anything else, so that the next invocation's event never goes out before it was read.
    /// </summary>
    private InvokeOutcome ReportAfterAnswer(ISandbox sandbox, PendingInvocation invocation, double durationMs, bool cold)
    {
        var reply = invocation.Reply.Result;
        var kind = reply.IsError || reply.TooLarge ? InvokeOutcomeKind.FunctionError : InvokeOutcomeKind.Response;
        Current = null;
        var memory = MaxMemorySample.Later(sandbox);
        var initMs = cold ? _initDurationMs : null;
        var report = new PendingReport(this, sandbox, invocation.RequestId, durationMs, memory, initMs, PlatformLog.Status(kind, timedOut: false));
        Volatile.Write(ref _pendingReport, report);
        AnswerFirst.RunAfterAnswer(static pending => _ = ((PendingReport)pending!).WriteAsync(), report);
        TakeTail();
        LastUsed = _time.GetUtcNow();
        State = InstanceState.Idle;
        return new InvokeOutcome(kind, reply.Body, "", durationMs, initMs, memory, InstanceReusable: true);
    }

    private async Task WriteEndAndReportAsync(ISandbox sandbox, string requestId, double durationMs, int memoryMb, double? initMs, string status)
    {
        await DrainAsync(sandbox).ConfigureAwait(false);
        await WritePlatformAsync(PlatformLog.EndLine(Function, requestId)).ConfigureAwait(false);
        await WritePlatformAsync(PlatformLog.ReportLine(Function, _time.GetUtcNow(), requestId, durationMs, memoryMb, initMs, status)).ConfigureAwait(false);
    }

    /// <summary>An invocation's END and REPORT still to write: written once, by the first to ask; later callers wait for that.</summary>
    private sealed class PendingReport(SandboxInstance instance, ISandbox sandbox, string requestId, double durationMs, MaxMemorySample memory, double? initMs, string status)
    {
        private readonly TaskCompletionSource _written = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _started;

        public Task WriteAsync()
        {
            if (Interlocked.Exchange(ref _started, 1) == 0)
            {
                _ = WriteOnceAsync();
            }

            return _written.Task;
        }

        // Synchronous up to its first await: the peak is read before WriteAsync returns, so before the next invocation's event.
        private async Task WriteOnceAsync()
        {
            try
            {
                var memoryMb = memory.Megabytes;
                await instance.WriteEndAndReportAsync(sandbox, requestId, durationMs, memoryMb, initMs, status).ConfigureAwait(false);
            }
            finally
            {
                _written.TrySetResult();
            }
        }
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
    /// After an invocation's answer went to its caller: waits, until the invocation's deadline, for every extension
    /// that got its INVOKE to ask for its next event. False when one did not (or one reported exit/error): the
    /// instance is then dead, its sandbox killed, and the pool stops it.
    /// </summary>
    public async Task<bool> WaitForExtensionsAsync(long deadlineMs)
    {
        if (Extensions is not { } extensions || State != InstanceState.Idle)
        {
            return State != InstanceState.Dead;
        }

        var idle = extensions.Idle;
        var remaining = DateTimeOffset.FromUnixTimeMilliseconds(deadlineMs) - _time.GetUtcNow();
        if (!idle.IsCompleted && !extensions.Crashed.IsCompleted && remaining > TimeSpan.Zero)
        {
            await ((Task)Task.WhenAny(idle, extensions.Crashed)).WaitAsync(remaining, _time).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }

        if (idle.IsCompleted && !_extensionFailed && !extensions.Crashed.IsCompleted)
        {
            return true;
        }

        lock (_freezeLock)
        {
            State = InstanceState.Dead;
        }

        // The instance is reset: the extensions still alive get Lambda's shutdown phase first.
        await ShutdownExtensionsAsync(extensions.Crashed.IsCompleted || _extensionFailed ? ExtensionsApi.FailureReason : ExtensionsApi.TimeoutReason).ConfigureAwait(false);
        Sandbox?.Kill();
        return false;
    }

    /// <summary>An extension reported exit/error: the instance is not reused after its current invocation.</summary>
    public void ExtensionFailed() => _extensionFailed = true;

    /// <summary>
    /// The shutdown phase, before the instance is killed: SHUTDOWN with <paramref name="reason"/> (<c>spindown</c>
    /// when it is stopped, <c>timeout</c> or <c>failure</c> when it is reset) to the extensions that subscribed to it,
    /// and at most Lambda's 2 s for each to ask for its next event or exit. Once per instance.
    /// </summary>
    public async Task ShutdownExtensionsAsync(string reason = ExtensionsApi.SpindownReason)
    {
        if (Extensions is not { } extensions || Sandbox is not { } sandbox || sandbox.Exited.IsCompleted || !IsInitialized)
        {
            return;
        }

        lock (_freezeLock)
        {
            if (_frozen)
            {
                sandbox.Thaw();
                _frozen = false;
            }
        }

        var deadline = _time.GetUtcNow().Add(ExtensionShutdownTimeout).ToUnixTimeMilliseconds();
        if (extensions.DispatchShutdown(ExtensionsApi.ShutdownEventBody(reason, deadline)) is { } done)
        {
            await ((Task)Task.WhenAny(done, sandbox.Exited)).WaitAsync(ExtensionShutdownTimeout, _time).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            await DrainAsync(sandbox).ConfigureAwait(false);
        }
    }

    /// <summary>Worded as Lambda logs an extension's death: <c>RequestId: ... Error: exit code N</c>.</summary>
    internal static string ExtensionCrashMessage(string requestId, string ended) => $"RequestId: {requestId} Error: {ended}";

    /// <summary>
    /// Provisioned concurrency: runs init ahead of any invocation (at most Lambda's 10 s) and leaves the instance
    /// idle, so its first invocation reports no Init Duration. False when init failed; the instance is then dead.
    /// </summary>
    public async Task<bool> InitializeAheadAsync(CancellationToken cancellationToken)
    {
        var sandbox = Sandbox ?? throw new InvalidOperationException("The instance has no sandbox attached.");
        using var timer = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var initTimeout = Task.Delay(LambdaLimits.InitTimeout, _time, timer.Token);
        var ready = Ready;
        var crashed = Extensions?.Crashed ?? new TaskCompletionSource<string>().Task;
        var first = await Task.WhenAny(ready, _initError.Task, sandbox.Exited, initTimeout, crashed).ConfigureAwait(false);
        await timer.CancelAsync().ConfigureAwait(false);
        if (first == ready)
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
            // The instance freezes FreezeDelay after it last became idle. Under steady traffic that moment moves on every
            // invocation: the timer is not moved with it (a timer queue's lock per invocation), but checks the idle-since
            // time when it fires and, if the instance was used meanwhile, waits for the rest.
            _idleSince = _time.GetTimestamp();
            if (!_freezeArmed)
            {
                _freezeArmed = true;
                _freezeTimer.Change(FreezeDelay, Timeout.InfiniteTimeSpan);
            }
        }
    }

    // On a timer thread. The lock orders it against TakeForInvocation: an instance taken for an invocation is
    // Busy and never frozen; one frozen before it was taken is thawed there. Busy (or not yet back on /next), it is
    // not re-armed: ScheduleFreezeLocked arms it again when the instance next becomes idle and waiting.
    private void FreezeIfStillIdle()
    {
        lock (_freezeLock)
        {
            _freezeArmed = false;

            // Extensions still at work after an invocation keep the instance awake, as on Lambda.
            if (State == InstanceState.Idle && _waitingForNext && !_frozen && Sandbox is { } sandbox && (Extensions is null || Extensions.IsIdle))
            {
                var rest = FreezeDelay - _time.GetElapsedTime(_idleSince);
                if (rest > TimeSpan.Zero)
                {
                    _freezeArmed = true;
                    _freezeTimer.Change(rest, Timeout.InfiniteTimeSpan);
                    return;
                }

                sandbox.Freeze();
                _frozen = true;
            }
        }
    }

    private async Task<InvokeOutcome?> WaitForInitAsync(ISandbox sandbox, PendingInvocation invocation, CancellationToken cancellationToken)
    {
        using var timer = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var initTimeout = Task.Delay(LambdaLimits.InitTimeout, _time, timer.Token);
        var ready = Ready;
        var crashed = Extensions?.Crashed ?? new TaskCompletionSource<string>().Task;
        var first = await Task.WhenAny(ready, _initError.Task, sandbox.Exited, initTimeout, crashed).ConfigureAwait(false);
        await timer.CancelAsync().ConfigureAwait(false);
        if (first == ready)
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
        else if (first == crashed)
        {
            await DrainAsync(sandbox).ConfigureAwait(false);
            var message = ExtensionCrashMessage(invocation.RequestId, crashed.Result);
            await WriteAsync(message).ConfigureAwait(false);
            await WriteAsync(ExtensionsApi.CrashErrorType).ConfigureAwait(false);
            body = ErrorBody(ExtensionsApi.CrashErrorType, message);
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
        await WritePlatformAsync(PlatformLog.StartLine(Function, _time.GetUtcNow(), invocation.RequestId)).ConfigureAwait(false);
        await WritePlatformAsync(PlatformLog.EndLine(Function, invocation.RequestId)).ConfigureAwait(false);
        await WritePlatformAsync(PlatformLog.ReportLine(Function, _time.GetUtcNow(), invocation.RequestId, 0, 0, initMs, "failure")).ConfigureAwait(false);
        State = InstanceState.Dead;
        return new InvokeOutcome(InvokeOutcomeKind.FunctionError, body, TakeTail(), 0, initMs, MaxMemorySample.Of(0), InstanceReusable: false, timedOut);
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

        return _logs.AppendAsync(new LogEvent(_logGroup, LogStreamName, _time.GetUtcNow().ToUnixTimeMilliseconds(), line));
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
}
