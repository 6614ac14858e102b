using System.Text.Json.Serialization;

namespace Nimbus.Functions;

// The Lambda API (2015-03-31) request and response shapes, named as AWS names them on the wire.

internal sealed class FunctionCodeInput
{
    public byte[]? ZipFile { get; set; }
    public string? S3Bucket { get; set; }
    public string? S3Key { get; set; }
    public string? S3ObjectVersion { get; set; }
    public string? ImageUri { get; set; }
}

internal sealed class EnvironmentInput
{
    public Dictionary<string, string>? Variables { get; set; }
}

internal sealed class EphemeralStorageShape
{
    public int? Size { get; set; }
}

internal sealed class TracingConfigShape
{
    public string? Mode { get; set; }
}

internal sealed class LoggingConfigShape
{
    public string? LogFormat { get; set; }
    public string? ApplicationLogLevel { get; set; }
    public string? SystemLogLevel { get; set; }
    public string? LogGroup { get; set; }
}

/// <summary>Where a function's failed asynchronous events go: an SQS queue ARN (an empty one removes it on update).</summary>
internal sealed class DeadLetterConfigShape
{
    public string? TargetArn { get; set; }
}

internal sealed class CreateFunctionRequest
{
    public string? FunctionName { get; set; }
    public string? Runtime { get; set; }
    public string? Role { get; set; }
    public string? Handler { get; set; }
    public FunctionCodeInput? Code { get; set; }
    public string? Description { get; set; }
    public int? Timeout { get; set; }
    public int? MemorySize { get; set; }
    public bool? Publish { get; set; }
    public string? PackageType { get; set; }
    public EnvironmentInput? Environment { get; set; }
    public Dictionary<string, string>? Tags { get; set; }
    public List<string>? Layers { get; set; }
    public List<string>? Architectures { get; set; }
    public EphemeralStorageShape? EphemeralStorage { get; set; }
    public TracingConfigShape? TracingConfig { get; set; }
    public LoggingConfigShape? LoggingConfig { get; set; }
    public DeadLetterConfigShape? DeadLetterConfig { get; set; }
}

internal sealed class UpdateFunctionCodeRequest
{
    public byte[]? ZipFile { get; set; }
    public string? S3Bucket { get; set; }
    public string? S3Key { get; set; }
    public string? S3ObjectVersion { get; set; }
    public string? ImageUri { get; set; }
    public bool? Publish { get; set; }
    public bool? DryRun { get; set; }
    public string? RevisionId { get; set; }
    public List<string>? Architectures { get; set; }
}

internal sealed class UpdateFunctionConfigurationRequest
{
    public string? Role { get; set; }
    public string? Handler { get; set; }
    public string? Description { get; set; }
    public int? Timeout { get; set; }
    public int? MemorySize { get; set; }
    public EnvironmentInput? Environment { get; set; }
    public string? Runtime { get; set; }
    public string? RevisionId { get; set; }
    public List<string>? Layers { get; set; }
    public EphemeralStorageShape? EphemeralStorage { get; set; }
    public TracingConfigShape? TracingConfig { get; set; }
    public LoggingConfigShape? LoggingConfig { get; set; }
    public DeadLetterConfigShape? DeadLetterConfig { get; set; }
}

internal sealed class EnvironmentResponse
{
    public Dictionary<string, string>? Variables { get; set; }
}

internal sealed class SnapStartResponse
{
    public string ApplyOn { get; set; } = "None";
    public string OptimizationStatus { get; set; } = "Off";
}

internal sealed class FunctionConfiguration
{
    public required string FunctionName { get; set; }
    public required string FunctionArn { get; set; }
    public required string Runtime { get; set; }
    public required string Role { get; set; }
    public required string Handler { get; set; }
    public long CodeSize { get; set; }
    public string Description { get; set; } = "";
    public int Timeout { get; set; }
    public int MemorySize { get; set; }
    public required string LastModified { get; set; }
    public required string CodeSha256 { get; set; }
    public required string Version { get; set; }
    public EnvironmentResponse? Environment { get; set; }
    public TracingConfigShape? TracingConfig { get; set; }
    public required string RevisionId { get; set; }
    public string? State { get; set; }
    public string? LastUpdateStatus { get; set; }
    public required string PackageType { get; set; }
    public required IReadOnlyList<string> Architectures { get; set; }
    public EphemeralStorageShape? EphemeralStorage { get; set; }
    public SnapStartResponse? SnapStart { get; set; }
    public LoggingConfigShape? LoggingConfig { get; set; }
    public IReadOnlyList<LayerShape>? Layers { get; set; }
    public DeadLetterConfigShape? DeadLetterConfig { get; set; }
}

/// <summary>A layer in a FunctionConfiguration.</summary>
internal sealed class LayerShape
{
    public required string Arn { get; set; }
    public long CodeSize { get; set; }
}

internal sealed class FunctionCodeLocation
{
    public string RepositoryType { get; set; } = "S3";
    public required string Location { get; set; }
}

