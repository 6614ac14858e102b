using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;
using Nimbus.Sandboxes;

namespace Nimbus.Http;

/// <summary>
/// A RESPONSE_STREAM function URL's response, written as the function streams it. A stream of type
/// <c>application/vnd.awslambda.http-integration-response</c> (what <c>awslambda.HttpResponseStream.from</c> writes)
/// opens with a JSON prelude (<c>statusCode</c>, <c>headers</c>, <c>cookies</c>) and 8 NUL bytes; the status and headers
/// go out once the prelude is complete, the body bytes after it as they come. Any other stream is a 200 of the
/// function's content type. A gate orders the runtime's writes against the caller's completion.
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Reliability", "CA1001", Justification = "The gate never allocates a wait handle; a runtime may still write after completion, so it is never disposed.")]
internal sealed class FunctionUrlStreamSink(HttpContext context, Action<HttpResponse> decorate) : IResponseStreamSink
{
    public const string HttpIntegrationContentType = "application/vnd.awslambda.http-integration-response";

    /// <summary>A prelude longer than this is not one: the response is malformed.</summary>
    private const int MaxPreludeBytes = 64 * 1024;
    private const int PreludeSeparatorBytes = 8;

    private readonly SemaphoreSlim _gate = new(1, 1);
    private MemoryStream? _prelude;
    private bool _closed;

    /// <summary>The function started streaming: the caller's response is this sink's, whatever the result.</summary>
    public bool Started { get; private set; }

    /// <summary>Status and headers are on the wire.</summary>
    public bool HeadersSent { get; private set; }

    /// <summary>The stream's prelude was malformed; nothing was sent, and the caller gets a 502.</summary>
    public bool Malformed { get; private set; }

    public async ValueTask StartAsync(string contentType, string executedVersion)
    {
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            if (_closed || Started)
            {
                return;
            }

            Started = true;
            if (contentType.StartsWith(HttpIntegrationContentType, StringComparison.OrdinalIgnoreCase))
            {
                _prelude = new MemoryStream();
                return;
            }

            context.Response.StatusCode = 200;
            context.Response.ContentType = contentType;
            await SendHeadersAsync().ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
    }

    public async ValueTask WriteAsync(ReadOnlyMemory<byte> chunk)
    {
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            if (_closed || Malformed)
            {
                return;
            }

            if (_prelude is not null)
            {
                chunk = await TakePreludeAsync(chunk).ConfigureAwait(false);
            }

            if (!chunk.IsEmpty && HeadersSent && !context.RequestAborted.IsCancellationRequested)
            {
                await context.Response.Body.WriteAsync(chunk, CancellationToken.None).ConfigureAwait(false);
            }
        }
        catch (IOException)
        {
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Stops taking chunks; true when the response still needs writing by the caller (nothing sent yet).</summary>
    public async Task<bool> CloseAsync()
    {
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            _closed = true;
            if (_prelude is { Length: 0 } && !Malformed)
            {
                // HttpResponseStream.from without a single write: the prelude never came; an empty 200.
                context.Response.StatusCode = 200;
                await SendHeadersAsync().ConfigureAwait(false);
            }

            return !HeadersSent;
        }
        finally
        {
            _gate.Release();
        }
    }

    private async ValueTask<ReadOnlyMemory<byte>> TakePreludeAsync(ReadOnlyMemory<byte> chunk)
    {
        var prelude = _prelude!;
        var start = (int)prelude.Length;
        prelude.Write(chunk.Span);
        var bytes = prelude.GetBuffer().AsSpan(0, (int)prelude.Length);
        var end = bytes[Math.Max(0, start - PreludeSeparatorBytes + 1)..].IndexOf(new byte[PreludeSeparatorBytes]);
        if (end < 0)
        {
            if (prelude.Length > MaxPreludeBytes)
            {
                Malformed = true;
                _prelude = null;
            }

            return ReadOnlyMemory<byte>.Empty;
        }

        end += Math.Max(0, start - PreludeSeparatorBytes + 1);
        _prelude = null;
        if (!ApplyPrelude(context.Response, bytes[..end]))
        {
            Malformed = true;
            return ReadOnlyMemory<byte>.Empty;
        }

        await SendHeadersAsync().ConfigureAwait(false);
        var bodyStart = end + PreludeSeparatorBytes;
        return prelude.GetBuffer().AsMemory(bodyStart, (int)prelude.Length - bodyStart);
    }

    private async Task SendHeadersAsync()
    {
        decorate(context.Response);
        HeadersSent = true;
        await context.Response.StartAsync(CancellationToken.None).ConfigureAwait(false);
    }

    /// <summary>The prelude's <c>statusCode</c> (default 200), <c>headers</c> and <c>cookies</c>; false when it is not such an object.</summary>
    private static bool ApplyPrelude(HttpResponse response, ReadOnlySpan<byte> json)
    {
        try
        {
            var reader = new Utf8JsonReader(json);
            using var document = JsonDocument.ParseValue(ref reader);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return false;
            }

            var statusCode = 200;
            if (root.TryGetProperty("statusCode", out var status) && (!status.TryGetInt32(out statusCode) || statusCode is < 100 or > 599))
            {
                return false;
            }

            response.StatusCode = statusCode;
            if (root.TryGetProperty("headers", out var headers) && headers.ValueKind == JsonValueKind.Object)
            {
                foreach (var header in headers.EnumerateObject())
                {
                    if (FunctionUrlFrontDoor.IsFramingHeader(header.Name) || header.Value.ValueKind == JsonValueKind.Null)
                    {
                        continue;
                    }

                    response.Headers[header.Name] = header.Value.ValueKind == JsonValueKind.String ? header.Value.GetString() : header.Value.GetRawText();
                }
            }

            if (root.TryGetProperty("cookies", out var cookies) && cookies.ValueKind == JsonValueKind.Array)
            {
                var values = cookies.EnumerateArray().Where(c => c.ValueKind == JsonValueKind.String).Select(c => c.GetString()!).ToArray();
                response.Headers.SetCookie = StringValues.Concat(response.Headers.SetCookie, new StringValues(values));
            }

            if (string.IsNullOrEmpty(response.ContentType))
            {
                response.ContentType = Sandboxes.RuntimeApi.DefaultStreamContentType;
            }

            return true;
        }
        catch (JsonException)
        {
            return false;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }
}
