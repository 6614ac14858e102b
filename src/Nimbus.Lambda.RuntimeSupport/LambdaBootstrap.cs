using System.Text.Json;

namespace Nimbus.Lambda.RuntimeSupport;

/// <summary>
/// The handler loop of a Lambda function: takes invocations from the Runtime API one at a time, runs the
/// handler, posts its result or its error. Use it from the <c>Main</c> of a <c>provided.al2023</c> function's
/// <c>bootstrap</c>: <c>await new LambdaBootstrap(handler).RunAsync();</c>.
/// </summary>
public sealed class LambdaBootstrap : IDisposable
{
    private readonly Func<Stream, LambdaContext, Task<Stream?>> _handler;
    private readonly Func<Task>? _initializer;
    private readonly RuntimeApiClient _client;
    private readonly LambdaLogger _logger = new();

    /// <summary>A loop around a stream handler; <paramref name="initializer"/> runs once before the first invocation.</summary>
    /// <param name="handler">Gets the payload and the context; returns the response body, or null for an empty one.</param>
    /// <param name="initializer">Init code: an exception here is reported as the function's init error.</param>
    public LambdaBootstrap(Func<Stream, LambdaContext, Task<Stream?>> handler, Func<Task>? initializer = null)
        : this(handler, initializer, RuntimeApiClient.FromEnvironment())
    {
    }

    internal LambdaBootstrap(Func<Stream, LambdaContext, Task<Stream?>> handler, Func<Task>? initializer, RuntimeApiClient client)
    {
        ArgumentNullException.ThrowIfNull(handler);
        _handler = handler;
        _initializer = initializer;
        _client = client;
    }

    /// <summary>Runs the loop until <paramref name="cancellationToken"/> is cancelled or init fails.</summary>
    public async Task RunAsync(CancellationToken cancellationToken = default)
    {
        LogOutput.RedirectConsole();
        if (_initializer is not null)
        {
            try
            {
                await _initializer().ConfigureAwait(false);
            }
#pragma warning disable CA1031 // Any init failure is the function's, reported to Lambda.
            catch (Exception e)
#pragma warning restore CA1031
            {
                ReportInitError(_client, e, null, logStack: true);
                return;
            }
        }

        while (!cancellationToken.IsCancellationRequested)
        {
            await InvokeOnceAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Posts <paramref name="error"/> as the init error, the way an exception thrown at init is reported.</summary>
    internal static void ReportInitError(RuntimeApiClient client, Exception error, string? errorType, bool logStack)
    {
        var type = errorType ?? ErrorTypeOf(error);
        LogOutput.Write("fail", logStack ? error.ToString() : $"{type}: {error.Message}");
        Console.Out.Flush();
        Console.Error.Flush();
        client.PostInitError(type, ErrorBody(error, type));
    }

    internal async Task InvokeOnceAsync()
    {
        var invocation = _client.Next();
        LogOutput.RequestId = invocation.RequestId;
        Environment.SetEnvironmentVariable("_X_AMZN_TRACE_ID", invocation.TraceId);
        var context = new LambdaContext(invocation, _logger);
        byte[]? error = null;
        string? errorType = null;
        ReadOnlyMemory<byte> body = default;
        try
        {
            using var input = new MemoryStream(invocation.Payload, 0, invocation.Payload.Length, writable: false, publiclyVisible: true);
            var output = await _handler(input, context).ConfigureAwait(false);
            body = await ReadAllAsync(output).ConfigureAwait(false);
        }
#pragma warning disable CA1031 // Any handler failure is the invocation's error, reported to Lambda.
        catch (Exception e)
#pragma warning restore CA1031
        {
            errorType = ErrorTypeOf(e);
            LogOutput.Write("fail", e.ToString());
            error = ErrorBody(e, errorType);
        }

        Console.Out.Flush();
        Console.Error.Flush();
        if (error is not null)
        {
            _client.PostError(invocation.RequestId, errorType!, error);
        }
        else
        {
            _client.PostResponse(invocation.RequestId, body.Span);
        }
    }

    /// <inheritdoc />
    public void Dispose() => _client.Dispose();

    private static async Task<ReadOnlyMemory<byte>> ReadAllAsync(Stream? output)
    {
        if (output is null)
        {
            return ReadOnlyMemory<byte>.Empty;
        }

        await using (output.ConfigureAwait(false))
        {
            if (output is MemoryStream memory && memory.TryGetBuffer(out var segment))
            {
                return segment.AsMemory((int)memory.Position);
            }

            using var copy = new MemoryStream();
            await output.CopyToAsync(copy).ConfigureAwait(false);
            return copy.ToArray();
        }
    }

    /// <summary>The error type Lambda's .NET runtime reports: the exception's own type, unwrapped from reflection and tasks.</summary>
    internal static string ErrorTypeOf(Exception error) => Unwrap(error).GetType().Name;

    /// <summary><c>{"errorType","errorMessage","stackTrace":[...],"cause":{...}}</c>, Lambda's .NET error document.</summary>
    internal static byte[] ErrorBody(Exception error, string? errorType = null)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            WriteError(writer, Unwrap(error), errorType);
        }

        return buffer.ToArray();
    }

    private static void WriteError(Utf8JsonWriter writer, Exception error, string? errorType)
    {
        writer.WriteStartObject();
        writer.WriteString("errorType", errorType ?? error.GetType().Name);
        writer.WriteString("errorMessage", error.Message);
        if (error.StackTrace is { } trace)
        {
            writer.WriteStartArray("stackTrace");
            foreach (var line in trace.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                writer.WriteStringValue(line);
            }

            writer.WriteEndArray();
        }

        if (error.InnerException is { } inner)
        {
            writer.WritePropertyName("cause");
            WriteError(writer, Unwrap(inner), null);
        }

        writer.WriteEndObject();
    }

    private static Exception Unwrap(Exception error)
    {
        while (error is System.Reflection.TargetInvocationException { InnerException: { } inner })
        {
            error = inner;
        }

        return error is AggregateException { InnerExceptions.Count: 1 } aggregate ? Unwrap(aggregate.InnerExceptions[0]) : error;
    }
}
