namespace Nimbus.Functions;

/// <summary>Put/UpdateFunctionEventInvokeConfig's request body (the function and qualifier are in the path and query).</summary>
internal sealed class PutFunctionEventInvokeConfigRequest
{
    public int? MaximumRetryAttempts { get; set; }
    public int? MaximumEventAgeInSeconds { get; set; }
    public DestinationConfig? DestinationConfig { get; set; }
}

/// <summary>Where an event's record goes after its final outcome.</summary>
internal sealed class DestinationConfig
{
    public OnDestination? OnSuccess { get; set; }
    public OnDestination? OnFailure { get; set; }
}

internal sealed class OnDestination
{
    public string? Destination { get; set; }
}

/// <summary>An event invoke config as AWS returns it: <c>LastModified</c> is epoch seconds.</summary>
internal sealed class FunctionEventInvokeConfig
{
    public double LastModified { get; set; }
    public required string FunctionArn { get; set; }
    public int? MaximumRetryAttempts { get; set; }
    public int? MaximumEventAgeInSeconds { get; set; }
    public required DestinationConfig DestinationConfig { get; set; }
}

internal sealed class ListFunctionEventInvokeConfigsResponse
{
    public required IReadOnlyList<FunctionEventInvokeConfig> FunctionEventInvokeConfigs { get; set; }
    public string? NextMarker { get; set; }
}
