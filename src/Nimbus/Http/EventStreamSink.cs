using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Nimbus.Invocation;
using Nimbus.Sandboxes;

namespace Nimbus.Http;

/// <summary>
/// InvokeWithResponseStream's answer: a 200 whose body is an event stream of <c>PayloadChunk</c> events, one per chunk
/// the function writes, sent as it writes them, and a final <c>InvokeComplete</c>. A gate orders the runtime's writes
/// against the caller's completion: once complete, late chunks (an invocation that timed out mid-stream) are dropped.
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Reliability", "CA1001", Justification = "The gate never allocates a wait handle; a runtime may still write after completion, so it is never disposed.")]
internal sealed class EventStreamSink(HttpContext context) : IResponseStreamSink
{
    public const string PayloadChunkEvent = "PayloadChunk";
    public const string InvokeCompleteEvent = "InvokeComplete";
    private const string ChunkContentType = "application/octet-stream";
    private const string CompleteContentType = "application/json";

    private readonly SemaphoreSlim _gate = new(1, 1);
    private bool _started;
    private bool _closed;

    public async ValueTask StartAsync(string contentType, string executedVersion)
    {
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            if (_closed || _started)
            {
                return;
            }

            _started = true;
            WriteHeaders(contentType, executedVersion);
            await context.Response.StartAsync(CancellationToken.None).ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
    }

    public async ValueTask WriteAsync(ReadOnlyMemory<byte> chunk)
    {
        if (chunk.IsEmpty)
        {
            return;
        }

        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            if (!_closed && !context.RequestAborted.IsCancellationRequested)
            {
                // A write to a caller that hung up completes without effect.
                await context.Response.Body.WriteAsync(EventStreamMessage.Event(PayloadChunkEvent, ChunkContentType, chunk.Span), CancellationToken.None).ConfigureAwait(false);
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

    /// <summary>Ends the stream with InvokeComplete; a response the function did not stream goes out as one chunk first.</summary>
    public async Task CompleteAsync(InvocationResult result)
    {
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            _closed = true;
            var response = context.Response;
            if (!_started)
            {
                WriteHeaders(LambdaHttp.JsonContentType, result.ExecutedVersion);
                if (result.Status == InvocationStatus.Success && result.Payload.Length > 0)
                {
                    await response.Body.WriteAsync(EventStreamMessage.Event(PayloadChunkEvent, ChunkContentType, result.Payload), CancellationToken.None).ConfigureAwait(false);
                }
            }

            var complete = EventStreamMessage.Event(InvokeCompleteEvent, CompleteContentType, CompletePayload(result));
            await response.Body.WriteAsync(complete, CancellationToken.None).ConfigureAwait(false);
        }
        catch (IOException)
        {
        }
        finally
        {
            _gate.Release();
        }
    }

    private void WriteHeaders(string contentType, string executedVersion)
    {
        var response = context.Response;
        response.StatusCode = 200;
        response.ContentType = contentType;
        response.Headers[LambdaApi.ExecutedVersionHeader] = executedVersion;
    }

    /// <summary><c>{"ErrorCode","ErrorDetails","LogResult"}</c>: the function's errorType and errorMessage when it failed.</summary>
    private static byte[] CompletePayload(InvocationResult result)
    {
        string? errorCode = null;
        string? errorDetails = null;
        if (result.Status == InvocationStatus.FunctionError)
        {
            (errorCode, errorDetails) = ErrorFields(result.Payload);
        }

        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            if (errorCode is not null)
            {
                writer.WriteString("ErrorCode", errorCode);
                writer.WriteString("ErrorDetails", errorDetails ?? "");
            }

            if (result.LogTail is { } tail)
            {
                writer.WriteString("LogResult", Convert.ToBase64String(Encoding.UTF8.GetBytes(tail)));
            }

            writer.WriteEndObject();
        }

        return buffer.ToArray();
    }

    private static (string Code, string? Details) ErrorFields(byte[] body)
    {
        try
        {
            using var document = JsonDocument.Parse(body);
            var root = document.RootElement;
            if (root.ValueKind == JsonValueKind.Object)
            {
                var code = root.TryGetProperty("errorType", out var type) && type.ValueKind == JsonValueKind.String ? type.GetString() : null;
                var details = root.TryGetProperty("errorMessage", out var message) && message.ValueKind == JsonValueKind.String ? message.GetString() : null;
                return (code is { Length: > 0 } ? code : "Unhandled", details);
            }
        }
        catch (JsonException)
        {
        }

        return ("Unhandled", Encoding.UTF8.GetString(body));
    }
}
