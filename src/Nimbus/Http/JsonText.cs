using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Unicode;

namespace Nimbus.Http;

/// <summary>
/// What System.Text.Json's parsers let through but its string readers throw on (an <see cref="InvalidOperationException"/>,
/// a 500 if it reaches a handler): invalid UTF-8 and escaped lone surrogates such as <c>"\ud800"</c>. Every JSON API checks
/// a body here once, at the door, so handlers only ever meet strings they can read.
/// </summary>
internal static class JsonText
{
    /// <summary>
    /// The body as a JSON object, every nested object built now (a <see cref="JsonObject"/> builds its members lazily
    /// and throws <see cref="ArgumentException"/> on a duplicate key when first read). Throws <see cref="JsonException"/>
    /// for anything that is not one readable JSON object without duplicate keys.
    /// </summary>
    public static JsonObject ParseObject(byte[] body)
    {
        if (Problem(body) is { } problem)
        {
            throw new JsonException(problem);
        }

        var node = JsonNode.Parse(body) as JsonObject ?? throw new JsonException("the body is not a JSON object.");
        try
        {
            Build(node);
        }
        catch (ArgumentException e)
        {
            throw new JsonException($"a JSON object repeats a key: {e.Message}", e);
        }

        return node;
    }

    private static void Build(JsonNode? node)
    {
        if (node is JsonObject obj)
        {
            foreach (var (_, value) in obj)
            {
                Build(value);
            }
        }
        else if (node is JsonArray array)
        {
            foreach (var item in array)
            {
                Build(item);
            }
        }
    }

    /// <summary>Null when the body is one JSON value whose strings can all be read; otherwise what is wrong with it.</summary>
    public static string? Problem(ReadOnlySpan<byte> json)
    {
        if (!Utf8.IsValid(json))
        {
            return "the body is not valid UTF-8; send JSON encoded as UTF-8.";
        }

        try
        {
            var reader = new Utf8JsonReader(json, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Disallow });
            while (reader.Read())
            {
                if (reader.TokenType is JsonTokenType.String or JsonTokenType.PropertyName && reader.ValueIsEscaped)
                {
                    _ = reader.GetString();
                }
            }

            return null;
        }
        catch (JsonException e)
        {
            return e.Message;
        }
        catch (InvalidOperationException)
        {
            return "a string holds an escaped lone surrogate (such as \\ud800), which is not Unicode text; escape whole surrogate pairs only.";
        }
    }
}
