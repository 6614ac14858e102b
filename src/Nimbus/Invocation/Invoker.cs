using System.Text;
using Microsoft.Extensions.Logging;
using Nimbus.Functions;
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
    ILogger<Invoker> logger)
{
    private static readonly byte[] EmptyEvent = "{}"u8.ToArray();

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
        var grant = concurrency.TryAcquire(function.Name);
        if (grant.Lease is null)
        {
            Log.Throttled(logger, function.Name, grant.Throttle);
            return InvocationResult.Throttled(grant.Throttle);
        }

        // The lease is given back only after the instance is back in its pool, so the next invocation the lease
        // admits finds that instance warm instead of starting another.
        using var lease = grant.Lease;
        var pool = sandboxes.GetPool(function);
        var (instance, startError) = await pool.AcquireAsync(cancellationToken).ConfigureAwait(false);
        var requestId = request.RequestId;
        if (instance is null)
        {
            if (startError is null)
            {
                Log.Throttled(logger, function.Name, ConcurrencyThrottle.AccountConcurrencyInUse);
                return InvocationResult.Throttled(ConcurrencyThrottle.AccountConcurrencyInUse);
            }

            Log.InstanceStartFailed(logger, function.Name, Encoding.UTF8.GetString(startError));
            return new InvocationResult(InvocationStatus.FunctionError, startError, function.Version, null);
        }

        var invocation = new PendingInvocation
        {
            RequestId = requestId,
            Payload = request.Payload.IsEmpty ? EmptyEvent : request.Payload,
            InvokedFunctionArn = functions.FunctionArn(function.Name, request.Function.Qualifier),
            TraceId = request.TraceId ?? SandboxInstance.NewTraceId(time),
            ClientContext = request.ClientContext,
            ResponseStream = request.ResponseStream,
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

        Log.Invoked(logger, function.Name, requestId, outcome.Kind, outcome.DurationMs);
        return new InvocationResult(
            outcome.Kind == InvokeOutcomeKind.Response ? InvocationStatus.Success : InvocationStatus.FunctionError,
            outcome.Body,
            function.Version,
            request.TailLog ? outcome.LogTail : null);
    }

    private static async Task ReleaseAfterExtensionsAsync(SandboxPool pool, SandboxInstance instance, long deadlineMs)
    {
        await instance.WaitForExtensionsAsync(deadlineMs).ConfigureAwait(false);
        pool.Release(instance);
    }
}
