using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Nimbus.Storage;

namespace Nimbus.Events;

/// <summary>One object change, as the S3 event record reports it.</summary>
internal sealed record ObjectChange(
    string Bucket,
    string Key,
    string EventName,
    long? Size,
    string? ETag,
    string RequestId,
    string HostId,
    string SourceIp,
    string PrincipalId,
    string? TraceHeader = null);

/// <summary>
/// Bucket notifications: builds AWS's S3 event record for every rule an object change matches (the rows are
/// committed with the change itself, see <see cref="IObjectStore"/>), then hands the stored notifications to their
/// targets in the background, at start-up too, deleting each only once its target holds it durably. Delivery is
/// therefore at least once.
/// </summary>
internal sealed partial class BucketNotifier(
    IObjectStore store,
    IEnumerable<INotificationTarget> targets,
    IOptions<NimbusOptions> options,
    TimeProvider time,
    ILogger<BucketNotifier> logger) : BackgroundService
{
    private const int Batch = 100;
    private static readonly TimeSpan RetryDelay = TimeSpan.FromSeconds(1);

    private readonly Dictionary<NotificationTargetKind, INotificationTarget> _targets = targets.ToDictionary(t => t.Kind);
    private readonly Channel<bool> _wake = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private long _sequence;
    private bool _warnedQueue;

    /// <summary>The notifications <paramref name="change"/> triggers under <paramref name="rules"/>, ready to store with it.</summary>
    public IReadOnlyList<(string Kind, string Arn, byte[] Payload, string? TraceHeader)> Build(IReadOnlyList<NotificationRule> rules, ObjectChange change)
    {
        List<(string, string, byte[], string?)>? matched = null;
        foreach (var rule in rules)
        {
            if (!rule.Matches(change.EventName, change.Key))
            {
                continue;
            }

            if (!_targets.ContainsKey(rule.Kind))
            {
                if (!_warnedQueue)
                {
                    _warnedQueue = true;
                    Log.NoTarget(logger, rule.Kind.ToString(), change.Bucket);
                }

                continue;
            }

            matched ??= [];
            matched.Add((rule.Kind.ToString(), rule.TargetArn, Record(rule.Id, change), change.TraceHeader));
        }

        return matched ?? (IReadOnlyList<(string, string, byte[], string?)>)[];
    }

    /// <summary>Called after a change with notifications committed: delivers them now rather than at the next poll.</summary>
    public void Wake() => _wake.Writer.TryWrite(true);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                var delivered = await DrainAsync(stoppingToken).ConfigureAwait(false);
                if (!delivered)
                {
                    using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
                    timeout.CancelAfter(RetryDelay);
                    try
                    {
                        await _wake.Reader.ReadAsync(timeout.Token).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException) when (!stoppingToken.IsCancellationRequested)
                    {
                    }
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>Hands one batch to the targets; true when a full batch went out and more may be waiting.</summary>
    private async Task<bool> DrainAsync(CancellationToken stoppingToken)
    {
        IReadOnlyList<PendingNotification> pending;
        try
        {
            pending = await store.ListPendingNotificationsAsync(Batch, stoppingToken).ConfigureAwait(false);
        }
#pragma warning disable CA1031 // A failing read is retried at the next poll; the notifier must keep running.
        catch (Exception e) when (e is not OperationCanceledException)
#pragma warning restore CA1031
        {
            Log.DrainFailed(logger, e);
            return false;
        }

        var allDelivered = true;
        foreach (var item in pending)
        {
            if (!Enum.TryParse<NotificationTargetKind>(item.TargetKind, out var kind) || !_targets.TryGetValue(kind, out var target))
            {
                // Stored while a target of this kind existed (or by a newer build): kept until one is registered.
                allDelivered = false;
                continue;
            }

            // One span per delivery attempt; for a function it is the parent of the stored event's attempts.
            using var activity = Metrics.NimbusTelemetry.Source.StartActivity(Metrics.NimbusTelemetry.BucketNotificationSpan, System.Diagnostics.ActivityKind.Producer);
            activity?.SetTag("nimbus.notification.target", item.TargetArn);
            activity?.SetTag("nimbus.notification.kind", item.TargetKind);
            NotificationDelivery outcome;
            try
            {
                outcome = await target.DeliverAsync(item.TargetArn, item.Payload, item.TraceHeader, stoppingToken).ConfigureAwait(false);
            }
#pragma warning disable CA1031 // One notification's failure must not stop the others; it is retried.
            catch (Exception e) when (e is not OperationCanceledException)
#pragma warning restore CA1031
            {
                Log.DeliveryFailed(logger, item.TargetArn, e);
                outcome = NotificationDelivery.RetryLater;
            }

            activity?.SetTag("nimbus.notification.outcome", outcome.ToString());
            switch (outcome)
            {
                case NotificationDelivery.RetryLater:
                    allDelivered = false;
                    continue;
                case NotificationDelivery.Dropped:
                    Log.TargetGone(logger, item.TargetArn);
                    break;
            }

            await store.DeletePendingNotificationAsync(item.Id, stoppingToken).ConfigureAwait(false);
        }

        return allDelivered && pending.Count == Batch;
    }

    private byte[] Record(string configurationId, ObjectChange change)
    {
        var region = options.Value.Region;
        var sequencer = Interlocked.Increment(ref _sequence) + (time.GetUtcNow().ToUnixTimeMilliseconds() << 20);
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteStartArray("Records");
            json.WriteStartObject();
            json.WriteString("eventVersion", "2.1");
            json.WriteString("eventSource", "aws:s3");
            json.WriteString("awsRegion", region);
            json.WriteString("eventTime", time.GetUtcNow().UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture));
            json.WriteString("eventName", change.EventName["s3:".Length..]);
            json.WriteStartObject("userIdentity");
            json.WriteString("principalId", change.PrincipalId);
            json.WriteEndObject();
            json.WriteStartObject("requestParameters");
            json.WriteString("sourceIPAddress", change.SourceIp);
            json.WriteEndObject();
            json.WriteStartObject("responseElements");
            json.WriteString("x-amz-request-id", change.RequestId);
            json.WriteString("x-amz-id-2", change.HostId);
            json.WriteEndObject();
            json.WriteStartObject("s3");
            json.WriteString("s3SchemaVersion", "1.0");
            json.WriteString("configurationId", configurationId);
            json.WriteStartObject("bucket");
            json.WriteString("name", change.Bucket);
            json.WriteStartObject("ownerIdentity");
            json.WriteString("principalId", change.PrincipalId);
            json.WriteEndObject();
            json.WriteString("arn", "arn:aws:s3:::" + change.Bucket);
            json.WriteEndObject();
            json.WriteStartObject("object");
            json.WriteString("key", EncodeKey(change.Key));
            if (change.Size is { } size)
            {
                json.WriteNumber("size", size);
            }

            if (change.ETag is { } etag)
            {
                json.WriteString("eTag", etag);
            }

            json.WriteString("sequencer", sequencer.ToString("X16", CultureInfo.InvariantCulture));
            json.WriteEndObject();
            json.WriteEndObject();
            json.WriteEndObject();
            json.WriteEndArray();
            json.WriteEndObject();
        }

        return buffer.ToArray();
    }

    /// <summary>The key as S3 events carry it: form-URL-encoded (space as <c>+</c>), slashes kept.</summary>
    public static string EncodeKey(string key)
    {
        var text = new StringBuilder(key.Length + 8);
        foreach (var b in Encoding.UTF8.GetBytes(key))
        {
            var c = (char)b;
            if (char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' or '*' or '/')
            {
                text.Append(c);
            }
            else if (c == ' ')
            {
                text.Append('+');
            }
            else
            {
                text.Append('%').Append(b.ToString("X2", CultureInfo.InvariantCulture));
            }
        }

        return text.ToString();
    }
}
