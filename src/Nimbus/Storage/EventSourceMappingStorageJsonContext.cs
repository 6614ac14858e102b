using System.Text.Json.Serialization;
using Nimbus.Functions;

namespace Nimbus.Storage;

/// <summary>The stored JSON of an event source mapping (frozen by a golden test).</summary>
[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(EventSourceMappingRecord))]
internal sealed partial class EventSourceMappingStorageJsonContext : JsonSerializerContext;
