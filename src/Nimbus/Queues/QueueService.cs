using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Nimbus.Storage;
using A = Nimbus.Queues.SqsWire.Attributes;
using M = Nimbus.Queues.SqsWire.MessageAttributes;

namespace Nimbus.Queues;

/// <summary>
/// The SQS-compatible queues of this node: the one API both wire protocols and the other triggers (event source
/// mappings, async-invoke destinations, bucket notifications) use. Queues are addressed by name, ARN or URL.
/// </summary>
/// <remarks>
/// All queue state lives in memory under one gate (<see cref="_gate"/>); every change is also handed to
/// <see cref="IQueueStore"/> under that gate, so queues.db always holds a prefix of what happened, and an operation
/// answers only after its change is committed. Waiting receives (long polling) wait on the queue's arrival signal or
/// the next time a message becomes visible, never on a polling loop. At most <see cref="MaxOperationsInFlight"/>
/// changes wait for their commit at once: back-pressure for the unbounded write queue.
/// </remarks>
internal sealed partial class QueueService : IHostedService, IDisposable
{
    private const int MaxOperationsInFlight = 8_192;

    private readonly IQueueStore _store;
    private readonly TimeProvider _time;
    private readonly ILogger<QueueService> _logger;
    private readonly string _arnPrefix;
    private readonly Lock _gate = new();
    private readonly Dictionary<string, QueueState> _queues = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _admission = new(MaxOperationsInFlight);
    private readonly CancellationTokenSource _stopping = new();
    private readonly Lazy<Task> _loaded;
    private readonly System.Runtime.CompilerServices.ConditionalWeakTable<string, ParsedPolicy> _parsedPolicies = new();
    private long _nextSeq = 1;

    public QueueService(IQueueStore store, TimeProvider time, IOptions<NimbusOptions> options, ILogger<QueueService> logger)
    {
        _store = store;
        _time = time;
        _logger = logger;
        AccountId = options.Value.AccountId;
        Region = options.Value.Region;
        _arnPrefix = $"arn:aws:sqs:{Region}:{AccountId}:";
        _loaded = new Lazy<Task>(LoadAsync);
    }

    public string AccountId { get; }

    public string Region { get; }

    public Task StartAsync(CancellationToken cancellationToken) => _loaded.Value;

    public Task StopAsync(CancellationToken cancellationToken)
    {
        _stopping.Cancel();
        return Task.CompletedTask;
    }

    public void Dispose()
    {
        _stopping.Dispose();
        _admission.Dispose();
    }

    /// <summary>Ends when the server stops: waiting receives return what they have.</summary>
    public CancellationToken Stopping => _stopping.Token;

    public string ArnOf(string queueName) => _arnPrefix + queueName;

    /// <summary>The queue name in an SQS ARN of this account and region.</summary>
    public bool TryResolveArn(string arn, out string queueName)
    {
        queueName = arn.StartsWith(_arnPrefix, StringComparison.Ordinal) ? arn[_arnPrefix.Length..] : "";
        return queueName.Length > 0 && !queueName.Contains(':', StringComparison.Ordinal);
    }

    /// <summary>A queue's name from its name, ARN or URL (<c>http://host/account/name</c>); null when it is none of these.</summary>
    public string? ResolveName(string queue)
    {
        if (TryResolveArn(queue, out var name))
        {
            return name;
        }

        if (Uri.TryCreate(queue, UriKind.Absolute, out var url) && url.Scheme is "http" or "https")
        {
            var segments = url.AbsolutePath.Split('/', StringSplitOptions.RemoveEmptyEntries);
            return segments.Length == 2 ? Uri.UnescapeDataString(segments[1]) : null;
        }

        return queue.Length > 0 && !queue.Contains('/', StringComparison.Ordinal) && !queue.Contains(':', StringComparison.Ordinal) ? queue : null;
    }

    public async Task<QueueSettings?> GetSettingsAsync(string queue)
    {
        await _loaded.Value.ConfigureAwait(false);
        lock (_gate)
        {
            return Find(queue)?.Settings;
        }
    }

