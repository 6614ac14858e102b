using System.Text.Encodings.Web;
using System.Text.Json;
using Nimbus.Functions;

namespace Nimbus.Http;

/// <summary>
/// The serializer context for Lambda API bodies. AWS does not HTML-escape (a '+' stays '+', a quote in a
/// message stays a quote), so neither do we.
/// </summary>
internal static class LambdaJson
{
    public static readonly FunctionsJsonContext Context = new(new JsonSerializerOptions(FunctionsJsonContext.Default.Options)
    {
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    });
}
