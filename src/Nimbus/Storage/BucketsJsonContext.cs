using System.Text.Json.Serialization;

namespace Nimbus.Storage;

[JsonSerializable(typeof(Dictionary<string, string>))]
internal sealed partial class BucketsJsonContext : JsonSerializerContext;
