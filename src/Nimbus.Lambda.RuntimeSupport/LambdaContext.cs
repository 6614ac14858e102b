using System.Text.Json;

namespace Nimbus.Lambda.RuntimeSupport;

/// <summary>What Lambda tells a handler about the invocation it is running and the function it runs in.</summary>
public sealed class LambdaContext
{
    private readonly long _deadlineMs;
    private readonly string? _clientContextJson;
    private readonly string? _cognitoIdentityJson;
    private LambdaClientContext? _clientContext;
    private LambdaCognitoIdentity? _identity;

    internal LambdaContext(NextInvocation invocation, LambdaLogger logger)
    {
        AwsRequestId = invocation.RequestId;
        InvokedFunctionArn = invocation.FunctionArn;
        TraceId = invocation.TraceId;
        _deadlineMs = invocation.DeadlineMs;
        _clientContextJson = invocation.ClientContext;
        _cognitoIdentityJson = invocation.CognitoIdentity;
        Logger = logger;
        FunctionName = Environment.GetEnvironmentVariable("AWS_LAMBDA_FUNCTION_NAME") ?? "";
        FunctionVersion = Environment.GetEnvironmentVariable("AWS_LAMBDA_FUNCTION_VERSION") ?? "";
        LogGroupName = Environment.GetEnvironmentVariable("AWS_LAMBDA_LOG_GROUP_NAME") ?? "";
        LogStreamName = Environment.GetEnvironmentVariable("AWS_LAMBDA_LOG_STREAM_NAME") ?? "";
        MemoryLimitInMB = int.TryParse(Environment.GetEnvironmentVariable("AWS_LAMBDA_FUNCTION_MEMORY_SIZE"), System.Globalization.CultureInfo.InvariantCulture, out var memory) ? memory : 0;
    }

    /// <summary>The invocation's request id.</summary>
    public string AwsRequestId { get; }

    /// <summary>The function's name.</summary>
    public string FunctionName { get; }

    /// <summary>The function version running (<c>$LATEST</c> or a number).</summary>
    public string FunctionVersion { get; }

    /// <summary>The ARN the caller invoked, with the qualifier it used.</summary>
    public string InvokedFunctionArn { get; }

    /// <summary>The function's log group.</summary>
    public string LogGroupName { get; }

    /// <summary>This instance's log stream.</summary>
    public string LogStreamName { get; }

    /// <summary>The function's memory size in MB.</summary>
    public int MemoryLimitInMB { get; }

    /// <summary>The X-Ray trace header of the invocation, when there is one.</summary>
    public string? TraceId { get; }

    /// <summary>Time left before the function's timeout ends the invocation.</summary>
    public TimeSpan RemainingTime =>
        _deadlineMs == 0 ? TimeSpan.Zero : TimeSpan.FromMilliseconds(Math.Max(0, _deadlineMs - DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()));

    /// <summary>The client context a mobile SDK caller passed, or null.</summary>
    public LambdaClientContext? ClientContext => _clientContext ??= LambdaClientContext.Parse(_clientContextJson);

    /// <summary>The Amazon Cognito identity of a mobile SDK caller, or null.</summary>
    public LambdaCognitoIdentity? Identity => _identity ??= LambdaCognitoIdentity.Parse(_cognitoIdentityJson);

    /// <summary>Writes lines to the function's log stream, tagged with this invocation's request id.</summary>
    public LambdaLogger Logger { get; }
}

/// <summary>The client context of an invocation (<c>--client-context</c>, base64 JSON on the wire).</summary>
public sealed class LambdaClientContext
{
    /// <summary>The calling application.</summary>
    public LambdaClientApplication Client { get; private init; } = new();

    /// <summary>Custom values the caller set.</summary>
    public IDictionary<string, string> Custom { get; private init; } = new Dictionary<string, string>();

    /// <summary>Environment values the caller's SDK set.</summary>
    public IDictionary<string, string> Environment { get; private init; } = new Dictionary<string, string>();

    internal static LambdaClientContext? Parse(string? json)
    {
        if (string.IsNullOrEmpty(json))
        {
            return null;
        }

        try
        {
            using var document = JsonDocument.Parse(json);
            var root = document.RootElement;
            var client = root.TryGetProperty("client", out var c) && c.ValueKind == JsonValueKind.Object ? c : default;
            return new LambdaClientContext
            {
                Client = new LambdaClientApplication
                {
                    InstallationId = Text(client, "installation_id"),
                    AppTitle = Text(client, "app_title"),
                    AppVersionName = Text(client, "app_version_name"),
                    AppVersionCode = Text(client, "app_version_code"),
                    AppPackageName = Text(client, "app_package_name"),
                },
                Custom = Map(root, "custom"),
                Environment = Map(root, "env"),
            };
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static string Text(JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString()! : "";

    private static Dictionary<string, string> Map(JsonElement root, string name)
    {
        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        if (root.ValueKind == JsonValueKind.Object && root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Object)
        {
            foreach (var property in value.EnumerateObject())
            {
                map[property.Name] = property.Value.ValueKind == JsonValueKind.String ? property.Value.GetString()! : property.Value.GetRawText();
            }
        }

        return map;
    }
}

/// <summary>The application that made a mobile SDK call.</summary>
public sealed class LambdaClientApplication
{
    /// <summary>The installation id.</summary>
    public string InstallationId { get; init; } = "";

    /// <summary>The application's title.</summary>
    public string AppTitle { get; init; } = "";

    /// <summary>The application's version name.</summary>
    public string AppVersionName { get; init; } = "";

    /// <summary>The application's version code.</summary>
    public string AppVersionCode { get; init; } = "";

    /// <summary>The application's package name.</summary>
    public string AppPackageName { get; init; } = "";
}

/// <summary>The Amazon Cognito identity of the caller.</summary>
public sealed class LambdaCognitoIdentity
{
    /// <summary>The Cognito identity id.</summary>
    public string IdentityId { get; init; } = "";

    /// <summary>The Cognito identity pool id.</summary>
    public string IdentityPoolId { get; init; } = "";

    internal static LambdaCognitoIdentity? Parse(string? json)
    {
        if (string.IsNullOrEmpty(json))
        {
            return null;
        }

        try
        {
            using var document = JsonDocument.Parse(json);
            var root = document.RootElement;
            return root.ValueKind != JsonValueKind.Object
                ? null
                : new LambdaCognitoIdentity
                {
                    IdentityId = root.TryGetProperty("cognitoIdentityId", out var id) && id.ValueKind == JsonValueKind.String ? id.GetString()! : "",
                    IdentityPoolId = root.TryGetProperty("cognitoIdentityPoolId", out var pool) && pool.ValueKind == JsonValueKind.String ? pool.GetString()! : "",
                };
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
