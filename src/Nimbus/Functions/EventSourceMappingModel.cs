namespace Nimbus.Functions;

/// <summary>CreateEventSourceMapping's request body (Lambda 2015-03-31). Stream-only members are read so they can be refused.</summary>
internal sealed class CreateEventSourceMappingRequest
{
    public string? FunctionName { get; set; }
    public string? EventSourceArn { get; set; }
    public bool? Enabled { get; set; }
    public int? BatchSize { get; set; }
    public int? MaximumBatchingWindowInSeconds { get; set; }
    public IReadOnlyList<string>? FunctionResponseTypes { get; set; }
    public ScalingConfig? ScalingConfig { get; set; }
    public FilterCriteria? FilterCriteria { get; set; }
    public string? StartingPosition { get; set; }
}

/// <summary>UpdateEventSourceMapping's request body: only what is named changes.</summary>
internal sealed class UpdateEventSourceMappingRequest
{
    public string? FunctionName { get; set; }
    public bool? Enabled { get; set; }
    public int? BatchSize { get; set; }
    public int? MaximumBatchingWindowInSeconds { get; set; }
    public IReadOnlyList<string>? FunctionResponseTypes { get; set; }
    public ScalingConfig? ScalingConfig { get; set; }
    public FilterCriteria? FilterCriteria { get; set; }
}

internal sealed class ScalingConfig
{
    public int? MaximumConcurrency { get; set; }
}

internal sealed class FilterCriteria
{
    public IReadOnlyList<EventFilter>? Filters { get; set; }
}

internal sealed class EventFilter
{
    public string? Pattern { get; set; }
}

/// <summary>An event source mapping as AWS returns it: <c>LastModified</c> is epoch seconds.</summary>
internal sealed class EventSourceMappingConfiguration
{
    public required string UUID { get; set; }
    public required string EventSourceMappingArn { get; set; }
    public int BatchSize { get; set; }
    public int MaximumBatchingWindowInSeconds { get; set; }
    public required string EventSourceArn { get; set; }
    public required string FunctionArn { get; set; }
    public double LastModified { get; set; }
    public required string State { get; set; }
    public required string StateTransitionReason { get; set; }

    /// <summary><c>OK</c> while the poller may poll, <c>PROBLEM: ...</c> while the execution role does not allow it; absent until it has checked.</summary>
    public string? LastProcessingResult { get; set; }
    public IReadOnlyList<string> FunctionResponseTypes { get; set; } = [];
    public ScalingConfig? ScalingConfig { get; set; }
    public FilterCriteria? FilterCriteria { get; set; }
}

internal sealed class ListEventSourceMappingsResponse
{
    public required IReadOnlyList<EventSourceMappingConfiguration> EventSourceMappings { get; set; }
    public string? NextMarker { get; set; }
}
