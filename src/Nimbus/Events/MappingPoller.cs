using System.Diagnostics;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using Nimbus.Functions;
using Nimbus.Invocation;
using Nimbus.Metrics;

namespace Nimbus.Events;

/// <summary>
/// The poller of one enabled SQS mapping: workers that each long-poll the queue for a batch, invoke the function
/// synchronously through the <see cref="Invoker"/>, and delete what succeeded. Workers are added while batches come
/// back full or the queue keeps a backlog, up to <c>ScalingConfig.MaximumConcurrency</c> (and the node's instance
/// count); a worker that finds the queue empty or is throttled leaves, down to one. FIFO order holds because the
/// queue hands out a message group only when none of its messages is in flight, and a group's messages after a
/// failed one are never deleted ahead of it.
/// </summary>
internal sealed class MappingPoller : IDisposable
{
    /// <summary>Lambda's payload limit for a synchronous invocation; a batch is split to stay under it.</summary>
    private const int MaxPayloadBytes = 6 * 1024 * 1024;

    /// <summary>Bytes a record adds beyond its body (ids, handle, attributes), counted generously.</summary>
    private const int RecordOverheadBytes = 2048;

    private const int MaxMessagesPerReceive = 10;
    private static readonly TimeSpan LongPoll = TimeSpan.FromSeconds(20);
    private static readonly TimeSpan QueueMissingRetry = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan MinBackoff = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan NotPermittedRetry = TimeSpan.FromSeconds(2);

    private readonly IEventSourceQueues _queues;
    private readonly Invoker _invoker;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly string _region;
    private readonly int _maxWorkers;
    private readonly IReadOnlyList<EventFilterPattern> _filters;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Lock _lock = new();
    private readonly List<Task> _workers = [];
    private EventSourceQueue? _queue;
    private int _workerCount;
    private long _lastBacklog;
    private readonly PollerPermissions? _permissions;
    private int _notPermitted;

    public MappingPoller(EventSourceMappingRecord record, EventSourceQueue? queue, IEventSourceQueues queues, Invoker invoker, NimbusOptions options, TimeProvider time, ILogger logger, PollerPermissions? permissions = null)
    {
        _permissions = permissions;
        Record = record;
        _queue = queue;
        _queues = queues;
        _invoker = invoker;
        _time = time;
        _logger = logger;
        _region = options.Region;
        _maxWorkers = Math.Max(1, Math.Min(record.MaximumConcurrency ?? EventSourceMappingService.MaxMaximumConcurrency, options.MaxInstances));
        _filters = [.. (record.FilterPatterns ?? []).Select(p => EventFilterPattern.TryParse(p, out var parsed, out _) ? parsed! : null).OfType<EventFilterPattern>()];
    }

    public EventSourceMappingRecord Record { get; }

    public long LastBacklog => Interlocked.Read(ref _lastBacklog);

    public int Workers => Volatile.Read(ref _workerCount);

    public void Start() => TryAddWorker(force: true);

    /// <summary>Stops receiving; batches in flight run to their end; messages received and not yet run are made visible again.</summary>
    public async Task StopAsync()
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        Task[] workers;
        lock (_lock)
        {
            workers = [.. _workers];
        }

