namespace Nimbus.Functions;

/// <summary>
/// One event source mapping as stored in metadata.db. The JSON shape is frozen by a golden test; <see cref="State"/>
/// holds AWS's state names (frozen too, see <see cref="EventSourceMappingStates"/>).
/// </summary>
internal sealed record EventSourceMappingRecord
{
    public required string Uuid { get; init; }
    public required string EventSourceArn { get; init; }
    public required string FunctionName { get; init; }
    public string? Qualifier { get; init; }
    public bool Enabled { get; init; }
    public int BatchSize { get; init; }
    public int MaximumBatchingWindowInSeconds { get; init; }
    public bool ReportBatchItemFailures { get; init; }
    public int? MaximumConcurrency { get; init; }
    public IReadOnlyList<string>? FilterPatterns { get; init; }
    public required string State { get; init; }
    public string StateTransitionReason { get; init; } = EventSourceMappingStates.UserInitiated;
    public long LastModifiedMs { get; init; }
}

/// <summary>AWS's <c>State</c> values. Persisted: never rename one.</summary>
internal static class EventSourceMappingStates
{
    public const string Creating = "Creating";
    public const string Enabling = "Enabling";
    public const string Enabled = "Enabled";
    public const string Disabling = "Disabling";
    public const string Disabled = "Disabled";
    public const string Updating = "Updating";
    public const string Deleting = "Deleting";

    /// <summary>The <c>StateTransitionReason</c> of a change made through the API.</summary>
    public const string UserInitiated = "USER_INITIATED";

    /// <summary>A state the pollers have not settled yet: changes to the mapping wait (ResourceInUseException).</summary>
    public static bool IsTransient(string state) => state is Creating or Enabling or Disabling or Updating or Deleting;
}
