using System.Text.Json.Serialization;
using Nimbus.Functions;

namespace Nimbus.Storage;

[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(FunctionRecord))]
[JsonSerializable(typeof(AliasRecord))]
[JsonSerializable(typeof(LayerVersionRecord))]
internal sealed partial class StorageJsonContext : JsonSerializerContext;
