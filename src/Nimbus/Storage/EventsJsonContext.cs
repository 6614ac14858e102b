using System.Text.Json.Serialization;

namespace Nimbus.Storage;

[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(EventInvokeConfigRecord))]
internal sealed partial class EventsJsonContext : JsonSerializerContext;
