using Nimbus.Queues;

namespace Nimbus.Events;

/// <summary><see cref="IEventSourceQueues"/> over the in-process <see cref="QueueService"/>: queues are named by their ARN.</summary>
internal sealed class QueueServiceEventSource(QueueService queues) : IEventSourceQueues
{
    public async Task<EventSourceQueue?> FindAsync(string queueArn, CancellationToken cancellationToken)
    {
        if (!queues.TryResolveArn(queueArn, out var name) || await queues.GetSettingsAsync(name).ConfigureAwait(false) is not { } settings)
        {
            return null;
        }

        return new EventSourceQueue(settings.Arn, settings.IsFifo, TimeSpan.FromSeconds(settings.VisibilityTimeoutSeconds));
    }

    public async Task<IReadOnlyList<EventSourceMessage>?> ReceiveAsync(string queueArn, int maxMessages, TimeSpan wait, CancellationToken cancellationToken)
    {
        if (!queues.TryResolveArn(queueArn, out var name))
        {
            return null;
        }

        var received = await queues.ReceiveAsync(name, maxMessages, null, wait, cancellationToken).ConfigureAwait(false);
        if (received.Error is not null)
        {
            return null;
        }

        return [.. received.Value!.Select(m => new EventSourceMessage(
            m.MessageId,
            m.ReceiptHandle,
            m.Body,
            m.Md5OfBody,
            m.SystemAttributes,
            m.MessageAttributes.ToDictionary(a => a.Key, a => new EventSourceMessageAttribute(a.Value.DataType, a.Value.StringValue, a.Value.BinaryValue), StringComparer.Ordinal),
            m.Md5OfAttributes))];
    }

    public async Task DeleteAsync(string queueArn, IReadOnlyList<string> receiptHandles, CancellationToken cancellationToken)
    {
        if (queues.TryResolveArn(queueArn, out var name))
        {
            await Task.WhenAll(receiptHandles.Select(handle => queues.DeleteMessageAsync(name, handle))).ConfigureAwait(false);
        }
    }

    public async Task ReleaseAsync(string queueArn, IReadOnlyList<string> receiptHandles, CancellationToken cancellationToken)
    {
        if (queues.TryResolveArn(queueArn, out var name))
        {
            await Task.WhenAll(receiptHandles.Select(handle => queues.ChangeVisibilityAsync(name, handle, 0))).ConfigureAwait(false);
        }
    }

    public async Task<long> BacklogAsync(string queueArn, CancellationToken cancellationToken) =>
        queues.TryResolveArn(queueArn, out var name) && await queues.GetBacklogAsync(name).ConfigureAwait(false) is { } backlog ? backlog.Visible : 0;

    public Security.PolicyDocument? PolicyOf(string queueArn) =>
        queues.TryResolveArn(queueArn, out var name) ? queues.PolicyOf(name) : null;

    public async Task<bool> SendAsync(string queueArn, string body, IReadOnlyDictionary<string, EventSourceMessageAttribute> attributes, CancellationToken cancellationToken, string? traceHeader = null)
    {
        if (!queues.TryResolveArn(queueArn, out var name))
        {
            return false;
        }

        var input = new QueueMessageInput(
            body,
            attributes.Count == 0 ? null : attributes.ToDictionary(a => a.Key, a => new MessageAttributeValue(a.Value.DataType, a.Value.StringValue, a.Value.BinaryValue), StringComparer.Ordinal),
            TraceHeader: traceHeader);
        var sent = await queues.SendAsync(name, input).ConfigureAwait(false);
        return sent.Error is null;
    }
}
