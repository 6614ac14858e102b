using System.Diagnostics;
using System.Text;
using System.Text.Json;

namespace Nimbus.IntegrationTests;

/// <summary>A user created through the admin API, with one access key.</summary>
internal sealed record TestUser(string Name, string AccessKeyId, string SecretAccessKey);

/// <summary>Helpers of the authentication tests: the admin API (signed with root), boto3 scripts, hand-signed requests.</summary>
internal static class AuthClients
{
    /// <summary>Creates a user with an access key and the given inline policy, through the admin API signed as root.</summary>
    public static async Task<TestUser> CreateUserAsync(NimbusServer server, string policyJson)
    {
        var name = $"u-{Guid.NewGuid():N}"[..14];
        using (var created = await server.Http.PostAsync($"/nimbus/admin/users/{name}", null))
        {
            Assert.True((int)created.StatusCode == 201, $"create user: {(int)created.StatusCode} {await created.Content.ReadAsStringAsync()}");
        }

        using (var put = await server.Http.PutAsync($"/nimbus/admin/users/{name}/policies/only", new StringContent(policyJson, Encoding.UTF8, "application/json")))
        {
            Assert.True((int)put.StatusCode == 204, $"put policy: {(int)put.StatusCode} {await put.Content.ReadAsStringAsync()}");
        }

        using var key = await server.Http.PostAsync($"/nimbus/admin/users/{name}/keys", null);
        var body = await key.Content.ReadAsStringAsync();
        Assert.True((int)key.StatusCode == 201, $"create key: {(int)key.StatusCode} {body}");
        var json = JsonDocument.Parse(body).RootElement;
        return new TestUser(name, json.GetProperty("AccessKeyId").GetString()!, json.GetProperty("SecretAccessKey").GetString()!);
    }

    /// <summary>Attaches an inline identity policy to a role (a function's execution role, a schedule's RoleArn) through the admin API.</summary>
    public static async Task PutRolePolicyAsync(NimbusServer server, string role, string policyName, string policyJson)
    {
        using var put = await server.Http.PutAsync($"/nimbus/admin/roles/{role}/policies/{policyName}", new StringContent(policyJson, Encoding.UTF8, "application/json"));
        Assert.True((int)put.StatusCode == 204, $"put role policy: {(int)put.StatusCode} {await put.Content.ReadAsStringAsync()}");
    }

    /// <summary>Lets S3 invoke <paramref name="function"/> for <paramref name="bucket"/> (AddPermission, as <c>aws lambda add-permission --principal s3.amazonaws.com</c>).</summary>
    public static async Task AllowS3Async(NimbusServer server, string function, string bucket)
    {
        var body = $$"""{"StatementId":"s3-{{bucket}}","Action":"lambda:InvokeFunction","Principal":"s3.amazonaws.com","SourceArn":"arn:aws:s3:::{{bucket}}"}""";
        using var added = await server.Http.PostAsync($"/2015-03-31/functions/{function}/policy", new StringContent(body, Encoding.UTF8, "application/json"));
        Assert.True((int)added.StatusCode == 201, $"add-permission: {(int)added.StatusCode} {await added.Content.ReadAsStringAsync()}");
    }

    /// <summary>Sends a request signed by hand (the test harness's signer) with any key, time or token.</summary>
    public static async Task<HttpResult> SendSignedAsync(
        NimbusServer server, HttpMethod method, string pathAndQuery, byte[]? body, string service,
        string accessKeyId, string secret, DateTime signedAt, Action<HttpRequestMessage>? afterSigning = null)
    {
        using var request = new HttpRequestMessage(method, new Uri(server.EndpointUri, pathAndQuery));
        if (body is not null)
        {
            request.Content = new ByteArrayContent(body);
        }

        SigV4SigningHandler.Sign(request, body ?? [], service, accessKeyId, secret, Aws.Region, signedAt);
        afterSigning?.Invoke(request);
        return await SendAsync(server.UnsignedHttp, request);
    }

    public static async Task<HttpResult> SendAsync(HttpClient http, HttpRequestMessage request)
    {
        using var response = await http.SendAsync(request);
        var bytes = await response.Content.ReadAsByteArrayAsync();
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var (name, values) in response.Headers.Concat(response.Content.Headers))
        {
            headers[name] = string.Join(",", values);
        }

        return new HttpResult($"{request.Method} {request.RequestUri}", (int)response.StatusCode, headers, bytes);
    }

    /// <summary>Runs a Python script with boto3 (the default python3) and returns its stdout; fails the test on a non-zero exit.</summary>
    public static async Task<string> Boto3Async(string script, string endpoint, string accessKeyId = "test", string secret = "test")
    {
        var startInfo = new ProcessStartInfo("python3");
        startInfo.ArgumentList.Add("-c");
        startInfo.ArgumentList.Add(script);
        foreach (var key in startInfo.Environment.Keys.Where(k => k.StartsWith("AWS_", StringComparison.Ordinal)).ToList())
        {
            startInfo.Environment.Remove(key);
        }

        startInfo.Environment["AWS_ACCESS_KEY_ID"] = accessKeyId;
        startInfo.Environment["AWS_SECRET_ACCESS_KEY"] = secret;
        startInfo.Environment["AWS_DEFAULT_REGION"] = Aws.Region;
        startInfo.Environment["AWS_CONFIG_FILE"] = "/dev/null";
        startInfo.Environment["AWS_SHARED_CREDENTIALS_FILE"] = "/dev/null";
        startInfo.Environment["NIMBUS_ENDPOINT"] = endpoint;
        var outcome = await BoundedProcess.RunAsync(startInfo, TimeSpan.FromSeconds(60));
        Assert.True(outcome.ExitCode == 0 && !outcome.TimedOut, $"python3 boto3 script failed ({outcome.ExitCode}{(outcome.TimedOut ? ", killed after 60 s" : "")}):{Environment.NewLine}{outcome.Stdout}{Environment.NewLine}{outcome.Stderr}");
        return outcome.Stdout.Trim();
    }

    /// <summary>Reads JSON from a result body as an object.</summary>
    public static JsonElement JsonOf(HttpResult result) => JsonDocument.Parse(result.Text).RootElement;
}
