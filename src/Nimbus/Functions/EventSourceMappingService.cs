using System.Globalization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Nimbus.Events;
using Nimbus.Storage;

namespace Nimbus.Functions;

/// <summary>
/// The event source mapping control plane (Create/Get/List/Update/DeleteEventSourceMapping) for SQS queues:
/// AWS's validation and wording, persistence in metadata.db, and AWS's states. A write leaves the mapping in a
/// transient state (<c>Creating</c>, <c>Enabling</c>, <c>Disabling</c>, <c>Updating</c>, <c>Deleting</c>) and tells the
/// pollers (<see cref="IEventSourceMappingChanges"/>), which settle it once they run with the new settings.
/// </summary>
internal sealed partial class EventSourceMappingService(
    FunctionService functions,
    IEventSourceMappingStore store,
    IEventSourceQueues queues,
    IEventSourceMappingChanges changes,
    Security.ServiceAuthorization authorization,
    IOptions<NimbusOptions> options,
    TimeProvider time,
    ILogger<EventSourceMappingService> logger,
    Events.PollerPermissions? pollerPermissions = null)
{
    public const int DefaultBatchSize = 10;
    public const int MaxBatchSize = 10_000;
    public const int MaxFifoBatchSize = 10;
    public const int MaxBatchingWindowSeconds = 300;
    public const int MinMaximumConcurrency = 2;
    public const int MaxMaximumConcurrency = 1000;
    public const int MaxFilters = 5;
    public const int MaxFilterPatternLength = 4096;
    public const string ReportBatchItemFailures = "ReportBatchItemFailures";

    /// <summary>The SQS actions a mapping's poller performs with the function's execution role, in AWS's order of checking.</summary>
    private static readonly string[] PollerActions = ["ReceiveMessage", "DeleteMessage", "GetQueueAttributes"];

    private readonly NimbusOptions _options = options.Value;

    public string MappingArn(string uuid) => $"arn:aws:lambda:{_options.Region}:{_options.AccountId}:event-source-mapping:{uuid}";

    public async Task<LambdaResult<EventSourceMappingConfiguration>> CreateAsync(CreateEventSourceMappingRequest request, CancellationToken cancellationToken)
    {
        if (string.IsNullOrEmpty(request.FunctionName))
        {
            return LambdaError.ValidationFailed("null", "functionName", "Member must not be null");
        }

        var reference = functions.ParseReference(request.FunctionName, null);
        if (reference.IsError)
        {
            return reference.Error!;
        }

        if (string.IsNullOrEmpty(request.EventSourceArn))
        {
            return LambdaError.InvalidParameter("Unrecognized event source, must be kinesis, dynamodb stream or sqs. Nimbus maps SQS queues: pass EventSourceArn arn:aws:sqs:<region>:<account>:<queue>.");
        }

        if (SourceError(request.EventSourceArn) is { } sourceError)
        {
            return sourceError;
        }

        if (request.StartingPosition is not null)
        {
            return LambdaError.InvalidParameter("StartingPosition is not valid for an Amazon SQS event source.");
        }

        if (ValidateSettings(request.BatchSize, request.MaximumBatchingWindowInSeconds, request.FunctionResponseTypes, request.ScalingConfig, request.FilterCriteria) is { } invalid)
        {
            return invalid;
        }

        var function = await functions.GetAsync(reference.Value, cancellationToken).ConfigureAwait(false);
        if (function.IsError)
        {
            return function.Error!;
        }

        var queue = await queues.FindAsync(request.EventSourceArn, cancellationToken).ConfigureAwait(false);
        if (queue is null)
        {
            return QueueNotFound(request.EventSourceArn);
        }

        if (RoleError(function.Value!.Role, request.EventSourceArn) is { } roleError)
        {
            return roleError;
        }

        var batchSize = request.BatchSize ?? DefaultBatchSize;
        var window = request.MaximumBatchingWindowInSeconds ?? 0;
        if (QueueRulesError(queue, batchSize, window) is { } queueError)
        {
            return queueError;
        }

        var enabled = request.Enabled ?? true;
        var record = new EventSourceMappingRecord
        {
            Uuid = Guid.NewGuid().ToString(),
            EventSourceArn = request.EventSourceArn,
            FunctionName = reference.Value.Name,
            Qualifier = reference.Value.Qualifier,
            Enabled = enabled,
            BatchSize = batchSize,
            MaximumBatchingWindowInSeconds = window,
            ReportBatchItemFailures = request.FunctionResponseTypes?.Contains(ReportBatchItemFailures) == true,
            MaximumConcurrency = request.ScalingConfig?.MaximumConcurrency,
            FilterPatterns = Patterns(request.FilterCriteria),
            State = EventSourceMappingStates.Creating,
            LastModifiedMs = time.GetUtcNow().ToUnixTimeMilliseconds(),
        };

        var existing = await store.TryCreateAsync(record, CancellationToken.None).ConfigureAwait(false);
        if (existing is not null)
        {
            return new LambdaError(LambdaError.ResourceConflict, 409,
                $"An event source mapping with SQS arn (\" {existing.EventSourceArn} \") and function (\" {existing.FunctionName} \") already exists. Please update or delete the existing mapping with UUID {existing.Uuid}");
        }

        Log.MappingCreated(logger, record.Uuid, record.EventSourceArn, record.FunctionName);
        changes.OnMappingChanged(record.Uuid);
        return ToResponse(record);
    }

    public async Task<LambdaResult<EventSourceMappingConfiguration>> GetAsync(string uuid, CancellationToken cancellationToken)
    {
        var record = await store.GetAsync(uuid, cancellationToken).ConfigureAwait(false);
        return record is null ? MappingNotFound() : ToResponse(record);
    }

    public async Task<LambdaResult<ListEventSourceMappingsResponse>> ListAsync(string? functionName, string? eventSourceArn, string? marker, int? maxItems, CancellationToken cancellationToken)
    {
        FunctionReference? reference = null;
        if (!string.IsNullOrEmpty(functionName))
        {
            var parsed = functions.ParseReference(functionName, null);
            if (parsed.IsError)
            {
                return parsed.Error!;
            }

            reference = parsed.Value;
        }

        var all = await store.ListAsync(cancellationToken).ConfigureAwait(false);
        IReadOnlyList<EventSourceMappingRecord> matching = [.. all.Where(m =>
            (reference is null || (m.FunctionName == reference.Value.Name && (reference.Value.Qualifier is null || m.Qualifier == reference.Value.Qualifier)))
            && (string.IsNullOrEmpty(eventSourceArn) || m.EventSourceArn == eventSourceArn))];
        var page = Paging.Page(matching, m => m.Uuid, marker, maxItems, "ListEventSourceMappings");
        if (page.IsError)
        {
            return page.Error!;
        }

        return new ListEventSourceMappingsResponse
        {
            EventSourceMappings = [.. page.Value.Items.Select(ToResponse)],
            NextMarker = page.Value.NextMarker,
        };
    }

    public async Task<LambdaResult<EventSourceMappingConfiguration>> UpdateAsync(string uuid, UpdateEventSourceMappingRequest request, CancellationToken cancellationToken)
    {
        if (ValidateSettings(request.BatchSize, request.MaximumBatchingWindowInSeconds, request.FunctionResponseTypes, request.ScalingConfig, request.FilterCriteria) is { } invalid)
        {
            return invalid;
        }

        var record = await store.GetAsync(uuid, cancellationToken).ConfigureAwait(false);
        if (record is null)
        {
            return MappingNotFound();
        }

        if (EventSourceMappingStates.IsTransient(record.State))
        {
            return InUse(record);
        }

        var functionName = record.FunctionName;
        var qualifier = record.Qualifier;
        if (!string.IsNullOrEmpty(request.FunctionName))
        {
            var reference = functions.ParseReference(request.FunctionName, null);
            if (reference.IsError)
            {
                return reference.Error!;
            }

            var function = await functions.GetAsync(reference.Value, cancellationToken).ConfigureAwait(false);
            if (function.IsError)
            {
                return function.Error!;
            }

            if (RoleError(function.Value!.Role, record.EventSourceArn) is { } roleError)
            {
                return roleError;
            }

            (functionName, qualifier) = (reference.Value.Name, reference.Value.Qualifier);
        }

        var queue = await queues.FindAsync(record.EventSourceArn, cancellationToken).ConfigureAwait(false);
        var batchSize = request.BatchSize ?? record.BatchSize;
        var window = request.MaximumBatchingWindowInSeconds ?? record.MaximumBatchingWindowInSeconds;
        if (queue is not null && QueueRulesError(queue, batchSize, window) is { } queueError)
        {
            return queueError;
        }

        var enabled = request.Enabled ?? record.Enabled;
        var updated = record with
        {
            FunctionName = functionName,
            Qualifier = qualifier,
            Enabled = enabled,
            BatchSize = batchSize,
            MaximumBatchingWindowInSeconds = window,
            ReportBatchItemFailures = request.FunctionResponseTypes is { } types ? types.Contains(ReportBatchItemFailures) : record.ReportBatchItemFailures,
            MaximumConcurrency = request.ScalingConfig is { } scaling ? scaling.MaximumConcurrency : record.MaximumConcurrency,
            FilterPatterns = request.FilterCriteria is { } filters ? Patterns(filters) : record.FilterPatterns,
            State = enabled == record.Enabled ? EventSourceMappingStates.Updating
                : enabled ? EventSourceMappingStates.Enabling : EventSourceMappingStates.Disabling,
            StateTransitionReason = EventSourceMappingStates.UserInitiated,
            LastModifiedMs = time.GetUtcNow().ToUnixTimeMilliseconds(),
        };

        if (!await store.UpdateAsync(updated, CancellationToken.None).ConfigureAwait(false))
        {
            return MappingNotFound();
        }

        Log.MappingUpdated(logger, uuid, updated.State);
        changes.OnMappingChanged(uuid);
        return ToResponse(updated);
    }

    public async Task<LambdaResult<EventSourceMappingConfiguration>> DeleteAsync(string uuid, CancellationToken cancellationToken)
    {
        var record = await store.GetAsync(uuid, cancellationToken).ConfigureAwait(false);
        if (record is null)
        {
            return MappingNotFound();
        }

        if (EventSourceMappingStates.IsTransient(record.State))
        {
            return InUse(record);
        }

        var deleting = record with { State = EventSourceMappingStates.Deleting, StateTransitionReason = EventSourceMappingStates.UserInitiated };
        if (!await store.UpdateAsync(deleting, CancellationToken.None).ConfigureAwait(false))
        {
            return MappingNotFound();
        }

        Log.MappingDeleting(logger, uuid);
        changes.OnMappingChanged(uuid);
        return ToResponse(deleting);
    }

    public EventSourceMappingConfiguration ToResponse(EventSourceMappingRecord record) => new()
    {
        UUID = record.Uuid,
        EventSourceMappingArn = MappingArn(record.Uuid),
        BatchSize = record.BatchSize,
        MaximumBatchingWindowInSeconds = record.MaximumBatchingWindowInSeconds,
        EventSourceArn = record.EventSourceArn,
        FunctionArn = functions.FunctionArn(record.FunctionName, record.Qualifier),
        LastModified = record.LastModifiedMs / 1000.0,
        State = record.State,
        StateTransitionReason = record.StateTransitionReason,
        LastProcessingResult = record.State == EventSourceMappingStates.Enabled ? pollerPermissions?.LastProcessingResult(record.Uuid) : null,
        FunctionResponseTypes = record.ReportBatchItemFailures ? [ReportBatchItemFailures] : [],
        ScalingConfig = record.MaximumConcurrency is { } max ? new ScalingConfig { MaximumConcurrency = max } : null,
        FilterCriteria = record.FilterPatterns is { Count: > 0 } patterns
            ? new FilterCriteria { Filters = [.. patterns.Select(p => new EventFilter { Pattern = p })] }
            : null,
    };

    /// <summary>
    /// As on AWS, the function's execution role must allow the poller's calls on the queue (sqs:ReceiveMessage,
    /// sqs:DeleteMessage, sqs:GetQueueAttributes); checked when a mapping is created or pointed at another function.
    /// </summary>
    private LambdaError? RoleError(string roleArn, string queueArn)
    {
        foreach (var action in PollerActions)
        {
            if (!authorization.CheckRole(roleArn, "sqs:" + action, queueArn).Allowed)
            {
                Log.RoleNotAllowed(logger, roleArn, action, queueArn);
                return LambdaError.InvalidParameter($"The function execution role does not have permissions to call {action} on SQS");
            }
        }

        return null;
    }

    /// <summary>The model's constraints (ValidationException), then AWS's rules between settings (InvalidParameterValueException).</summary>
    private static LambdaError? ValidateSettings(int? batchSize, int? window, IReadOnlyList<string>? responseTypes, ScalingConfig? scaling, FilterCriteria? filters)
    {
        if (batchSize is { } size and (< 1 or > MaxBatchSize))
        {
            return LambdaError.ValidationFailed(Invariant(size), "batchSize", size < 1
                ? "Member must have value greater than or equal to 1"
                : $"Member must have value less than or equal to {MaxBatchSize}");
        }

        if (window is { } seconds and (< 0 or > MaxBatchingWindowSeconds))
        {
            return LambdaError.ValidationFailed(Invariant(seconds), "maximumBatchingWindowInSeconds", seconds < 0
                ? "Member must have value greater than or equal to 0"
                : $"Member must have value less than or equal to {MaxBatchingWindowSeconds}");
        }

        if (responseTypes?.FirstOrDefault(t => t != ReportBatchItemFailures) is { } unknown)
        {
            return LambdaError.ValidationFailed($"[{string.Join(", ", responseTypes)}]", "functionResponseTypes",
                $"Member must satisfy constraint: [Member must satisfy enum value set: [{ReportBatchItemFailures}]]");
        }

        if (scaling?.MaximumConcurrency is { } max and (< MinMaximumConcurrency or > MaxMaximumConcurrency))
        {
            return LambdaError.ValidationFailed(Invariant(max), "scalingConfig.maximumConcurrency", max < MinMaximumConcurrency
                ? $"Member must have value greater than or equal to {MinMaximumConcurrency}"
                : $"Member must have value less than or equal to {MaxMaximumConcurrency}");
        }

        if (filters?.Filters is { } list)
        {
            if (list.Count > MaxFilters)
            {
                return LambdaError.InvalidParameter($"The filter criteria can hold at most {MaxFilters} filters for an Amazon SQS event source; this one has {list.Count}.");
            }

            foreach (var filter in list)
            {
                if (filter.Pattern is { Length: > MaxFilterPatternLength })
                {
                    return LambdaError.ValidationFailed(filter.Pattern, "filterCriteria.filters.member.pattern", $"Member must have length less than or equal to {MaxFilterPatternLength}");
                }

                if (filter.Pattern is not null && !EventFilterPattern.TryParse(filter.Pattern, out _, out var reason))
                {
                    return LambdaError.InvalidParameter($"Invalid filter pattern definition. {reason}");
                }
            }
        }

        return null;
    }

    /// <summary>AWS's batching rules, which depend on the queue: more than 10 messages need a batching window; FIFO queues take at most 10 and no window.</summary>
    private static LambdaError? QueueRulesError(EventSourceQueue queue, int batchSize, int window)
    {
        if (queue.IsFifo && batchSize > MaxFifoBatchSize)
        {
            return LambdaError.InvalidParameter($"BatchSize must be less than or equal to {MaxFifoBatchSize} for an Amazon SQS FIFO queue; {batchSize} was given.");
        }

        if (queue.IsFifo && window > 0)
        {
            return LambdaError.InvalidParameter("MaximumBatchingWindowInSeconds is not supported for Amazon SQS FIFO queues.");
        }

        return batchSize > 10 && window < 1
            ? LambdaError.InvalidParameter("Maximum batch window in seconds must be greater than 0 if maximum batch size is greater than 10")
            : null;
    }

    private LambdaError? SourceError(string arn)
    {
        var parts = arn.Split(':');
        if (parts is not ["arn", _, var service, _, _, _] || parts[5].Length == 0)
        {
            return LambdaError.ValidationFailed(arn, "eventSourceArn", "Member must satisfy regular expression pattern: arn:(aws[a-zA-Z0-9-]*):([a-zA-Z0-9\\-])+:([a-z]{2}(-gov)?-[a-z]+-\\d{1})?:(\\d{12})?:(.*)");
        }

        if (service != "sqs")
        {
            return LambdaError.InvalidParameter($"Nimbus maps Amazon SQS queues only; {service} event sources are not supported.");
        }

        return parts[3] != _options.Region || parts[4] != _options.AccountId ? QueueNotFound(arn) : null;
    }

    private static IReadOnlyList<string>? Patterns(FilterCriteria? criteria) =>
        criteria?.Filters is { Count: > 0 } filters ? [.. filters.Select(f => f.Pattern ?? "").Where(p => p.Length > 0)] : null;

    private static LambdaError QueueNotFound(string arn) =>
        new(LambdaError.ResourceNotFound, 404, $"The queue {arn} does not exist. Create it first (aws sqs create-queue) or check the ARN.", CapitalMessageKey: true);

    private static LambdaError MappingNotFound() =>
        new(LambdaError.ResourceNotFound, 404, "The resource you requested does not exist.", CapitalMessageKey: true);

    private static LambdaError InUse(EventSourceMappingRecord record) =>
        new(ResourceInUse, 400, $"Cannot modify the event source mapping {record.Uuid} while it is in the {record.State} state; retry once it is Enabled or Disabled.", CapitalMessageKey: true);

    private const string ResourceInUse = "ResourceInUseException";

    private static string Invariant(int value) => value.ToString(CultureInfo.InvariantCulture);
}
