using System.Text.Json.Serialization;

namespace Nimbus.Functions;

/// <summary>A function URL's CORS settings, as AWS's <c>Cors</c> shape (also stored as this JSON).</summary>
internal sealed class FunctionUrlCors
{
    public bool? AllowCredentials { get; set; }
    public List<string>? AllowHeaders { get; set; }
    public List<string>? AllowMethods { get; set; }
    public List<string>? AllowOrigins { get; set; }
    public List<string>? ExposeHeaders { get; set; }
    public int? MaxAge { get; set; }
}

/// <summary>The body of CreateFunctionUrlConfig and UpdateFunctionUrlConfig (every member optional on update).</summary>
internal sealed class FunctionUrlConfigRequest
{
    public string? AuthType { get; set; }
    public FunctionUrlCors? Cors { get; set; }
    public string? InvokeMode { get; set; }
}

/// <summary>Create/Get/UpdateFunctionUrlConfig's response and an item of ListFunctionUrlConfigs.</summary>
internal sealed class FunctionUrlConfig
{
    public required string FunctionUrl { get; set; }
    public required string FunctionArn { get; set; }
    public required string AuthType { get; set; }
    public FunctionUrlCors? Cors { get; set; }
    public required string CreationTime { get; set; }
    public string? LastModifiedTime { get; set; }
    public required string InvokeMode { get; set; }
}

internal sealed class ListFunctionUrlConfigsResponse
{
    public required IReadOnlyList<FunctionUrlConfig> FunctionUrlConfigs { get; set; }
    public string? NextMarker { get; set; }
}

/// <summary>AWS's <c>AuthType</c> and <c>InvokeMode</c> values; persisted as these strings, frozen by a test.</summary>
internal static class FunctionUrlValues
{
    public const string AuthNone = "NONE";
    public const string AuthIam = "AWS_IAM";
    public const string Buffered = "BUFFERED";
    public const string ResponseStream = "RESPONSE_STREAM";
}

/// <summary>A function URL as stored: one per function and qualifier ($LATEST or an alias).</summary>
internal sealed record FunctionUrlRecord(
    string FunctionName,
    string Qualifier,
    string UrlId,
    string AuthType,
    string InvokeMode,
    FunctionUrlCors? Cors,
    string CreationTime,
    string LastModifiedTime);

/// <summary>JSON of the function URL operations and of the stored <c>Cors</c>: AWS's PascalCase, nulls omitted.</summary>
[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(FunctionUrlConfigRequest))]
[JsonSerializable(typeof(FunctionUrlConfig))]
[JsonSerializable(typeof(ListFunctionUrlConfigsResponse))]
[JsonSerializable(typeof(FunctionUrlCors))]
internal sealed partial class FunctionUrlJsonContext : JsonSerializerContext;
