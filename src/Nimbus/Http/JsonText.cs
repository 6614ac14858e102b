using System.Text.Json;
using System.Text.Unicode;

namespace Nimbus.Http;

/// <summary>
/// What System.Text.Json's parsers let through but its string readers throw on (an <see cref="InvalidOperationException"/>,
/// a 500 if it reaches a handler): invalid UTF-8 and escaped lone surrogates such as <c>"\ud800"</c>. Every JSON API checks
/// a body here once, at the door, so handlers only ever meet strings they can read.
/// </summary>
internal static class JsonText
{
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
