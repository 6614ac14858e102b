using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;

namespace Nimbus.IntegrationTests;

/// <summary>
/// Unsigned Lambda API requests over a raw HttpClient, for assertions on exact status codes, headers
/// and bodies that the CLIs hide.
/// </summary>
internal sealed class LambdaHttp(HttpClient http)
{
    public const string FunctionsPath = "/2015-03-31/functions";

    /// <summary>PutFunctionConcurrency and DeleteFunctionConcurrency live under this API date, GetFunctionConcurrency under the next.</summary>
    public const string ConcurrencyFunctionsPath = "/2017-10-31/functions";
    public const string GetConcurrencyFunctionsPath = "/2019-09-30/functions";
    public const string AccountSettingsPath = "/2016-08-19/account-settings";

    public static JsonObject CreateFunctionRequest(string name, byte[] zip, string runtime, string handler) => new()
    {
        ["FunctionName"] = name,
        ["Runtime"] = runtime,
        ["Role"] = Aws.Role,
        ["Handler"] = handler,
        ["Code"] = new JsonObject { ["ZipFile"] = Convert.ToBase64String(zip) },
    };

    /// <summary>
    /// The account concurrency limit a server started without NIMBUS_CONCURRENCY_LIMIT must report: one 128 MB
    /// instance per 128 MB of its instance memory (its /metrics gauge), at most 1,000.
    /// </summary>
    public async Task<long> MemorySizedConcurrencyLimitAsync()
    {
        var metrics = await SendAsync(HttpMethod.Get, "/metrics");
        var line = metrics.Text.Split('\n').Single(l => l.StartsWith("nimbus_memory_limit_megabytes ", StringComparison.Ordinal));
        var memoryMb = long.Parse(line.Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);
        return Math.Clamp(memoryMb / 128, 1, 1_000);
    }

    public Task<HttpResult> CreateFunctionAsync(JsonObject request) =>
        SendAsync(HttpMethod.Post, FunctionsPath, new StringContent(request.ToJsonString(), Encoding.UTF8, "application/json"));

    /// <summary>Creates a function and fails the test unless the server answers 201.</summary>
    public async Task<HttpResult> CreateFunctionAsync(string name, byte[] zip, string runtime, string handler, int? timeout = null)
    {
        var request = CreateFunctionRequest(name, zip, runtime, handler);
        if (timeout is not null)
        {
            request["Timeout"] = timeout.Value;
        }

        var result = await CreateFunctionAsync(request);
        Assert.True(result.StatusCode == 201, $"CreateFunction {name} should answer 201.{Environment.NewLine}{result}");
        return result;
    }

    public Task<HttpResult> InvokeAsync(string name, string payload, string? invocationType = null, string? logType = null) =>
        InvokeAsync(name, Encoding.UTF8.GetBytes(payload), invocationType, logType);

    public Task<HttpResult> InvokeAsync(string name, byte[] payload, string? invocationType = null, string? logType = null)
    {
        var content = new ByteArrayContent(payload);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        var headers = new Dictionary<string, string>();
        if (invocationType is not null)
        {
            headers["X-Amz-Invocation-Type"] = invocationType;
        }

        if (logType is not null)
        {
            headers["X-Amz-Log-Type"] = logType;
        }

        return SendAsync(HttpMethod.Post, $"{FunctionsPath}/{Uri.EscapeDataString(name)}/invocations", content, headers);
    }

    public Task<HttpResult> GetFunctionAsync(string name) =>
        SendAsync(HttpMethod.Get, $"{FunctionsPath}/{Uri.EscapeDataString(name)}");

    public Task<HttpResult> DeleteFunctionAsync(string name, CancellationToken cancellationToken = default) =>
        SendAsync(HttpMethod.Delete, $"{FunctionsPath}/{Uri.EscapeDataString(name)}", cancellationToken: cancellationToken);

    /// <summary>PutFunctionConcurrency with the given JSON body.</summary>
    public Task<HttpResult> PutFunctionConcurrencyAsync(string name, string body) =>
        SendAsync(HttpMethod.Put, $"{ConcurrencyFunctionsPath}/{Uri.EscapeDataString(name)}/concurrency", new StringContent(body, Encoding.UTF8, "application/json"));

    /// <summary>Reserves concurrency for a function and fails the test unless the server answers 200.</summary>
    public async Task PutFunctionConcurrencyAsync(string name, int reserved)
    {
        var result = await PutFunctionConcurrencyAsync(name, $$"""{"ReservedConcurrentExecutions":{{reserved}}}""");
        Assert.True(result.StatusCode == 200, $"PutFunctionConcurrency {name} {reserved} should answer 200.{Environment.NewLine}{result}");
    }

    public Task<HttpResult> GetFunctionConcurrencyAsync(string name) =>
        SendAsync(HttpMethod.Get, $"{GetConcurrencyFunctionsPath}/{Uri.EscapeDataString(name)}/concurrency");

    public Task<HttpResult> DeleteFunctionConcurrencyAsync(string name) =>
        SendAsync(HttpMethod.Delete, $"{ConcurrencyFunctionsPath}/{Uri.EscapeDataString(name)}/concurrency");

    public Task<HttpResult> GetAccountSettingsAsync() => SendAsync(HttpMethod.Get, AccountSettingsPath);

    /// <summary>GET /2015-03-31/functions with the given query string (without the '?').</summary>
    public Task<HttpResult> ListFunctionsAsync(string query) =>
        SendAsync(HttpMethod.Get, query.Length == 0 ? FunctionsPath : $"{FunctionsPath}?{query}");

    public async Task<HttpResult> SendAsync(
        HttpMethod method,
        string pathAndQuery,
        HttpContent? content = null,
        IEnumerable<KeyValuePair<string, string>>? headers = null,
        CancellationToken cancellationToken = default)
    {
        using var request = new HttpRequestMessage(method, new Uri(pathAndQuery, UriKind.Relative)) { Content = content };
        foreach (var (name, value) in headers ?? [])
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        using var response = await http.SendAsync(request, cancellationToken);
        var body = await response.Content.ReadAsByteArrayAsync(cancellationToken);
        var all = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var (name, values) in response.Headers.Concat(response.Content.Headers))
        {
            all[name] = string.Join(",", values);
        }

        return new HttpResult($"{method} {pathAndQuery}", (int)response.StatusCode, all, body);
    }
}
