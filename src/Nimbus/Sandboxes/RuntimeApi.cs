using System.Globalization;
using System.Text;
using Microsoft.AspNetCore.Http;
using Nimbus.Functions;
using Nimbus.Http;

namespace Nimbus.Sandboxes;

/// <summary>
/// The Lambda Runtime API (2018-06-01), exactly as runtimes expect it, served on each instance's own port.
/// Paths, headers and status codes follow AWS's contract so unmodified runtime clients work.
/// </summary>
internal static class RuntimeApi
{
    public const string Prefix = "/2018-06-01/runtime/";
    public const string RequestIdHeader = "Lambda-Runtime-Aws-Request-Id";
    public const string DeadlineHeader = "Lambda-Runtime-Deadline-Ms";
    public const string FunctionArnHeader = "Lambda-Runtime-Invoked-Function-Arn";
    public const string TraceIdHeader = "Lambda-Runtime-Trace-Id";
    public const string ClientContextHeader = "Lambda-Runtime-Client-Context";
    public const string CognitoIdentityHeader = "Lambda-Runtime-Cognito-Identity";
    public const string ErrorTypeHeader = "Lambda-Runtime-Function-Error-Type";
    public const string ErrorBodyTrailer = "Lambda-Runtime-Function-Error-Body";
    public const string ResponseModeHeader = "Lambda-Runtime-Function-Response-Mode";
    public const string StreamingResponseMode = "streaming";
    public const string DefaultStreamContentType = "application/octet-stream";

    /// <summary>
    /// Nimbus's own extension, outside AWS's paths: a pre-started runtime client asks here for the function it
    /// becomes and gets <c>{"environment":{...}}</c> (see <see cref="PrestartedRuntime"/>).
    /// </summary>
    public const string AssignmentPath = "/nimbus/2018-06-01/runtime/assignment";

    private const string PeerCheckedKey = "nimbus.runtime-peer";

    private static readonly byte[] AcceptedBody = "{\"status\":\"OK\"}\n"u8.ToArray();

