using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Nimbus.Lambda.RuntimeSupport;

/// <summary>
/// JSON conventions of Lambda's System.Text.Json serializer: property names as declared in C#, matched
/// case-insensitively when reading; null members left out; <see cref="MemoryStream"/> as base64; a
/// <see cref="DateTime"/> written in ISO 8601 with milliseconds.
/// </summary>
public static class LambdaJson
{
    /// <summary>New options with Lambda's conventions, to adjust or pass to a serializer context.</summary>
    public static JsonSerializerOptions CreateOptions()
    {
        var options = new JsonSerializerOptions
        {
            PropertyNameCaseInsensitive = true,
            DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        };
        options.Converters.Add(new DateTimeConverter());
        options.Converters.Add(new MemoryStreamConverter());
        return options;
    }

    private sealed class DateTimeConverter : JsonConverter<DateTime>
    {
        public override DateTime Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
        {
            if (reader.TokenType == JsonTokenType.Number && reader.TryGetInt64(out var epochSeconds))
            {
                // Some AWS events carry epoch seconds where a date is declared.
                return DateTimeOffset.FromUnixTimeSeconds(epochSeconds).UtcDateTime;
            }

            return DateTime.Parse(reader.GetString()!, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal);
        }

        public override void Write(Utf8JsonWriter writer, DateTime value, JsonSerializerOptions options) =>
            writer.WriteStringValue(value.ToUniversalTime().ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture));
    }

    private sealed class MemoryStreamConverter : JsonConverter<MemoryStream>
    {
        public override MemoryStream Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
            new(reader.GetBytesFromBase64());

        public override void Write(Utf8JsonWriter writer, MemoryStream value, JsonSerializerOptions options) =>
            writer.WriteBase64StringValue(value.ToArray());
    }
}
