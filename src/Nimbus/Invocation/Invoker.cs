using System.Text;
using Microsoft.Extensions.Logging;
using Nimbus.Functions;
using Nimbus.Sandboxes;

namespace Nimbus.Invocation;

/// <summary>
/// Runs invocations: resolves the function version, takes an instance from its pool (starting one when all are
/// busy), hands the event over through the Runtime API and returns the outcome. Triggers and the Invoke API
/// all come through here.
/// </summary>
internal sealed partial class Invoker(FunctionService functions, SandboxManager sandboxes, TimeProvider time, ILogger<Invoker> logger)
{
    private static readonly byte[] EmptyEvent = "{}"u8.ToArray();

    /// <summary>Checks that a function exists and could be invoked, without running it (DryRun).</summary>
    public async Task<LambdaError?> CheckAsync(FunctionReference reference, CancellationToken cancellationToken)
    {
        var function = await functions.GetAsync(reference, cancellationToken).ConfigureAwait(false);
        return function.Error;
    }

    public async Task<InvocationResult> InvokeAsync(InvocationRequest request, CancellationToken cancellationToken)
    {
        var found = await functions.GetAsync(request.Function, cancellationToken).ConfigureAwait(false);
        if (found.IsError)
        {
            return InvocationResult.Rejected(found.Error!);
        }

        var function = found.Value!;
        var pool = sandboxes.GetPool(function);
        var (instance, startError) = await pool.AcquireAsync(cancellationToken).ConfigureAwait(false);
        var requestId = Guid.NewGuid().ToString();
        if (instance is null)
        {
            if (startError is null)
            {
                return InvocationResult.Rejected(LambdaError.Throttled("ConcurrentInvocationLimitExceeded", "Rate Exceeded."));
            }

            Log.InstanceStartFailed(logger, function.Name, Encoding.UTF8.GetString(startError));
            return new InvocationResult(InvocationStatus.FunctionError, startError, function.Version, null);
        }

        var invocation = new PendingInvocation
        {
            RequestId = requestId,
            Payload = request.Payload.IsEmpty ? EmptyEvent : request.Payload,
            InvokedFunctionArn = functions.FunctionArn(function.Name, request.Function.Qualifier),
            TraceId = SandboxInstance.NewTraceId(time),
            ClientContext = request.ClientContext,
        };

        InvokeOutcome outcome;
        try
        {
            outcome = await instance.InvokeAsync(invocation, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            pool.Release(instance);
        }

        Log.Invoked(logger, function.Name, requestId, outcome.Kind, outcome.DurationMs);
        return new InvocationResult(
            outcome.Kind == InvokeOutcomeKind.Response ? InvocationStatus.Success : InvocationStatus.FunctionError,
            outcome.Body,
            function.Version,
            request.TailLog ? outcome.LogTail : null);
    }
}