    public async Task<QueueBacklog?> GetBacklogAsync(string queue)
    {
        await _loaded.Value.ConfigureAwait(false);
        lock (_gate)
        {
            return Find(queue) is { } state ? Count(state, _time.GetUtcNow()) : null;
        }
    }

    /// <summary>
    /// Creates a queue, or returns the existing one when every given attribute equals its current value
    /// (<c>QueueNameExists</c> otherwise). The result is the queue's name.
    /// </summary>
    public async Task<QueueResult<string>> CreateQueueAsync(string? name, IReadOnlyDictionary<string, string> attributes, IReadOnlyDictionary<string, string> tags)
    {
        if (QueueAttributeRules.ValidateName(name) is { } nameError)
        {
            return nameError;
        }

        if (tags.Count > SqsWire.Limits.MaxTagsPerQueue)
        {
            return QueueError.InvalidParameter($"Too many tags: {tags.Count}; a queue may have at most {SqsWire.Limits.MaxTagsPerQueue}.");
        }

        await _loaded.Value.ConfigureAwait(false);
        Task durable;
        lock (_gate)
        {
            if (_queues.TryGetValue(name!, out var existing))
            {
                foreach (var (key, value) in attributes)
                {
                    if (!existing.Attributes.TryGetValue(key, out var current) || !string.Equals(current, value, StringComparison.OrdinalIgnoreCase))
                    {
                        return new QueueError(SqsWire.Errors.QueueNameExists,
                            $"A queue already exists with the same name and a different value for attribute {key}.");
                    }
                }

                return name!;
            }

            var checkedAttributes = QueueAttributeRules.ForNewQueue(name!, attributes, FindSettingsByArn);
            if (checkedAttributes.Error is { } error)
            {
                return error;
            }

            var state = new QueueState(name!, ArnOf(name!), Now(), checkedAttributes.Value!, new Dictionary<string, string>(tags, StringComparer.Ordinal));
            _queues.Add(name!, state);
            durable = _store.Append([new QueueWrite.PutQueue(state.ToRow())]);
        }

        Log.QueueCreated(_logger, name!);
        return await CommitAsync(durable).ConfigureAwait(false) ?? (QueueResult<string>)name!;
    }

    public async Task<bool> ExistsAsync(string queue)
    {
        await _loaded.Value.ConfigureAwait(false);
        lock (_gate)
        {
            return Find(queue) is not null;
        }
    }

    /// <summary>Queue names in order, starting after <paramref name="after"/>, at most <paramref name="max"/>.</summary>
    public async Task<(IReadOnlyList<string> Names, bool More)> ListQueuesAsync(string? prefix, string? after, int max)
    {
        await _loaded.Value.ConfigureAwait(false);
        lock (_gate)
        {
            var names = _queues.Keys
                .Where(n => prefix is null || n.StartsWith(prefix, StringComparison.Ordinal))
                .Where(n => after is null || string.CompareOrdinal(n, after) > 0)
                .Order(StringComparer.Ordinal)
                .Take(max + 1)
                .ToList();
            var more = names.Count > max;
            return (more ? names[..max] : names, more);
        }
    }

    public async Task<IReadOnlyList<string>> ListDeadLetterSourcesAsync(string queue)
    {
        await _loaded.Value.ConfigureAwait(false);
        lock (_gate)
        {
            return Find(queue) is { } target
                ? _queues.Values.Where(q => q.Settings.RedrivePolicy?.DeadLetterTargetArn == target.Arn).Select(q => q.Name).Order(StringComparer.Ordinal).ToList()
                : [];
        }
    }

    public async Task<QueueError?> DeleteQueueAsync(string queue)
    {
        await _loaded.Value.ConfigureAwait(false);
        Task durable;
        string name;
        lock (_gate)
        {
            if (Find(queue) is not { } state)
            {
                return QueueError.NoQueue();
            }

            name = state.Name;
            _queues.Remove(name);
            state.Deleted = true;
            state.Signal();
            durable = _store.Append([new QueueWrite.DropQueue(name)]);
        }

        Log.QueueDeleted(_logger, name);
        return await CommitAsync(durable).ConfigureAwait(false);
    }

