namespace Nimbus.Functions;

/// <summary>PutProvisionedConcurrencyConfig's request body.</summary>
internal sealed class PutProvisionedConcurrencyConfigRequest
{
    public int? ProvisionedConcurrentExecutions { get; set; }
}

/// <summary>Put/GetProvisionedConcurrencyConfig's response, and (with FunctionArn) an item of the list.</summary>
internal sealed class ProvisionedConcurrencyConfig
{
    public string? FunctionArn { get; set; }
    public int RequestedProvisionedConcurrentExecutions { get; set; }
    public int AvailableProvisionedConcurrentExecutions { get; set; }
    public int AllocatedProvisionedConcurrentExecutions { get; set; }
    public required string Status { get; set; }
    public string? StatusReason { get; set; }
    public required string LastModified { get; set; }
}

internal sealed class ListProvisionedConcurrencyConfigsResponse
{
    public required IReadOnlyList<ProvisionedConcurrencyConfig> ProvisionedConcurrencyConfigs { get; set; }
    public string? NextMarker { get; set; }
}

/// <summary>AWS's provisioned concurrency statuses.</summary>
internal static class ProvisionedConcurrencyStatus
{
    public const string InProgress = "IN_PROGRESS";
    public const string Ready = "READY";
    public const string Failed = "FAILED";
}
