using System.Text.Json.Serialization;

namespace Nimbus.Functions;

/// <summary>JSON of the Lambda API: property names exactly as declared (AWS's PascalCase), nulls omitted.</summary>
[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(CreateFunctionRequest))]
[JsonSerializable(typeof(UpdateFunctionCodeRequest))]
[JsonSerializable(typeof(UpdateFunctionConfigurationRequest))]
[JsonSerializable(typeof(FunctionConfiguration))]
[JsonSerializable(typeof(GetFunctionResponse))]
[JsonSerializable(typeof(FunctionConcurrency))]
[JsonSerializable(typeof(ListFunctionsResponse))]
[JsonSerializable(typeof(GetAccountSettingsResponse))]
[JsonSerializable(typeof(PublishVersionRequest))]
[JsonSerializable(typeof(ListVersionsByFunctionResponse))]
[JsonSerializable(typeof(CreateAliasRequest))]
[JsonSerializable(typeof(UpdateAliasRequest))]
[JsonSerializable(typeof(AliasConfiguration))]
[JsonSerializable(typeof(ListAliasesResponse))]
[JsonSerializable(typeof(PublishLayerVersionRequest))]
[JsonSerializable(typeof(LayerVersionResponse))]
[JsonSerializable(typeof(ListLayerVersionsResponse))]
[JsonSerializable(typeof(ListLayersResponse))]
[JsonSerializable(typeof(PutProvisionedConcurrencyConfigRequest))]
[JsonSerializable(typeof(ProvisionedConcurrencyConfig))]
[JsonSerializable(typeof(ListProvisionedConcurrencyConfigsResponse))]
[JsonSerializable(typeof(ErrorResponse))]
[JsonSerializable(typeof(Dictionary<string, string>))]
internal sealed partial class FunctionsJsonContext : JsonSerializerContext;