    public async Task<QueueResult<SendOutcome>> SendAsync(string queue, QueueMessageInput input)
    {
        var results = await SendBatchAsync(queue, [input]).ConfigureAwait(false);
        return results.Error is { } error ? error : results.Value![0];
    }

    /// <summary>
    /// Sends messages in order, in one commit. The outer error is about the queue (it does not exist); each entry has
    /// its own outcome, as SendMessageBatch reports them.
    /// </summary>
    public async Task<QueueResult<IReadOnlyList<QueueResult<SendOutcome>>>> SendBatchAsync(string queue, IReadOnlyList<QueueMessageInput> inputs)
    {
        await _loaded.Value.ConfigureAwait(false);
        await _admission.WaitAsync().ConfigureAwait(false);
        try
        {
            var outcomes = new QueueResult<SendOutcome>[inputs.Count];
            var writes = new List<QueueWrite>(inputs.Count);
            lock (_gate)
            {
                if (Find(queue) is not { } state)
                {
                    return QueueError.NoQueue();
                }

                var now = Now();
                for (var i = 0; i < inputs.Count; i++)
                {
                    outcomes[i] = Send(state, inputs[i], now, writes);
                }

                if (writes.Count > 0)
                {
                    state.Signal();
                }
            }

            if (writes.Count > 0 && await CommitAsync(_store.Append(writes)).ConfigureAwait(false) is { } failure)
            {
                return failure;
            }

            return outcomes;
        }
        finally
        {
            _admission.Release();
        }
    }