        await Task.WhenAll(workers).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }

    public void Dispose() => _stopping.Dispose();

    private bool TryAddWorker(bool force = false)
    {
        lock (_lock)
        {
            if (_stopping.IsCancellationRequested || (!force && _workerCount >= _maxWorkers))
            {
                return false;
            }

            _workerCount++;
            _workers.RemoveAll(t => t.IsCompleted);
            _workers.Add(Task.Run(WorkAsync));
            return true;
        }
    }

    /// <summary>Leaves when more than one worker runs; false for the last one, which keeps polling.</summary>
    private bool TryLeave()
    {
        lock (_lock)
        {
            if (_workerCount <= 1)
            {
                return false;
            }

            _workerCount--;
            return true;
        }
    }

    private async Task WorkAsync()
    {
        var stop = _stopping.Token;
        var left = false;
        try
        {
            while (!stop.IsCancellationRequested && !left)
            {
                try
                {
                    left = await RunOnceAsync(stop).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (stop.IsCancellationRequested)
                {
                    return;
                }
#pragma warning disable CA1031 // A poller's unexpected failure is logged and polling goes on after a pause.
                catch (Exception e)
#pragma warning restore CA1031
                {
                    QueuePollers.Log.PollerFailed(_logger, Record.Uuid, e);
                    await Task.Delay(MaxBackoff, _time, stop).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                }
            }
        }
        finally
        {
            if (!left)
            {
                lock (_lock)
                {
                    _workerCount--;
                }
            }
        }
    }

    /// <summary>One batch, start to end; true when this worker left (see <see cref="TryLeave"/>).</summary>
    private async Task<bool> RunOnceAsync(CancellationToken stop)
    {
        if (_permissions is not null && await _permissions.ProblemAsync(Record, stop).ConfigureAwait(false) is { } problem)
        {
            // The role no longer allows polling: receive nothing (as AWS) until it does again; one worker keeps checking.
            if (Interlocked.Exchange(ref _notPermitted, 1) == 0)
            {
                QueuePollers.Log.PollingNotPermitted(_logger, Record.Uuid, Record.FunctionName, problem);
            }

            if (TryLeave())
            {
                return true;
            }

            await Task.Delay(NotPermittedRetry, _time, stop).ConfigureAwait(false);
            return false;
        }

        if (Interlocked.Exchange(ref _notPermitted, 0) == 1)
        {
            QueuePollers.Log.PollingPermittedAgain(_logger, Record.Uuid, Record.FunctionName);
        }

        var queue = await QueueAsync(stop).ConfigureAwait(false);
        var batch = await CollectAsync(queue, stop).ConfigureAwait(false);
        if (batch.Count == 0)
        {
            return TryLeave();
        }

        if (stop.IsCancellationRequested)
        {
            await ReleaseAsync(queue, batch).ConfigureAwait(false);
            return false;
        }

        // The role may have lost its permissions during a long poll: what was received goes back, unprocessed.
        if (_permissions is not null && await _permissions.ProblemAsync(Record, stop).ConfigureAwait(false) is not null)
        {
            await ReleaseAsync(queue, batch).ConfigureAwait(false);
            return false;
        }

        var backlog = await _queues.BacklogAsync(queue.Arn, CancellationToken.None).ConfigureAwait(false);
        Interlocked.Exchange(ref _lastBacklog, backlog);
        if (batch.Count >= Record.BatchSize || backlog > 0)
        {
            TryAddWorker();
        }

        return !await ProcessAsync(queue, batch, stop).ConfigureAwait(false) && TryLeave();
    }

    private async Task<EventSourceQueue> QueueAsync(CancellationToken stop)
    {
        while (true)
        {
            if (_queue is { } known)
            {
                return known;
            }

            _queue = await _queues.FindAsync(Record.EventSourceArn, stop).ConfigureAwait(false);
            if (_queue is null)
            {
                await Task.Delay(QueueMissingRetry, _time, stop).ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// One batch: a long poll for the first messages, then more until <c>BatchSize</c>, the batching window's end,
    /// or (without a window) the queue has no more ready. Stopping ends the collection with what it has.
    /// </summary>
    private async Task<List<EventSourceMessage>> CollectAsync(EventSourceQueue queue, CancellationToken stop)
    {
        var batch = new List<EventSourceMessage>();
        var window = TimeSpan.FromSeconds(Record.MaximumBatchingWindowInSeconds);
        var started = _time.GetUtcNow();
        try
        {
            while (batch.Count < Record.BatchSize)
            {
                var remaining = window - (_time.GetUtcNow() - started);
                var wait = batch.Count == 0 ? (window > TimeSpan.Zero ? Min(remaining, LongPoll) : LongPoll) : Max(Min(remaining, LongPoll), TimeSpan.Zero);
                if (batch.Count > 0 && wait <= TimeSpan.Zero && window > TimeSpan.Zero)
                {
                    break;
                }

                var received = await _queues.ReceiveAsync(queue.Arn, Math.Min(MaxMessagesPerReceive, Record.BatchSize - batch.Count), Max(wait, TimeSpan.Zero), stop).ConfigureAwait(false);
                if (received is null)
                {
                    // The queue is gone: look it up again after a pause (it may be created anew).
                    _queue = null;
                    if (batch.Count == 0)
                    {
                        await Task.Delay(QueueMissingRetry, _time, stop).ConfigureAwait(false);
                    }

                    break;
                }

                batch.AddRange(received);
                if (received.Count == 0 && (batch.Count > 0 || window <= TimeSpan.Zero || _time.GetUtcNow() - started >= window))
                {
                    break;
                }
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }

        return batch;
    }

    /// <summary>Runs a batch (split to stay under the payload limit); false when the function was throttled, so the worker may leave.</summary>
    private async Task<bool> ProcessAsync(EventSourceQueue queue, List<EventSourceMessage> batch, CancellationToken stop)
    {
        var records = new List<(EventSourceMessage Message, JsonObject Record)>(batch.Count);
        var filteredOut = new List<string>();
        foreach (var message in batch)
        {
            var record = SqsEvent.Record(message, queue.Arn, _region);
            if (_filters.Count > 0 && !_filters.Any(f => f.Matches(SqsEvent.FilterView(record))))
            {
                filteredOut.Add(message.ReceiptHandle);
                continue;
            }

            records.Add((message, record));
        }

        // Lambda deletes the messages no filter matches without invoking the function.
        if (filteredOut.Count > 0)
        {
            await _queues.DeleteAsync(queue.Arn, filteredOut, CancellationToken.None).ConfigureAwait(false);
        }

        var notThrottled = true;
        var chunk = new List<(EventSourceMessage Message, JsonObject Record)>();
        var size = 0;
        foreach (var item in records)
        {
            var itemSize = System.Text.Encoding.UTF8.GetByteCount(item.Message.Body) + RecordOverheadBytes;
            if (chunk.Count > 0 && size + itemSize > MaxPayloadBytes)
            {
                notThrottled &= await InvokeAsync(queue, chunk, stop).ConfigureAwait(false);
                chunk = [];
                size = 0;
            }

            chunk.Add(item);
            size += itemSize;
        }

        if (chunk.Count > 0)
        {
            notThrottled &= await InvokeAsync(queue, chunk, stop).ConfigureAwait(false);
        }

        return notThrottled;
    }

    private async Task<bool> InvokeAsync(EventSourceQueue queue, List<(EventSourceMessage Message, JsonObject Record)> chunk, CancellationToken stop)
    {
        var payload = SqsEvent.Build(chunk.Select(c => c.Record));
        var messages = chunk.Select(c => c.Message).ToList();

        // One span per delivered batch, the parent of the invocation's spans (throttled attempts included).
        using var activity = NimbusTelemetry.Source.StartActivity(NimbusTelemetry.QueueBatchSpan, ActivityKind.Consumer);
        activity?.SetTag("messaging.system", "aws_sqs");
        activity?.SetTag("messaging.destination.name", queue.Arn);
        activity?.SetTag("messaging.batch.message_count", messages.Count);
        activity?.SetTag("nimbus.event_source_mapping", Record.Uuid);
        activity?.SetTag("faas.name", Record.FunctionName);

        // As Lambda does, the function continues the trace of a message sent with an AWSTraceHeader (of a batch, the
        // first message that has one).
        var traceHeader = SqsEvent.TraceHeader(messages);
        var function = new FunctionReference(Record.FunctionName, Record.Qualifier);
        var visibleAgainAt = _time.GetUtcNow() + queue.VisibilityTimeout;
        var backoff = MinBackoff;
        var throttled = false;
        while (true)
        {
            // Batches in flight run to their end even while the poller stops: the invocation is bounded by the
            // function's timeout, and its messages are deleted only after it answers.
            var request = new InvocationRequest(Guid.NewGuid().ToString(), function, payload, null, TailLog: false, traceHeader);
            var result = await _invoker.InvokeAsync(request, CancellationToken.None).ConfigureAwait(false);
            switch (result)
            {
                case { Status: InvocationStatus.Success }:
                    await DeleteSucceededAsync(queue, messages, result.Payload).ConfigureAwait(false);
                    return !throttled;

                case { Status: InvocationStatus.FunctionError }:
                    activity?.SetStatus(ActivityStatusCode.Error, nameof(InvocationStatus.FunctionError));
                    QueuePollers.Log.BatchFailed(_logger, Record.Uuid, Record.FunctionName, messages.Count);
                    return !throttled;

                case { Throttle: not ConcurrencyThrottle.None }:
                    throttled = true;
                    break;

                case { Status: InvocationStatus.Rejected, Error.Type: LambdaError.Service }:
                    // The node is draining: the messages go back to the queue for the next start.
                    await ReleaseAsync(queue, messages).ConfigureAwait(false);
                    return false;

                default:
                    QueuePollers.Log.BatchRejected(_logger, Record.Uuid, Record.FunctionName, result.Error?.Message ?? "");
                    await Task.Delay(MaxBackoff, _time, CancellationToken.None).ConfigureAwait(false);
                    return false;
            }

            // Throttled: retry with backoff while the messages are still ours; stopping hands them back at once.
            if (stop.IsCancellationRequested)
            {
                await ReleaseAsync(queue, messages).ConfigureAwait(false);
                return false;
            }

            if (_time.GetUtcNow() + backoff >= visibleAgainAt - backoff)
            {
                QueuePollers.Log.BatchThrottled(_logger, Record.Uuid, Record.FunctionName, messages.Count);
                return false;
            }

            try
            {
                await Task.Delay(backoff, _time, stop).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }

            backoff = Min(backoff * 2, MaxBackoff);
        }
    }

    /// <summary>
    /// Deletes what succeeded: everything, or with <c>ReportBatchItemFailures</c> all but the reported items (an
    /// invalid report fails the whole batch). On a FIFO queue a group's messages after its first failure stay too.
    /// </summary>
    private async Task DeleteSucceededAsync(EventSourceQueue queue, List<EventSourceMessage> messages, byte[] response)
    {
        IReadOnlySet<string> failed = new HashSet<string>(StringComparer.Ordinal);
        if (Record.ReportBatchItemFailures)
        {
            var ids = messages.Select(m => m.MessageId).ToHashSet(StringComparer.Ordinal);
            if (SqsEvent.FailedItems(response, ids) is not { } reported)
            {
                QueuePollers.Log.InvalidBatchResponse(_logger, Record.Uuid, Record.FunctionName);
                return;
            }

            failed = reported;
        }

        var delete = new List<string>(messages.Count);
        var failedGroups = new HashSet<string>(StringComparer.Ordinal);
        foreach (var message in messages)
        {
            message.Attributes.TryGetValue("MessageGroupId", out var group);
            if (failed.Contains(message.MessageId))
            {
                if (queue.IsFifo && group is not null)
                {
                    failedGroups.Add(group);
                }

                continue;
            }

            if (queue.IsFifo && group is not null && failedGroups.Contains(group))
            {
                continue;
            }

            delete.Add(message.ReceiptHandle);
        }

        if (delete.Count > 0)
        {
            await _queues.DeleteAsync(queue.Arn, delete, CancellationToken.None).ConfigureAwait(false);
        }

        if (failed.Count > 0)
        {
            QueuePollers.Log.BatchItemsFailed(_logger, Record.Uuid, Record.FunctionName, messages.Count - delete.Count, messages.Count);
        }
    }

    private Task ReleaseAsync(EventSourceQueue queue, List<EventSourceMessage> messages) =>
        _queues.ReleaseAsync(queue.Arn, [.. messages.Select(m => m.ReceiptHandle)], CancellationToken.None);

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;
}
