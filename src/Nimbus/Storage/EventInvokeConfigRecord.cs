namespace Nimbus.Storage;

/// <summary>
/// One event invoke config as stored (JSON in events.db, pinned by a golden test): null members were not set and
/// take Lambda's defaults. <see cref="LastModifiedMs"/> is Unix milliseconds.
/// </summary>
internal sealed record EventInvokeConfigRecord
{
    public int? MaximumRetryAttempts { get; init; }
    public int? MaximumEventAgeInSeconds { get; init; }
    public string? OnSuccess { get; init; }
    public string? OnFailure { get; init; }
    public long LastModifiedMs { get; init; }
}