    public static async Task HandleAsync(HttpContext context, RuntimePortPool ports)
    {
        var instance = ports.Owner(context.Connection.LocalPort);
        if ((instance is null || context.Request.Path.Value == AssignmentPath) && ports.PrestartedOwner(context.Connection.LocalPort) is { } prestarted)
        {
            await AssignmentAsync(context, ports, prestarted).ConfigureAwait(false);
            return;
        }

        if (instance is null)
        {
            await WriteStatusAsync(context, 403, "InvalidStateTransition", "No instance owns this Runtime API endpoint.").ConfigureAwait(false);
            return;
        }

        if (!IsOwnPeer(context, ports, instance, instance.Sandbox?.UserId))
        {
            await WriteStatusAsync(context, 403, "AccessDenied", "This Runtime API endpoint belongs to another execution environment.").ConfigureAwait(false);
            return;
        }

        var path = context.Request.Path.Value ?? "";
        var method = context.Request.Method;
        if (path.StartsWith(ExtensionsApi.Prefix, StringComparison.Ordinal))
        {
            await ExtensionsApi.HandleAsync(context, instance, path[ExtensionsApi.Prefix.Length..]).ConfigureAwait(false);
            return;
        }

        if (!path.StartsWith(Prefix, StringComparison.Ordinal))
        {
            await WriteStatusAsync(context, 404, "NotFound", $"Unknown Runtime API path {path}.").ConfigureAwait(false);
            return;
        }

        var rest = path[Prefix.Length..];
        if (rest == "invocation/next" && HttpMethods.IsGet(method))
        {
            await NextAsync(context, instance).ConfigureAwait(false);
        }
        else if (rest == "init/error" && HttpMethods.IsPost(method))
        {
            var body = await ReadBodyAsync(context, LambdaLimits.MaxRuntimeResponseBytes).ConfigureAwait(false);
            var errorType = context.Request.Headers[ErrorTypeHeader].ToString();
            if (!instance.TryReportInitError(new RuntimeReply(true, body ?? [], errorType)))
            {
                await WriteStatusAsync(context, 403, "InvalidStateTransition", "State transition from Ready to InitError failed for runtime. Error: State transition is not allowed").ConfigureAwait(false);
                return;
            }

            await WriteAcceptedAsync(context).ConfigureAwait(false);
        }
        else if (rest.StartsWith("invocation/", StringComparison.Ordinal) && HttpMethods.IsPost(method))
        {
            var parts = rest.Split('/');
            if (parts.Length == 3 && parts[2] is "response" or "error")
            {
                await AnswerAsync(context, instance, parts[1], parts[2] == "error").ConfigureAwait(false);
            }
            else
            {
                await WriteStatusAsync(context, 404, "NotFound", $"Unknown Runtime API path {path}.").ConfigureAwait(false);
            }
        }
        else
        {
            await WriteStatusAsync(context, 404, "NotFound", $"Unknown Runtime API path {method} {path}.").ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Instances share the host's loopback, so any process could dial another instance's port and take its
    /// events. Where an instance runs as a uid of its own, only sockets of that uid are served; checked once
    /// per connection (runtimes keep theirs alive). In a network namespace per slot the port is reachable from its
    /// own instance only (and the connection is not in this server's socket table): the namespace is the check.
    /// </summary>
    private static bool IsOwnPeer(HttpContext context, RuntimePortPool ports, object owner, int? userId)
    {
        if (userId is not { } expected || ports.IsIsolated)
        {
            return true;
        }

        var items = context.Features.Get<Microsoft.AspNetCore.Connections.Features.IConnectionItemsFeature>()?.Items;
        if (items is not null && items.TryGetValue(PeerCheckedKey, out var checkedFor) && ReferenceEquals(checkedFor, owner))
        {
            return true;
        }

        var peerUid = context.Connection.RemoteIpAddress is { } address && System.Net.IPAddress.IsLoopback(address)
            ? LoopbackPeer.OwnerUid(context.Connection.RemotePort, context.Connection.LocalPort)
            : null;
        if (peerUid != expected)
        {
            return false;
        }

        if (items is not null)
        {
            items[PeerCheckedKey] = owner;
        }

        return true;
    }

    /// <summary>GET <see cref="AssignmentPath"/>: waits until a function takes this runtime, then sends its environment.</summary>
    private static async Task AssignmentAsync(HttpContext context, RuntimePortPool ports, PrestartedRuntime runtime)
    {
        if (!IsOwnPeer(context, ports, runtime, runtime.Sandbox?.UserId))
        {
            await WriteStatusAsync(context, 403, "AccessDenied", "This Runtime API endpoint belongs to another execution environment.").ConfigureAwait(false);
            return;
        }

        if (!HttpMethods.IsGet(context.Request.Method) || context.Request.Path.Value != AssignmentPath)
        {
            await WriteStatusAsync(context, 403, "InvalidStateTransition", "This runtime has no function yet: it may only ask for its assignment.").ConfigureAwait(false);
            return;
        }

        byte[] body;
        try
        {
            body = await runtime.WaitForAssignmentAsync(context.RequestAborted).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return;
        }

        context.Response.StatusCode = 200;
        context.Response.ContentType = "application/json";
        context.Response.ContentLength = body.Length;
        await context.Response.Body.WriteAsync(body, context.RequestAborted).ConfigureAwait(false);
    }

    private static async Task NextAsync(HttpContext context, SandboxInstance instance)
    {
        PendingInvocation? invocation;
        try
        {
            invocation = await instance.NextAsync(context.RequestAborted).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return;
        }

        if (invocation is null)
        {
            await WriteStatusAsync(context, 403, "InvalidStateTransition", "State transition from Running to Ready failed: the current invocation has not been answered.").ConfigureAwait(false);
            return;
        }

        var headers = context.Response.Headers;
        headers[RequestIdHeader] = invocation.RequestId;
        headers[DeadlineHeader] = invocation.DeadlineMs.ToString(CultureInfo.InvariantCulture);
        headers[FunctionArnHeader] = invocation.InvokedFunctionArn;
        headers[TraceIdHeader] = invocation.TraceId;
        if (invocation.ClientContext is { Length: > 0 } clientContext)
        {
            headers[ClientContextHeader] = clientContext;
        }

        if (invocation.CognitoIdentity is { Length: > 0 } identity)
        {
            headers[CognitoIdentityHeader] = identity;
        }

        context.Response.StatusCode = 200;
        context.Response.ContentType = "application/json";
        context.Response.ContentLength = invocation.Payload.Length;
        await context.Response.Body.WriteAsync(invocation.Payload, context.RequestAborted).ConfigureAwait(false);
    }

    private static async Task AnswerAsync(HttpContext context, SandboxInstance instance, string requestId, bool isError)
    {
        var current = instance.Current;
        if (current is null || !string.Equals(current.RequestId, requestId, StringComparison.Ordinal))
        {
            await WriteStatusAsync(context, 400, "InvalidRequestID", "Invalid request ID").ConfigureAwait(false);
            return;
        }

        if (current.IsAnswered)
        {
            await WriteStatusAsync(context, 403, "InvalidStateTransition", "Invalid state transition: the invocation has already been answered.").ConfigureAwait(false);
            return;
        }

        var streaming = !isError && string.Equals(context.Request.Headers[ResponseModeHeader], StreamingResponseMode, StringComparison.OrdinalIgnoreCase);
        if (streaming && context.Features.Get<Microsoft.AspNetCore.Server.Kestrel.Core.Features.IHttpMinRequestBodyDataRateFeature>() is { } rate)
        {
            // A function may pause between chunks for as long as its timeout allows.
            rate.MinDataRate = null;
        }

        if (streaming && current.ResponseStream is { } sink)
        {
            await StreamAsync(context, instance, current, sink).ConfigureAwait(false);
            return;
        }

        var body = await ReadBodyAsync(context, LambdaLimits.MaxRuntimeResponseBytes).ConfigureAwait(false);
        if (body is null)
        {
            AnswerFirst.Answer(current, new RuntimeReply(true, SandboxInstance.ErrorBody("Function.ResponseSizeTooLarge",
                $"Response payload size exceeded maximum allowed payload size ({LambdaLimits.MaxRuntimeResponseBytes} bytes)."), "Function.ResponseSizeTooLarge", TooLarge: true));
            await WriteStatusAsync(context, 413, "RequestEntityTooLarge", $"Exceeded maximum allowed payload size ({LambdaLimits.MaxRuntimeResponseBytes} bytes).").ConfigureAwait(false);
            return;
        }

        var errorType = isError ? context.Request.Headers[ErrorTypeHeader].ToString() : null;
        if (!isError && TrailerError(context) is { } failed)
        {
            // A streamed response reports a late failure in trailers.
            AnswerFirst.Answer(current, failed);
            await WriteAcceptedAsync(context).ConfigureAwait(false);
            return;
        }

        AnswerFirst.Answer(current, new RuntimeReply(isError, isError && body.Length == 0 ? SandboxInstance.ErrorBody(errorType is { Length: > 0 } ? errorType : "Function.Unknown", "The function reported an error without details.") : body, errorType));
        await WriteAcceptedAsync(context).ConfigureAwait(false);
    }

    /// <summary>
    /// A streamed response whose caller takes it as it is written: each chunk goes on to the sink as it arrives, never
    /// the whole body in memory. Past <see cref="LambdaLimits.StreamUncappedBytes"/> the reading is paced to Lambda's
    /// bandwidth cap; past <see cref="LambdaLimits.MaxStreamedResponseBytes"/> the invocation fails.
    /// </summary>
    private static async Task StreamAsync(HttpContext context, SandboxInstance instance, PendingInvocation current, IResponseStreamSink sink)
    {
        var contentType = context.Request.ContentType is { Length: > 0 } type ? type : DefaultStreamContentType;
        await sink.StartAsync(contentType, instance.Function.Version).ConfigureAwait(false);
        var time = instance.Time;
        var reader = context.Request.BodyReader;
        long total = 0;
        long cappedSince = 0;
        while (true)
        {
            System.IO.Pipelines.ReadResult read;
            try
            {
                read = await reader.ReadAsync(context.RequestAborted).ConfigureAwait(false);
            }
            catch (Exception e) when (e is IOException or OperationCanceledException or BadHttpRequestException)
            {
                // The runtime hung up part-way (it crashed or was killed): the invocation's end decides the outcome.
                return;
            }

            var buffer = read.Buffer;
            if (total + buffer.Length > LambdaLimits.MaxStreamedResponseBytes)
            {
                reader.AdvanceTo(buffer.End);
                var message = $"Response payload size exceeded maximum allowed payload size ({LambdaLimits.MaxStreamedResponseBytes} bytes).";
                AnswerFirst.Answer(current, new RuntimeReply(true, SandboxInstance.ErrorBody("Function.ResponseSizeTooLarge", message), "Function.ResponseSizeTooLarge", TooLarge: true, Streamed: true));
                await WriteStatusAsync(context, 413, "RequestEntityTooLarge", $"Exceeded maximum allowed payload size ({LambdaLimits.MaxStreamedResponseBytes} bytes).").ConfigureAwait(false);
                return;
            }

            foreach (var segment in buffer)
            {
                await sink.WriteAsync(segment).ConfigureAwait(false);
            }

            total += buffer.Length;
            reader.AdvanceTo(buffer.End);
            if (read.IsCompleted)
            {
                break;
            }

            if (total > LambdaLimits.StreamUncappedBytes)
            {
                if (cappedSince == 0)
                {
                    cappedSince = time.GetTimestamp();
                }

                var due = TimeSpan.FromSeconds((total - LambdaLimits.StreamUncappedBytes) / (double)LambdaLimits.StreamedBytesPerSecondCap);
                var ahead = due - time.GetElapsedTime(cappedSince);
                if (ahead > TimeSpan.Zero)
                {
                    await Task.Delay(ahead, time).ConfigureAwait(false);
                }
            }
        }

        AnswerFirst.Answer(current, TrailerError(context) is { } failed
            ? failed with { Streamed = true }
            : new RuntimeReply(false, [], null, Streamed: true));
        await WriteAcceptedAsync(context).ConfigureAwait(false);
    }

    /// <summary>The error a streamed response reported in its trailers, once its body has been read; null when none.</summary>
    private static RuntimeReply? TrailerError(HttpContext context)
    {
        var request = context.Request;
        if (!request.SupportsTrailers() || !request.CheckTrailersAvailable())
        {
            return null;
        }

        var errorType = request.GetTrailer(ErrorTypeHeader).ToString();
        if (errorType.Length == 0)
        {
            return null;
        }

        var body = request.GetTrailer(ErrorBodyTrailer).ToString();
        var decoded = body.Length > 0 ? TryBase64(body) : null;
        return new RuntimeReply(true, decoded ?? SandboxInstance.ErrorBody(errorType, "The function failed while streaming its response."), errorType);
    }

    private static byte[]? TryBase64(string value)
    {
        try
        {
            return Convert.FromBase64String(value);
        }
        catch (FormatException)
        {
            return null;
        }
    }

    /// <summary>The body, or null when it exceeds <paramref name="limit"/>.</summary>
    private static Task<byte[]?> ReadBodyAsync(HttpContext context, int limit) => RequestBody.ReadAsync(context, limit);

    // Every answer carries its Content-Length: one write, no chunked framing for the runtime client to parse.
    private static Task WriteAcceptedAsync(HttpContext context)
    {
        context.Response.StatusCode = 202;
        context.Response.ContentType = "application/json";
        context.Response.ContentLength = AcceptedBody.Length;
        return context.Response.Body.WriteAsync(AcceptedBody, context.RequestAborted).AsTask();
    }

    private static Task WriteStatusAsync(HttpContext context, int status, string errorType, string message)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        var body = SandboxInstance.ErrorBody(errorType, message);
        context.Response.ContentLength = body.Length;
        return context.Response.Body.WriteAsync(body, context.RequestAborted).AsTask();
    }
}