internal sealed class GetFunctionResponse
{
    public required FunctionConfiguration Configuration { get; set; }
    public required FunctionCodeLocation Code { get; set; }
    public IReadOnlyDictionary<string, string>? Tags { get; set; }
    public FunctionConcurrency? Concurrency { get; set; }
}

/// <summary>PutFunctionConcurrency's request and response, GetFunctionConcurrency's response ({} when unset), GetFunction's Concurrency.</summary>
internal sealed class FunctionConcurrency
{
    public int? ReservedConcurrentExecutions { get; set; }
}

internal sealed class ListFunctionsResponse
{
    public required IReadOnlyList<FunctionConfiguration> Functions { get; set; }
    public string? NextMarker { get; set; }
}

internal sealed class PublishVersionRequest
{
    public string? CodeSha256 { get; set; }
    public string? Description { get; set; }
    public string? RevisionId { get; set; }
}

internal sealed class ListVersionsByFunctionResponse
{
    public required IReadOnlyList<FunctionConfiguration> Versions { get; set; }
    public string? NextMarker { get; set; }
}

internal sealed class AliasRoutingConfiguration
{
    public Dictionary<string, double>? AdditionalVersionWeights { get; set; }
}

internal sealed class CreateAliasRequest
{
    public string? Name { get; set; }
    public string? FunctionVersion { get; set; }
    public string? Description { get; set; }
    public AliasRoutingConfiguration? RoutingConfig { get; set; }
}

internal sealed class UpdateAliasRequest
{
    public string? FunctionVersion { get; set; }
    public string? Description { get; set; }
    public AliasRoutingConfiguration? RoutingConfig { get; set; }
    public string? RevisionId { get; set; }
}

internal sealed class AliasConfiguration
{
    public required string AliasArn { get; set; }
    public required string Name { get; set; }
    public required string FunctionVersion { get; set; }
    public string Description { get; set; } = "";
    public AliasRoutingConfiguration? RoutingConfig { get; set; }
    public required string RevisionId { get; set; }
}

internal sealed class ListAliasesResponse
{
    public required IReadOnlyList<AliasConfiguration> Aliases { get; set; }
    public string? NextMarker { get; set; }
}

internal sealed class LayerContentInput
{
    public byte[]? ZipFile { get; set; }
    public string? S3Bucket { get; set; }
    public string? S3Key { get; set; }
    public string? S3ObjectVersion { get; set; }
}

internal sealed class PublishLayerVersionRequest
{
    public LayerContentInput? Content { get; set; }
    public string? Description { get; set; }
    public List<string>? CompatibleRuntimes { get; set; }
    public List<string>? CompatibleArchitectures { get; set; }
    public string? LicenseInfo { get; set; }
}

internal sealed class LayerVersionContentOutput
{
    public required string Location { get; set; }
    public required string CodeSha256 { get; set; }
    public long CodeSize { get; set; }
}

/// <summary>PublishLayerVersion's and GetLayerVersion's response.</summary>
internal sealed class LayerVersionResponse
{
    public required LayerVersionContentOutput Content { get; set; }
    public required string LayerArn { get; set; }
    public required string LayerVersionArn { get; set; }
    public string Description { get; set; } = "";
    public required string CreatedDate { get; set; }
    public long Version { get; set; }
    public IReadOnlyList<string>? CompatibleRuntimes { get; set; }
    public string? LicenseInfo { get; set; }
    public IReadOnlyList<string>? CompatibleArchitectures { get; set; }
}

internal sealed class LayerVersionsListItem
{
    public required string LayerVersionArn { get; set; }
    public long Version { get; set; }
    public string Description { get; set; } = "";
    public required string CreatedDate { get; set; }
    public IReadOnlyList<string>? CompatibleRuntimes { get; set; }
    public string? LicenseInfo { get; set; }
    public IReadOnlyList<string>? CompatibleArchitectures { get; set; }
}

internal sealed class ListLayerVersionsResponse
{
    public required IReadOnlyList<LayerVersionsListItem> LayerVersions { get; set; }
    public string? NextMarker { get; set; }
}

internal sealed class LayersListItem
{
    public required string LayerName { get; set; }
    public required string LayerArn { get; set; }
    public required LayerVersionsListItem LatestMatchingVersion { get; set; }
}

internal sealed class ListLayersResponse
{
    public required IReadOnlyList<LayersListItem> Layers { get; set; }
    public string? NextMarker { get; set; }
}

internal sealed class AccountLimit
{
    public long TotalCodeSize { get; set; }
    public long CodeSizeUnzipped { get; set; }
    public long CodeSizeZipped { get; set; }
    public int ConcurrentExecutions { get; set; }
    public int UnreservedConcurrentExecutions { get; set; }
}

internal sealed class AccountUsage
{
    public long TotalCodeSize { get; set; }
    public long FunctionCount { get; set; }
}

internal sealed class GetAccountSettingsResponse
{
    public required AccountLimit AccountLimit { get; set; }
    public required AccountUsage AccountUsage { get; set; }
}

internal sealed class ErrorResponse
{
    public string Type { get; set; } = "User";

    [JsonPropertyName("Message")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? CapitalMessage { get; set; }

    [JsonPropertyName("message")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Message { get; set; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Reason { get; set; }
}
