using System.Diagnostics;
using System.Text;
using Microsoft.Extensions.Logging;
using Nimbus.Functions;
using Nimbus.Metrics;
using Nimbus.Sandboxes;

namespace Nimbus.Invocation;

/// <summary>
/// Runs invocations: resolves the function version, takes a unit of concurrency, takes an instance from its pool
/// (starting one when all are busy), hands the event over through the Runtime API and returns the outcome.
/// Triggers and the Invoke API all come through here.
/// </summary>
internal sealed partial class Invoker(
    FunctionService functions,
    SandboxManager sandboxes,
    IConcurrencyLimiter concurrency,
    TimeProvider time,
    AdmissionMetrics admission,
    IEnumerable<IInvocationObserver> observers,
    ILogger<Invoker> logger)
{
    private static readonly byte[] EmptyEvent = "{}"u8.ToArray();

    /// <summary>The answer to a caller that hung up before its invocation started: nobody reads it (499, as nginx logs it).</summary>
    private static readonly LambdaError CallerGoneError = new("RequestAborted", 499, "The caller hung up before the invocation started; it was not run.");

    private readonly IInvocationObserver[] _observers = [.. observers];

    /// <summary>Checks that a function exists and could be invoked, without running it (DryRun).</summary>
    public async Task<LambdaError?> CheckAsync(FunctionReference reference, CancellationToken cancellationToken)
    {
        if (sandboxes.IsDraining)
        {
            return LambdaError.ShuttingDown();
        }

        var function = await functions.GetAsync(reference, cancellationToken).ConfigureAwait(false);
        return function.Error;
    }

    public async Task<InvocationResult> InvokeAsync(InvocationRequest request, CancellationToken cancellationToken)
    {
        if (sandboxes.IsDraining)
        {
            return InvocationResult.Rejected(LambdaError.ShuttingDown());
        }

        // An alias with routing weights picks the version here, once per invocation.
        var found = await functions.ResolveInvocationAsync(request.Function, cancellationToken).ConfigureAwait(false);
        if (found.IsError)
        {
            return InvocationResult.Rejected(found.Error!);
        }

        var function = found.Value!;
        var resource = request.Function.Qualifier is { } qualifier ? $"{function.Name}:{qualifier}" : function.Name;
        var grant = concurrency.TryAcquire(function.Name);
        if (grant.Lease is null)
        {
            Log.Throttled(logger, function.Name, grant.Throttle);
            Observe(request.RequestId, function, resource, time.GetUtcNow(), null, InvocationOutcome.Throttled, 0);
            return InvocationResult.Throttled(grant.Throttle);
        }

        using var activity = NimbusTelemetry.Source.StartActivity(NimbusTelemetry.InvokeSpan, ActivityKind.Internal);
        activity?.SetTag("faas.name", function.Name);
        activity?.SetTag("faas.version", function.Version);
        activity?.SetTag("faas.invocation_id", request.RequestId);

        // The lease is given back only after the instance is back in its pool, so the next invocation the lease
        // admits finds that instance warm instead of starting another.
        using var lease = grant.Lease;
        var pool = sandboxes.GetPool(function);
        var acquireStarted = time.GetUtcNow();
        var requestId = request.RequestId;

        // Until the invocation starts, a caller that hangs up gives its place up: no instance is started for it
        // and its lease goes back at once. Triggers have no caller; their token is the server's stop.
        var callerGone = request.CallerAborted;
        SandboxInstance? instance;
        byte[]? startError;
        try
        {
            (instance, startError) = await pool.AcquireAsync(callerGone.CanBeCanceled ? callerGone : cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (callerGone.IsCancellationRequested)
        {
            var waited = time.GetUtcNow() - acquireStarted;
            Log.CallerGoneWaiting(logger, function.Name, requestId, waited.TotalMilliseconds);
            admission.OnAbandoned(function.Name, function.Version);
            return InvocationResult.Rejected(CallerGoneError);
        }

        if (instance is not null && callerGone.CanBeCanceled && !instance.IsInitialized)
        {
            // A cold start: the instance initializes whether or not its caller stays; gone, it joins the pool warm.
            await instance.InitEnded.WaitAsync(callerGone).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            if (callerGone.IsCancellationRequested && !instance.IsInitialized)
            {
                Log.CallerGoneInitializing(logger, function.Name, requestId, instance.Id);
                admission.OnAbandoned(function.Name, function.Version);
                pool.KeepInitializing(instance);
                return InvocationResult.Rejected(CallerGoneError);
            }
        }

        if (instance is null)
        {
            if (startError is null)
            {
                Log.Throttled(logger, function.Name, ConcurrencyThrottle.AccountConcurrencyInUse);
                Observe(requestId, function, resource, acquireStarted, null, InvocationOutcome.Throttled, lease.InUseAtGrant);
                return InvocationResult.Throttled(ConcurrencyThrottle.AccountConcurrencyInUse);
            }

            Log.InstanceStartFailed(logger, function.Name, Encoding.UTF8.GetString(startError));
            Observe(requestId, function, resource, acquireStarted, null, InvocationOutcome.FunctionError, lease.InUseAtGrant);
            return new InvocationResult(InvocationStatus.FunctionError, startError, function.Version, null);
        }

        var invocation = new PendingInvocation
        {
            RequestId = requestId,
            Payload = request.Payload.IsEmpty ? EmptyEvent : request.Payload,
            InvokedFunctionArn = functions.FunctionArn(function.Name, request.Function.Qualifier),
            TraceId = LambdaTraceHeader.ForFunction(request.TraceHeader, time),
            ClientContext = request.ClientContext,
            CognitoIdentity = request.CognitoIdentity,
            ResponseStream = request.ResponseStream,
            TailLog = request.TailLog,
        };

        InvokeOutcome outcome;
        try
        {
            outcome = await instance.InvokeAsync(invocation, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            if (instance.Extensions is null)
            {
                pool.Release(instance);
            }
            else
            {
                // The caller gets its answer now; the instance goes back once its extensions are done.
                _ = ReleaseAfterExtensionsAsync(pool, instance, invocation.DeadlineMs);
            }
        }

        pool.RecordDuration(outcome.DurationMs);
        Log.Invoked(logger, function.Name, requestId, outcome.Kind, outcome.DurationMs);
        var end = time.GetUtcNow();
        var start = end - TimeSpan.FromMilliseconds(outcome.DurationMs);
        var result = outcome.TimedOut ? InvocationOutcome.Timeout
            : outcome.Kind == InvokeOutcomeKind.Response ? InvocationOutcome.Success
            : InvocationOutcome.FunctionError;
        UnreportedInvocation? unreported = null;
        if (_observers.Length > 0)
        {
            // After the caller's answer, Max Memory Used is read there too (once, shared with the REPORT line).
            var record = new InvocationRecord(requestId, function.Name, resource, function.Version, start, outcome.DurationMs,
                PlatformLog.BilledMs(outcome.DurationMs), function.MemorySize, request.ReportAfterAnswer ? 0 : outcome.MaxMemoryUsedMb,
                outcome.InitDurationMs, result, lease.InUseAtGrant);
            if (request.ReportAfterAnswer)
            {
                unreported = new UnreportedInvocation(record, outcome.MaxMemory);
            }
            else
            {
                Notify(record);
            }
        }

        if (activity is not null)
        {
            TraceSpans(activity, acquireStarted, start, end, outcome, result);
        }

        return new InvocationResult(
            outcome.Kind == InvokeOutcomeKind.Response ? InvocationStatus.Success : InvocationStatus.FunctionError,
            outcome.Body,
            function.Version,
            request.TailLog ? outcome.LogTail : null)
        {
            Unreported = unreported,
        };
    }

    /// <summary>
    /// Gives the observers the figures of an invocation run for a <see cref="InvocationRequest.ReportAfterAnswer"/>
    /// caller, once its answer was written (or failed to be): nothing of metrics and metering is then on the way from
    /// the function's answer to the caller's.
    /// </summary>
    public void ReportAnswered(InvocationResult result)
    {
        if (result.Unreported is { } unreported)
        {
            Notify(unreported.Record with { MaxMemoryUsedMb = unreported.MaxMemory.Megabytes });
        }
    }

    private void Notify(in InvocationRecord record)
    {
        foreach (var observer in _observers)
        {
            observer.OnCompleted(record);
        }
    }

    private static async Task ReleaseAfterExtensionsAsync(SandboxPool pool, SandboxInstance instance, long deadlineMs)
    {
        await instance.WaitForExtensionsAsync(deadlineMs).ConfigureAwait(false);
        pool.Release(instance);
    }

    private void Observe(string requestId, FunctionRecord function, string resource, DateTimeOffset start, double? durationMs, InvocationOutcome outcome, int concurrent)
    {
        if (_observers.Length == 0)
        {
            return;
        }

        Notify(new InvocationRecord(requestId, function.Name, resource, function.Version, start, durationMs ?? 0,
            0, function.MemorySize, 0, null, outcome, concurrent));
    }

    // Child spans of the invoke span, timed after the fact from the REPORT figures: a cold start (from acquiring an
    // instance to the function's start) holding the init span, then the run.
    private static void TraceSpans(Activity parent, DateTimeOffset acquired, DateTimeOffset start, DateTimeOffset end, InvokeOutcome outcome, InvocationOutcome result)
    {
        parent.SetTag("faas.coldstart", outcome.InitDurationMs is not null);
        parent.SetTag("nimbus.outcome", result.ToString());
        if (result != InvocationOutcome.Success)
        {
            parent.SetStatus(ActivityStatusCode.Error, result.ToString());
        }

        if (outcome.InitDurationMs is { } initMs)
        {
            using var cold = NimbusTelemetry.Source.StartActivity(NimbusTelemetry.ColdStartSpan, ActivityKind.Internal, parent.Context, startTime: acquired);
            if (cold is not null)
            {
                var initEnd = start > acquired ? start : acquired;
                using (var init = NimbusTelemetry.Source.StartActivity(NimbusTelemetry.InitSpan, ActivityKind.Internal, cold.Context, startTime: initEnd - TimeSpan.FromMilliseconds(initMs)))
                {
                    init?.SetTag("faas.init_duration_ms", initMs);
                    init?.SetEndTime(initEnd.UtcDateTime);
                }

                cold.SetEndTime(initEnd.UtcDateTime);
            }
        }

        using var run = NimbusTelemetry.Source.StartActivity(NimbusTelemetry.RunSpan, ActivityKind.Internal, parent.Context, startTime: start);
        if (run is not null)
        {
            run.SetTag("faas.duration_ms", outcome.DurationMs);
            run.SetTag("faas.billed_duration_ms", PlatformLog.BilledMs(outcome.DurationMs));
            run.SetEndTime(end.UtcDateTime);
        }
    }
}