    /// <summary>
    /// Receives up to <paramref name="max"/> messages, waiting up to <paramref name="wait"/> for the first one.
    /// Returns early, with what it has, when <paramref name="cancellationToken"/> or the server stops.
    /// </summary>
    public async Task<QueueResult<IReadOnlyList<ReceivedMessage>>> ReceiveAsync(
        string queue, int max, int? visibilityTimeoutSeconds, TimeSpan wait, CancellationToken cancellationToken)
    {
        if (max is < 1 or > SqsWire.Limits.MaxReceiveMessages)
        {
            return QueueError.InvalidParameter($"Value {max} for parameter MaxNumberOfMessages is invalid. Reason: Must be between 1 and 10, if provided.");
        }

        if (visibilityTimeoutSeconds is < 0 or > SqsWire.Limits.MaxVisibilityTimeout)
        {
            return QueueError.InvalidParameter($"Value {visibilityTimeoutSeconds} for parameter VisibilityTimeout is invalid. Reason: Must be between 0 and 43200, if provided.");
        }

        if (wait < TimeSpan.Zero || wait > TimeSpan.FromSeconds(SqsWire.Limits.MaxWaitTimeSeconds))
        {
            return QueueError.InvalidParameter($"Value {wait.TotalSeconds} for parameter WaitTimeSeconds is invalid. Reason: Must be >= 0 and <= 20, if provided.");
        }

        await _loaded.Value.ConfigureAwait(false);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _stopping.Token);
        var deadline = Now() + wait;
        while (true)
        {
            List<ReceivedMessage> taken;
            Task arrival;
            DateTimeOffset wakeAt;
            Task? durable = null;
            lock (_gate)
            {
                if (Find(queue) is not { } state)
                {
                    return QueueError.NoQueue();
                }

                var now = Now();
                var writes = new List<QueueWrite>();
                taken = Take(state, max, visibilityTimeoutSeconds ?? state.Settings.VisibilityTimeoutSeconds, now, writes, out var nextVisible);
                if (writes.Count > 0)
                {
                    durable = _store.Append(writes);
                }

                arrival = state.Arrival;
                wakeAt = nextVisible is { } next && next < deadline ? next : deadline;
                if (taken.Count > 0 || now >= deadline || stop.IsCancellationRequested)
                {
                    wakeAt = DateTimeOffset.MinValue;
                }
            }

            if (durable is not null && await CommitAsync(durable).ConfigureAwait(false) is { } failure)
            {
                return failure;
            }

            if (wakeAt == DateTimeOffset.MinValue)
            {
                return taken;
            }

            var delay = wakeAt - Now();
            if (delay > TimeSpan.Zero)
            {
                using var timer = CancellationTokenSource.CreateLinkedTokenSource(stop.Token);
                var sleep = Task.Delay(delay, _time, timer.Token);
                await Task.WhenAny(arrival, sleep).ConfigureAwait(false);
                await timer.CancelAsync().ConfigureAwait(false);
            }
        }
    }

    /// <summary>Deletes the message a receipt handle names. A handle of an earlier receive, or of a message already gone, changes nothing.</summary>
    public async Task<QueueError?> DeleteMessageAsync(string queue, string? receiptHandle)
    {
        if (string.IsNullOrEmpty(receiptHandle))
        {
            return QueueError.Missing("ReceiptHandle");
        }

        await _loaded.Value.ConfigureAwait(false);
        Task? durable = null;
        lock (_gate)
        {
            if (Find(queue) is not { } state)
            {
                return QueueError.NoQueue();
            }

            if (!ReceiptHandle.TryDecode(receiptHandle, out var receipt) || receipt.QueueName != state.Name)
            {
                return QueueError.BadReceiptHandle(receiptHandle);
            }

            if (state.ById.TryGetValue(receipt.MessageId, out var message) && message.ReceiptToken == receipt.Token)
            {
                state.Remove(message);
                durable = _store.Append([new QueueWrite.RemoveMessage(message.Seq)]);
                if (state.IsFifo)
                {
                    state.Signal();
                }
            }
        }

        return durable is null ? null : await CommitAsync(durable).ConfigureAwait(false);
    }

    public async Task<QueueError?> ChangeVisibilityAsync(string queue, string? receiptHandle, int visibilityTimeoutSeconds)
    {
        if (string.IsNullOrEmpty(receiptHandle))
        {
            return QueueError.Missing("ReceiptHandle");
        }

        if (visibilityTimeoutSeconds is < 0 or > SqsWire.Limits.MaxVisibilityTimeout)
        {
            return QueueError.InvalidParameter(
                $"Value {visibilityTimeoutSeconds} for parameter VisibilityTimeout is invalid. Reason: Must be between 0 and {SqsWire.Limits.MaxVisibilityTimeout}.");
        }

        await _loaded.Value.ConfigureAwait(false);
        Task durable;
        lock (_gate)
        {
            if (Find(queue) is not { } state)
            {
                return QueueError.NoQueue();
            }

            if (!ReceiptHandle.TryDecode(receiptHandle, out var receipt) || receipt.QueueName != state.Name)
            {
                return QueueError.BadReceiptHandle(receiptHandle);
            }

            var now = Now();
            if (!state.ById.TryGetValue(receipt.MessageId, out var message) || message.ReceiptToken != receipt.Token || !message.IsInFlight(now))
            {
                return new QueueError(SqsWire.Errors.MessageNotInflight, "The message referred to isn't in flight.");
            }

            message.VisibleAt = now.AddSeconds(visibilityTimeoutSeconds);
            durable = _store.Append([Delivery(message)]);
            state.Signal();
        }

        return await CommitAsync(durable).ConfigureAwait(false);
    }

    /// <summary>Queue attributes by name (<c>All</c> for every one), as GetQueueAttributes answers them.</summary>
    public async Task<QueueResult<IReadOnlyDictionary<string, string>>> GetAttributesAsync(string queue, IReadOnlyCollection<string> names)
    {
        foreach (var name in names)
        {
            if (name != A.All && !A.Settable.Contains(name) && !A.ReadOnly.Contains(name))
            {
                return new QueueError(SqsWire.Errors.InvalidAttributeName, $"Unknown Attribute {name}.");
            }
        }

        await _loaded.Value.ConfigureAwait(false);
        lock (_gate)
        {
            if (Find(queue) is not { } state)
            {
                return QueueError.NoQueue();
            }

            var backlog = Count(state, Now());
            var all = new Dictionary<string, string>(state.Attributes, StringComparer.Ordinal)
            {
                [A.QueueArn] = state.Arn,
                [A.ApproximateNumberOfMessages] = Text(backlog.Visible),
                [A.ApproximateNumberOfMessagesNotVisible] = Text(backlog.InFlight),
                [A.ApproximateNumberOfMessagesDelayed] = Text(backlog.Delayed),
                [A.CreatedTimestamp] = Text(state.CreatedAt.ToUnixTimeSeconds()),
                [A.LastModifiedTimestamp] = Text(state.ModifiedAt.ToUnixTimeSeconds()),
            };
            return names.Contains(A.All)
                ? all
                : all.Where(p => names.Contains(p.Key)).ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal);
        }
    }

    public async Task<QueueError?> SetAttributesAsync(string queue, IReadOnlyDictionary<string, string> attributes)
    {
        await _loaded.Value.ConfigureAwait(false);
        Task durable;
        lock (_gate)
        {
            if (Find(queue) is not { } state)
            {
                return QueueError.NoQueue();
            }

            if (QueueAttributeRules.Apply(state.Attributes, attributes, state.IsFifo, creating: false, FindSettingsByArn) is { } error)
            {
                return error;
            }

            state.ModifiedAt = Now();
            state.RefreshSettings();
            state.Signal();
            durable = _store.Append([new QueueWrite.PutQueue(state.ToRow())]);
        }

        return await CommitAsync(durable).ConfigureAwait(false);
    }

    public async Task<QueueError?> PurgeAsync(string queue)
    {
        await _loaded.Value.ConfigureAwait(false);
        Task durable;
        lock (_gate)
        {
            if (Find(queue) is not { } state)
            {
                return QueueError.NoQueue();
            }

            var now = Now();
            if (state.LastPurge is { } last && now - last < SqsWire.Limits.PurgeInterval)
            {
                return new QueueError(SqsWire.Errors.PurgeQueueInProgress,
                    $"Only one PurgeQueue operation on {state.Name} is allowed every 60 seconds.");
            }

            state.LastPurge = now;
            state.Messages.Clear();
            state.ById.Clear();
            durable = _store.Append([new QueueWrite.Purge(state.Name)]);
        }

        return await CommitAsync(durable).ConfigureAwait(false);
    }

    public async Task<QueueResult<IReadOnlyDictionary<string, string>>> GetTagsAsync(string queue)
    {
        await _loaded.Value.ConfigureAwait(false);
        lock (_gate)
        {
            return Find(queue) is { } state
                ? new Dictionary<string, string>(state.Tags, StringComparer.Ordinal)
                : QueueError.NoQueue();
        }
    }

    public async Task<QueueError?> ChangeTagsAsync(string queue, IReadOnlyDictionary<string, string> add, IReadOnlyCollection<string> remove)
    {
        await _loaded.Value.ConfigureAwait(false);
        Task durable;
        lock (_gate)
        {
            if (Find(queue) is not { } state)
            {
                return QueueError.NoQueue();
            }

            if (state.Tags.Keys.Union(add.Keys).Except(remove).Count() > SqsWire.Limits.MaxTagsPerQueue)
            {
                return QueueError.InvalidParameter($"Too many tags: a queue may have at most {SqsWire.Limits.MaxTagsPerQueue}.");
            }

            foreach (var (key, value) in add)
            {
                state.Tags[key] = value;
            }

            foreach (var key in remove)
            {
                state.Tags.Remove(key);
            }

            durable = _store.Append([new QueueWrite.PutQueue(state.ToRow())]);
        }

        return await CommitAsync(durable).ConfigureAwait(false);
    }

    private QueueResult<SendOutcome> Send(QueueState state, QueueMessageInput input, DateTimeOffset now, List<QueueWrite> writes)
    {
        var settings = state.Settings;
        var validated = MessageRules.Validate(input, settings.MaximumMessageSize);
        if (validated.Error is { } invalid)
        {
            return invalid;
        }

        string? deduplicationId = null;
        if (state.IsFifo)
        {
            if (input.DelaySeconds is not null and not 0)
            {
                return QueueError.InvalidParameter(
                    $"Value {input.DelaySeconds} for parameter DelaySeconds is invalid. Reason: The request include parameter that is not valid for this queue type.");
            }

            if (input.MessageGroupId is null)
            {
                return QueueError.Missing("MessageGroupId");
            }

            if ((MessageRules.ValidateFifoId("MessageGroupId", input.MessageGroupId) ?? MessageRules.ValidateFifoId("MessageDeduplicationId", input.MessageDeduplicationId)) is { } idError)
            {
                return idError;
            }

            deduplicationId = input.MessageDeduplicationId
                ?? (settings.ContentBasedDeduplication ? Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(input.Body))) : null);
            if (deduplicationId is null)
            {
                return QueueError.InvalidParameter(
                    "The queue should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly.");
            }

            var key = Attributes(state).TryGetValue(A.DeduplicationScope, out var scope) && scope == "messageGroup"
                ? input.MessageGroupId + "\n" + deduplicationId
                : deduplicationId;
            if (state.Deduplication.TryGetValue(key, out var seen) && seen.Expires > now)
            {
                // The original message's id and sequence number, with digests of what this request sent (the SDKs check them).
                return seen.Outcome with { Md5OfBody = MessageMd5.OfBody(input.Body), Md5OfAttributes = MessageMd5.OfAttributes(input.Attributes) };
            }

            var outcome = Enqueue(state, input, now, deduplicationId, writes);
            state.Deduplication[key] = (outcome, now + SqsWire.Limits.DeduplicationWindow);
            if (state.Deduplication.Count > 1_000)
            {
                foreach (var expired in state.Deduplication.Where(p => p.Value.Expires <= now).Select(p => p.Key).ToList())
                {
                    state.Deduplication.Remove(expired);
                }
            }

            return outcome;
        }

        if (input.MessageDeduplicationId is not null)
        {
            return QueueError.InvalidParameter(
                "Value for parameter MessageDeduplicationId is invalid. Reason: The request include parameter that is not valid for this queue type.");
        }

        return Enqueue(state, input, now, null, writes);
    }

    private static Dictionary<string, string> Attributes(QueueState state) => state.Attributes;

    private SendOutcome Enqueue(QueueState state, QueueMessageInput input, DateTimeOffset now, string? deduplicationId, List<QueueWrite> writes)
    {
        var message = new QueueMessage
        {
            Seq = _nextSeq++,
            MessageId = Guid.NewGuid().ToString(),
            Body = input.Body,
            Attributes = input.Attributes is { Count: > 0 } attributes ? new Dictionary<string, MessageAttributeValue>(attributes, StringComparer.Ordinal) : QueueJson.Empty,
            SentAt = now,
            GroupId = input.MessageGroupId,
            DeduplicationId = deduplicationId,
            TraceHeader = input.TraceHeader,
            VisibleAt = now.AddSeconds(input.DelaySeconds ?? state.Settings.DelaySeconds),
        };
        state.Add(message);
        writes.Add(new QueueWrite.PutMessage(Row(state.Name, message)));
        return new SendOutcome(message.MessageId, message.Md5OfBody, message.Md5OfAttributes, state.IsFifo ? message.SequenceNumber : null);
    }

    /// <summary>
    /// Hands out visible messages in order; on a FIFO queue a group whose earlier message is in flight (or delayed)
    /// is skipped. Expired messages are dropped; a message received maxReceiveCount times moves to the dead-letter
    /// queue instead of being handed out again.
    /// </summary>
    private List<ReceivedMessage> Take(QueueState state, int max, int visibilitySeconds, DateTimeOffset now, List<QueueWrite> writes, out DateTimeOffset? nextVisible)
    {
        nextVisible = null;
        var taken = new List<ReceivedMessage>();
        var blockedGroups = state.IsFifo ? new HashSet<string>(StringComparer.Ordinal) : null;
        var settings = state.Settings;
        var deadLetter = settings.RedrivePolicy is { } redrive && TryResolveArn(redrive.DeadLetterTargetArn, out var dlqName)
            && _queues.TryGetValue(dlqName, out var dlq) && dlq != state ? dlq : null;
        List<QueueMessage>? expired = null;
        List<QueueMessage>? toDeadLetter = null;
        var retention = TimeSpan.FromSeconds(settings.RetentionSeconds);
        foreach (var message in state.Messages.Values)
        {
            if (message.SentAt + retention <= now)
            {
                (expired ??= []).Add(message);
                continue;
            }

            if (message.VisibleAt > now)
            {
                nextVisible = nextVisible is { } n && n < message.VisibleAt ? n : message.VisibleAt;
                if (blockedGroups is not null && message.GroupId is { } group)
                {
                    blockedGroups.Add(group);
                }

                continue;
            }

            if (blockedGroups is not null && message.GroupId is { } messageGroup && blockedGroups.Contains(messageGroup))
            {
                continue;
            }

            if (deadLetter is not null && message.ReceiveCount >= settings.RedrivePolicy!.MaxReceiveCount)
            {
                (toDeadLetter ??= []).Add(message);
                continue;
            }

            message.ReceiveCount++;
            message.FirstReceivedAt ??= now;
            message.ReceiptToken = ReceiptHandle.NewToken();
            message.VisibleAt = now.AddSeconds(visibilitySeconds);
            writes.Add(Delivery(message));
            taken.Add(ToReceived(state, message));
            if (taken.Count == max)
            {
                break;
            }
        }

        foreach (var message in expired ?? [])
        {
            state.Remove(message);
            writes.Add(new QueueWrite.RemoveMessage(message.Seq));
        }

        foreach (var message in toDeadLetter ?? [])
        {
            state.Remove(message);
            writes.Add(new QueueWrite.RemoveMessage(message.Seq));
            var moved = new QueueMessage
            {
                Seq = _nextSeq++,
                MessageId = message.MessageId,
                Body = message.Body,
                Attributes = message.Attributes,
                SentAt = message.SentAt,
                GroupId = message.GroupId,
                DeduplicationId = message.DeduplicationId,
                TraceHeader = message.TraceHeader,
                DeadLetterSourceArn = state.Arn,
                VisibleAt = now,
            };
            deadLetter!.Add(moved);
            writes.Add(new QueueWrite.PutMessage(Row(deadLetter.Name, moved)));
            Log.MovedToDeadLetterQueue(_logger, message.MessageId, state.Name, deadLetter.Name, message.ReceiveCount);
        }

        if (toDeadLetter is not null)
        {
            deadLetter!.Signal();
        }

        return taken;
    }

    private static ReceivedMessage ToReceived(QueueState state, QueueMessage message)
    {
        var system = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            [M.SenderId] = "AIDAIT2UOQQY3AUEKVGXU",
            [M.SentTimestamp] = Text(message.SentAt.ToUnixTimeMilliseconds()),
            [M.ApproximateReceiveCount] = Text(message.ReceiveCount),
            [M.ApproximateFirstReceiveTimestamp] = Text(message.FirstReceivedAt!.Value.ToUnixTimeMilliseconds()),
        };
        if (state.IsFifo)
        {
            system[M.SequenceNumber] = message.SequenceNumber;
            system[M.MessageDeduplicationId] = message.DeduplicationId ?? "";
        }

        if (message.GroupId is { } group)
        {
            system[M.MessageGroupId] = group;
        }

        if (message.TraceHeader is { } trace)
        {
            system[M.AwsTraceHeader] = trace;
        }

        if (message.DeadLetterSourceArn is { } source)
        {
            system[M.DeadLetterQueueSourceArn] = source;
        }

        return new ReceivedMessage(
            message.MessageId,
            new ReceiptHandle(state.Name, message.MessageId, message.ReceiptToken!).Encode(),
            message.Body,
            message.Md5OfBody,
            message.Md5OfAttributes,
            message.Attributes,
            system);
    }

    private static QueueBacklog Count(QueueState state, DateTimeOffset now)
    {
        int visible = 0, inFlight = 0, delayed = 0;
        foreach (var message in state.Messages.Values)
        {
            if (message.VisibleAt <= now)
            {
                visible++;
            }
            else if (message.ReceiveCount > 0)
            {
                inFlight++;
            }
            else
            {
                delayed++;
            }
        }

        return new QueueBacklog(visible, inFlight, delayed);
    }

    /// <summary>
    /// The queue's resource policy (its <c>Policy</c> attribute), parsed once per text; null when it has none or it
    /// does not parse (only policies that parse are accepted since they are evaluated).
    /// </summary>
    public Security.PolicyDocument? PolicyOf(string queueName)
    {
        string? text;
        lock (_gate)
        {
            text = _queues.TryGetValue(queueName, out var state) && state.Attributes.TryGetValue(A.Policy, out var policy) && policy.Length > 0 ? policy : null;
        }

        return text is null ? null : _parsedPolicies.GetValue(text, t => new ParsedPolicy(Security.PolicyDocument.TryParse(t, resourcePolicy: true, out _))).Document;
    }

    private sealed record ParsedPolicy(Security.PolicyDocument? Document);

    private QueueState? Find(string queue) =>
        ResolveName(queue) is { } name && _queues.TryGetValue(name, out var state) ? state : null;

    private QueueSettings? FindSettingsByArn(string arn) =>
        TryResolveArn(arn, out var name) && _queues.TryGetValue(name, out var state) ? state.Settings : null;

    private static async Task<QueueError?> CommitAsync(Task durable)
    {
        try
        {
            await durable.ConfigureAwait(false);
            return null;
        }
        catch (Exception e) when (e is Microsoft.Data.Sqlite.SqliteException or ObjectDisposedException)
        {
            return new QueueError(SqsWire.Errors.InternalFailure, "Nimbus could not store the change to queues.db; the server log has the details (event QueueBatchFailed).", SenderFault: false, Status: 500);
        }
    }

    private async Task LoadAsync()
    {
        var snapshot = await _store.LoadAsync(CancellationToken.None).ConfigureAwait(false);
        lock (_gate)
        {
            foreach (var row in snapshot.Queues)
            {
                var state = new QueueState(row.Name, ArnOf(row.Name), row.CreatedAt, QueueJson.ReadStrings(row.AttributesJson), QueueJson.ReadStrings(row.TagsJson))
                {
                    ModifiedAt = row.ModifiedAt,
                };
                _queues[row.Name] = state;
            }

            var now = Now();
            foreach (var row in snapshot.Messages)
            {
                _nextSeq = Math.Max(_nextSeq, row.Seq + 1);
                if (!_queues.TryGetValue(row.QueueName, out var state))
                {
                    continue;
                }

                var message = new QueueMessage
                {
                    Seq = row.Seq,
                    MessageId = row.MessageId,
                    Body = row.Body,
                    Attributes = QueueJson.ReadMessageAttributes(row.AttributesJson),
                    SentAt = row.SentAt,
                    GroupId = row.GroupId,
                    DeduplicationId = row.DeduplicationId,
                    TraceHeader = row.TraceHeader,
                    DeadLetterSourceArn = row.DeadLetterSourceArn,
                    VisibleAt = row.VisibleAt,
                    ReceiveCount = row.ReceiveCount,
                    FirstReceivedAt = row.FirstReceivedAt,
                    ReceiptToken = row.ReceiptToken,
                };
                state.Add(message);
                if (state.IsFifo && row.DeduplicationId is { } dedup && row.SentAt + SqsWire.Limits.DeduplicationWindow > now)
                {
                    var key = state.Attributes.TryGetValue(A.DeduplicationScope, out var scope) && scope == "messageGroup" ? row.GroupId + "\n" + dedup : dedup;
                    state.Deduplication[key] = (new SendOutcome(message.MessageId, message.Md5OfBody, message.Md5OfAttributes, message.SequenceNumber), row.SentAt + SqsWire.Limits.DeduplicationWindow);
                }
            }

            Log.QueuesLoaded(_logger, _queues.Count, snapshot.Messages.Count);
        }
    }

    private static QueueWrite.UpdateDelivery Delivery(QueueMessage message) =>
        new QueueWrite.UpdateDelivery(message.Seq, message.VisibleAt, message.ReceiveCount, message.FirstReceivedAt, message.ReceiptToken);

    private static MessageRow Row(string queueName, QueueMessage m) => new(
        m.Seq, queueName, m.MessageId, m.Body, QueueJson.WriteMessageAttributes(m.Attributes), m.SentAt, m.VisibleAt, m.ReceiveCount,
        m.FirstReceivedAt, m.ReceiptToken, m.GroupId, m.DeduplicationId, m.TraceHeader, m.DeadLetterSourceArn);

    private DateTimeOffset Now() => _time.GetUtcNow();

    private static string Text(long value) => value.ToString(CultureInfo.InvariantCulture);
}
