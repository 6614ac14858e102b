using System.Text.Json.Serialization;

namespace Nimbus.Functions;

/// <summary>JSON of the event invoke config API: AWS's PascalCase names, nulls omitted.</summary>
[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(PutFunctionEventInvokeConfigRequest))]
[JsonSerializable(typeof(FunctionEventInvokeConfig))]
[JsonSerializable(typeof(ListFunctionEventInvokeConfigsResponse))]
internal sealed partial class EventInvokeJsonContext : JsonSerializerContext;
