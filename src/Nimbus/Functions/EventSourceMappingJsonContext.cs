using System.Text.Json.Serialization;

namespace Nimbus.Functions;

/// <summary>JSON of the event source mapping API: AWS's PascalCase names, nulls omitted.</summary>
[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(CreateEventSourceMappingRequest))]
[JsonSerializable(typeof(UpdateEventSourceMappingRequest))]
[JsonSerializable(typeof(EventSourceMappingConfiguration))]
[JsonSerializable(typeof(ListEventSourceMappingsResponse))]
internal sealed partial class EventSourceMappingJsonContext : JsonSerializerContext;
