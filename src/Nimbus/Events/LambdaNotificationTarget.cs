using Microsoft.Extensions.Options;
using Nimbus.Functions;
using Nimbus.Invocation;

namespace Nimbus.Events;

/// <summary>
/// Hands a bucket notification to a function as an asynchronous (Event) invocation: stored durably by
/// <see cref="AsyncInvocationQueue"/>, so it gets Lambda's retries, event age limits and destinations.
/// </summary>
internal sealed class LambdaNotificationTarget(AsyncInvocationQueue queue, FunctionService functions, IOptions<NimbusOptions> options) : INotificationTarget
{
    public NotificationTargetKind Kind => NotificationTargetKind.Lambda;

    public async Task<NotificationDelivery> DeliverAsync(string targetArn, byte[] payload, CancellationToken cancellationToken)
    {
        var reference = FunctionReference.Parse(targetArn, null, options.Value.Region, options.Value.AccountId);
        if (reference.IsError)
        {
            return NotificationDelivery.Dropped;
        }

        var function = await functions.GetAsync(reference.Value, cancellationToken).ConfigureAwait(false);
        if (function.IsError)
        {
            return NotificationDelivery.Dropped;
        }

        var request = new InvocationRequest(Guid.NewGuid().ToString(), reference.Value, payload, null, TailLog: false);
        return await queue.TryEnqueueAsync(request).ConfigureAwait(false) ? NotificationDelivery.Delivered : NotificationDelivery.RetryLater;
    }
}
