using System.Text.Json;

namespace Nimbus.IntegrationTests;

/// <summary>
/// Reads JSON the way a test wants to: a missing property or a wrong kind fails with the path and the
/// whole document instead of a bare KeyNotFoundException.
/// </summary>
internal static class JsonAssert
{
    private const int MaxTextInMessage = 4_000;

    public static JsonElement Parse(string text, string what)
    {
        try
        {
            using var document = JsonDocument.Parse(text);
            return document.RootElement.Clone();
        }
        catch (JsonException ex)
        {
            Assert.Fail($"Expected JSON in {what} ({ex.Message}), got:{Environment.NewLine}{Shorten(text)}");
            throw;
        }
    }

    /// <summary>The element at a dotted path such as <c>Configuration.EphemeralStorage.Size</c>.</summary>
    public static JsonElement At(this JsonElement element, string path)
    {
        var current = element;
        foreach (var name in path.Split('.'))
        {
            if (current.ValueKind != JsonValueKind.Object || !current.TryGetProperty(name, out current))
            {
                Assert.Fail($"Expected JSON property '{path}' in:{Environment.NewLine}{Shorten(element.GetRawText())}");
            }
        }

        return current;
    }

    public static bool Has(this JsonElement element, string path)
    {
        var current = element;
        foreach (var name in path.Split('.'))
        {
            if (current.ValueKind != JsonValueKind.Object || !current.TryGetProperty(name, out current))
            {
                return false;
            }
        }

        return current.ValueKind != JsonValueKind.Null;
    }

    public static string Str(this JsonElement element, string path)
    {
        var value = element.At(path);
        Assert.True(value.ValueKind == JsonValueKind.String, $"Expected '{path}' to be a string in:{Environment.NewLine}{Shorten(element.GetRawText())}");
        return value.GetString()!;
    }

    public static long Num(this JsonElement element, string path)
    {
        var value = element.At(path);
        Assert.True(value.ValueKind == JsonValueKind.Number, $"Expected '{path}' to be a number in:{Environment.NewLine}{Shorten(element.GetRawText())}");
        return value.GetInt64();
    }

    public static bool Bool(this JsonElement element, string path)
    {
        var value = element.At(path);
        Assert.True(value.ValueKind is JsonValueKind.True or JsonValueKind.False, $"Expected '{path}' to be a boolean in:{Environment.NewLine}{Shorten(element.GetRawText())}");
        return value.GetBoolean();
    }

    public static IReadOnlyList<JsonElement> Array(this JsonElement element, string path)
    {
        var value = element.At(path);
        Assert.True(value.ValueKind == JsonValueKind.Array, $"Expected '{path}' to be an array in:{Environment.NewLine}{Shorten(element.GetRawText())}");
        return [.. value.EnumerateArray()];
    }

    /// <summary>Asserts two JSON values are equal, ignoring formatting and property order.</summary>
    public static void Equal(string expectedJson, JsonElement actual)
    {
        var expected = Parse(expectedJson, "the expected JSON");
        Assert.True(JsonElement.DeepEquals(expected, actual), $"Expected JSON {expected.GetRawText()}{Environment.NewLine}but got {Shorten(actual.GetRawText())}");
    }

    private static string Shorten(string text) =>
        text.Length <= MaxTextInMessage ? text : string.Concat(text.AsSpan(0, MaxTextInMessage), $"... ({text.Length} chars)");
}
