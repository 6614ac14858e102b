using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Nimbus.Http;

namespace Nimbus.Sandboxes;

/// <summary>
/// The Extensions API (2020-01-01) on an instance's Runtime API port, shared with the runtime
/// (<c>AWS_LAMBDA_RUNTIME_API</c>): register, event/next, init/error, exit/error, with AWS's headers and errors.
/// </summary>
internal static class ExtensionsApi
{
    public const string Prefix = "/2020-01-01/extension/";
    public const string NameHeader = "Lambda-Extension-Name";
    public const string IdentifierHeader = "Lambda-Extension-Identifier";
    public const string EventIdentifierHeader = "Lambda-Extension-Event-Identifier";
    public const string ErrorTypeHeader = "Lambda-Extension-Function-Error-Type";
    public const string InvokeEvent = "INVOKE";
    public const string ShutdownEvent = "SHUTDOWN";
    public const string SpindownReason = "spindown";
    public const string TimeoutReason = "timeout";
    public const string FailureReason = "failure";

    /// <summary>The error of an invocation during which an extension's process died (as Lambda reports it).</summary>
    public const string CrashErrorType = "Extension.Crash";

    /// <summary>A registration body is a short JSON object.</summary>
    private const int MaxRequestBytes = 64 * 1024;

    public static async Task HandleAsync(HttpContext context, SandboxInstance instance, string rest)
    {
        var method = context.Request.Method;
        if (instance.Extensions is not { } extensions)
        {
            await WriteErrorAsync(context, 403, "Extension.InvalidStateTransition", "This function has no extensions: ship them in a layer's extensions/ directory.").ConfigureAwait(false);
            return;
        }

        if (rest == "register" && HttpMethods.IsPost(method))
        {
            await RegisterAsync(context, instance, extensions).ConfigureAwait(false);
            return;
        }

        if (rest is not ("event/next" or "init/error" or "exit/error"))
        {
            await WriteErrorAsync(context, 404, "NotFound", $"Unknown Extensions API path {method} {context.Request.Path}.").ConfigureAwait(false);
            return;
        }

        var id = context.Request.Headers[IdentifierHeader].ToString();
        if (id.Length == 0)
        {
            await WriteErrorAsync(context, 403, "Extension.MissingExtensionIdentifier", $"Missing {IdentifierHeader} header.").ConfigureAwait(false);
            return;
        }

        if (extensions.Find(id) is not { } extension)
        {
            await WriteErrorAsync(context, 403, "Extension.InvalidExtensionIdentifier", $"Invalid {IdentifierHeader} header: {id}.").ConfigureAwait(false);
            return;
        }

        if (rest == "event/next" && HttpMethods.IsGet(method))
        {
            byte[] body;
            try
            {
                body = await extensions.NextAsync(extension, context.RequestAborted).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            context.Response.StatusCode = 200;
            context.Response.ContentType = "application/json";
            context.Response.Headers[EventIdentifierHeader] = Guid.NewGuid().ToString();
            context.Response.ContentLength = body.Length;
            await context.Response.Body.WriteAsync(body, context.RequestAborted).ConfigureAwait(false);
        }
        else if (rest is "init/error" or "exit/error" && HttpMethods.IsPost(method))
        {
            var errorType = context.Request.Headers[ErrorTypeHeader].ToString() is { Length: > 0 } type ? type : "Extension.Unknown";
            var body = await RequestBody.ReadAsync(context, MaxRequestBytes).ConfigureAwait(false);
            var error = body is { Length: > 0 } && IsJsonObject(body) ? body : SandboxInstance.ErrorBody(errorType, $"Extension {extension.Name} reported an error.");
            if (rest == "init/error")
            {
                instance.TryReportInitError(new RuntimeReply(true, error, errorType));
            }
            else
            {
                instance.ExtensionFailed();
            }

            context.Response.StatusCode = 202;
            context.Response.ContentType = "application/json";
            await context.Response.Body.WriteAsync("{\"status\":\"OK\"}\n"u8.ToArray(), context.RequestAborted).ConfigureAwait(false);
        }
        else
        {
            await WriteErrorAsync(context, 405, "MethodNotAllowed", $"{method} is not allowed on {context.Request.Path}.").ConfigureAwait(false);
        }
    }

    /// <summary>An INVOKE event's body, as Lambda sends it to extensions.</summary>
    public static byte[] InvokeEventBody(PendingInvocation invocation) => Json(writer =>
    {
        writer.WriteString("eventType", InvokeEvent);
        writer.WriteNumber("deadlineMs", invocation.DeadlineMs);
        writer.WriteString("requestId", invocation.RequestId);
        writer.WriteString("invokedFunctionArn", invocation.InvokedFunctionArn);
        writer.WriteStartObject("tracing");
        writer.WriteString("type", "X-Amzn-Trace-Id");
        writer.WriteString("value", invocation.TraceId);
        writer.WriteEndObject();
    });

    public static byte[] ShutdownEventBody(string reason, long deadlineMs) => Json(writer =>
    {
        writer.WriteString("eventType", ShutdownEvent);
        writer.WriteString("shutdownReason", reason);
        writer.WriteNumber("deadlineMs", deadlineMs);
    });

    private static async Task RegisterAsync(HttpContext context, SandboxInstance instance, InstanceExtensions extensions)
    {
        var name = context.Request.Headers[NameHeader].ToString();
        if (name.Length == 0)
        {
            await WriteErrorAsync(context, 403, "Extension.MissingExtensionName", $"Missing {NameHeader} header.").ConfigureAwait(false);
            return;
        }

        var body = await RequestBody.ReadAsync(context, MaxRequestBytes).ConfigureAwait(false);
        var events = body is null ? null : ParseEvents(body);
        if (events is null)
        {
            await WriteErrorAsync(context, 400, "InvalidRequest", """The body must be {"events":[...]} with events among INVOKE and SHUTDOWN.""").ConfigureAwait(false);
            return;
        }

        var (extension, error) = extensions.Register(name, events.Contains(InvokeEvent), events.Contains(ShutdownEvent));
        if (extension is null)
        {
            await WriteErrorAsync(context, 403, "Extension.InvalidStateTransition", error!).ConfigureAwait(false);
            return;
        }

        await instance.OnOutputLineAsync(PlatformLog.Extension(name, events)).ConfigureAwait(false);
        var function = instance.Function;
        var answer = Json(writer =>
        {
            writer.WriteString("functionName", function.Name);
            writer.WriteString("functionVersion", function.Version);
            writer.WriteString("handler", function.Handler);
        });
        context.Response.StatusCode = 200;
        context.Response.ContentType = "application/json";
        context.Response.Headers[IdentifierHeader] = extension.Id;
        context.Response.ContentLength = answer.Length;
        await context.Response.Body.WriteAsync(answer, context.RequestAborted).ConfigureAwait(false);
    }

    /// <summary>The subscribed events, or null when the body is not <c>{"events":[...]}</c> of known events.</summary>
    private static List<string>? ParseEvents(byte[] body)
    {
        try
        {
            using var document = JsonDocument.Parse(body);
            if (document.RootElement.ValueKind != JsonValueKind.Object || !document.RootElement.TryGetProperty("events", out var list) || list.ValueKind != JsonValueKind.Array)
            {
                return null;
            }

            var events = new List<string>();
            foreach (var item in list.EnumerateArray())
            {
                if (item.ValueKind != JsonValueKind.String || item.GetString() is not (InvokeEvent or ShutdownEvent))
                {
                    return null;
                }

                events.Add(item.GetString()!);
            }

            return events;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static bool IsJsonObject(byte[] body)
    {
        try
        {
            using var document = JsonDocument.Parse(body);
            return document.RootElement.ValueKind == JsonValueKind.Object;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private static byte[] Json(Action<Utf8JsonWriter> write)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            write(writer);
            writer.WriteEndObject();
        }

        return buffer.ToArray();
    }

    private static Task WriteErrorAsync(HttpContext context, int status, string errorType, string message)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        var body = SandboxInstance.ErrorBody(errorType, message);
        context.Response.ContentLength = body.Length;
        return context.Response.Body.WriteAsync(body, context.RequestAborted).AsTask();
    }
}
