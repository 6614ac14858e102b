using System.Text;
using System.Text.Json;

namespace Nimbus.IntegrationTests;

/// <summary>A fully read HTTP response: status, headers (case-insensitive) and body.</summary>
internal sealed class HttpResult(string request, int statusCode, IReadOnlyDictionary<string, string> headers, byte[] body)
{
    private const int MaxBodyInDescription = 2_000;

    public string Request { get; } = request;

    public int StatusCode { get; } = statusCode;

    public IReadOnlyDictionary<string, string> Headers { get; } = headers;

    public byte[] Body { get; } = body;

    public string Text => Encoding.UTF8.GetString(Body);

    public string? Header(string name) => Headers.TryGetValue(name, out var value) ? value : null;

    public JsonElement Json() => JsonAssert.Parse(Text, $"the body of {Request}");

    /// <summary>Asserts the AWS error shape: status, <c>x-amzn-ErrorType</c> header and JSON body.</summary>
    public JsonElement ShouldBeError(int status, string errorType)
    {
        Assert.True(StatusCode == status, $"{Request} should answer {status} {errorType}.{Environment.NewLine}{this}");
        Assert.True(Header("x-amzn-ErrorType") == errorType, $"{Request} should carry x-amzn-ErrorType: {errorType}.{Environment.NewLine}{this}");
        return Json();
    }

    public override string ToString()
    {
        var text = Text;
        if (text.Length > MaxBodyInDescription)
        {
            text = string.Concat(text.AsSpan(0, MaxBodyInDescription), $"... ({Body.Length} bytes)");
        }

        var headers = string.Join(Environment.NewLine, Headers.Select(h => $"{h.Key}: {h.Value}"));
        return $"{Request} -> HTTP {StatusCode}{Environment.NewLine}{headers}{Environment.NewLine}{Environment.NewLine}{text}";
    }
}
