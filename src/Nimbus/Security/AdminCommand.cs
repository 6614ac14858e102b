using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Nimbus.Security;

/// <summary>
/// <c>./nimbus user|key|policy ...</c>: the admin API from the command line, signed with the root key of a running
/// server (NIMBUS_ROOT_ACCESS_KEY_ID / NIMBUS_ROOT_SECRET_ACCESS_KEY, else <c>&lt;data&gt;/root-credentials</c>).
/// </summary>
internal static class AdminCommand
{
    public const string Usage = """
        Usage (talks to a running server with the root key):
          nimbus user create NAME | user delete NAME | user list
          nimbus key create USER                      prints the new access key id and secret (shown once)
          nimbus key delete ACCESS_KEY_ID
          nimbus policy put [--role] NAME FILE [POLICY_NAME]      attach an identity policy (JSON file) to a user or role
          nimbus policy get [--role] NAME [POLICY_NAME] | policy delete [--role] NAME [POLICY_NAME]
          nimbus cognito credentials ROLE IDENTITY_ID IDENTITY_POOL_ID   temporary credentials of ROLE for a Cognito identity
        Options: --endpoint URL (default $NIMBUS_ENDPOINT or http://127.0.0.1:4566), --data DIR (default $NIMBUS_DATA or ./.nimbus)
        """;

    public static bool Handles(string command) => command is "user" or "key" or "policy" or "cognito";

    public static async Task<int> RunAsync(string[] args)
    {
        var positional = new List<string>();
        var endpoint = Environment.GetEnvironmentVariable("NIMBUS_ENDPOINT") is { Length: > 0 } e ? e : "http://127.0.0.1:4566";
        var data = Environment.GetEnvironmentVariable("NIMBUS_DATA") is { Length: > 0 } d ? d : ".nimbus";
        var kind = IdentityStore.UserKind;
        for (var i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--endpoint" when i + 1 < args.Length:
                    endpoint = args[++i];
                    break;
                case "--data" when i + 1 < args.Length:
                    data = args[++i];
                    break;
                case "--role":
                    kind = IdentityStore.RoleKind;
                    break;
                default:
                    positional.Add(args[i]);
                    break;
            }
        }

        var request = BuildRequest(positional, kind, out var error);
        if (request is null)
        {
            await Console.Error.WriteLineAsync((error is null ? "" : error + Environment.NewLine) + Usage).ConfigureAwait(false);
            return 2;
        }

        string accessKeyId, secret;
        try
        {
            (accessKeyId, secret) = RootKey(data);
        }
        catch (Exception ex) when (ex is IOException or InvalidOperationException or UnauthorizedAccessException)
        {
            await Console.Error.WriteLineAsync("nimbus: no root key: " + ex.Message).ConfigureAwait(false);
            return 2;
        }

        using var http = new HttpClient { BaseAddress = new Uri(endpoint), Timeout = TimeSpan.FromSeconds(30) };
        using var message = new HttpRequestMessage(request.Value.Method, request.Value.Path);
        if (request.Value.Body is { } body)
        {
            message.Content = new ByteArrayContent(body);
            message.Content.Headers.ContentType = new("application/json");
        }

        SigV4Signer.Sign(message, http.BaseAddress, request.Value.Body ?? [], AwsServices.Admin, accessKeyId, secret, "us-east-1", DateTimeOffset.UtcNow);
        HttpResponseMessage response;
        try
        {
            response = await http.SendAsync(message).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
        {
            await Console.Error.WriteLineAsync(
                $"nimbus: cannot reach the node at {endpoint} ({ex.Message}). Start it with `./nimbus serve`, or point " +
                "NIMBUS_ENDPOINT at the URL it listens on.").ConfigureAwait(false);
            return 1;
        }

        using var _ = response;
        var text = await response.Content.ReadAsStringAsync().ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            await Console.Error.WriteLineAsync($"nimbus: {(int)response.StatusCode} {string.Join(",", response.Headers.TryGetValues(AwsAuthErrors.ErrorTypeHeader, out var t) ? t : [])}: {text}").ConfigureAwait(false);
            return 1;
        }

        Console.WriteLine(text.Length > 0 ? text : "ok");
        return 0;
    }

    private static (HttpMethod Method, string Path, byte[]? Body)? BuildRequest(List<string> args, string kind, out string? error)
    {
        error = null;
        string Arg(int i) => i < args.Count ? Uri.EscapeDataString(args[i]) : "";
        var policyName = args.Count > 3 && args[0] == "policy" && args[1] == "put" ? Arg(4) : Arg(3);
        switch (args.Count >= 2 ? $"{args[0]} {args[1]}" : args.FirstOrDefault())
        {
            case "user list":
                return (HttpMethod.Get, AdminApi.Prefix + "/users", null);
            case "user create" when args.Count == 3:
                return (HttpMethod.Post, $"{AdminApi.Prefix}/users/{Arg(2)}", null);
            case "user delete" when args.Count == 3:
                return (HttpMethod.Delete, $"{AdminApi.Prefix}/users/{Arg(2)}", null);
            case "key create" when args.Count == 3:
                return (HttpMethod.Post, $"{AdminApi.Prefix}/users/{Arg(2)}/keys", null);
            case "key delete" when args.Count == 3:
                return (HttpMethod.Delete, $"{AdminApi.Prefix}/keys/{Arg(2)}", null);
            case "policy put" when args.Count is 4 or 5:
                if (!File.Exists(args[3]))
                {
                    error = $"nimbus: policy file {args[3]} does not exist.";
                    return null;
                }

                return (HttpMethod.Put, $"{AdminApi.Prefix}/{kind}s/{Arg(2)}/policies/{(args.Count == 5 ? Arg(4) : "default")}", File.ReadAllBytes(args[3]));
            case "policy get" when args.Count is 3 or 4:
                return (HttpMethod.Get, $"{AdminApi.Prefix}/{kind}s/{Arg(2)}/policies/{(args.Count == 4 ? policyName : "default")}", null);
            case "policy delete" when args.Count is 3 or 4:
                return (HttpMethod.Delete, $"{AdminApi.Prefix}/{kind}s/{Arg(2)}/policies/{(args.Count == 4 ? policyName : "default")}", null);
            case "cognito credentials" when args.Count == 5:
                return (HttpMethod.Post, $"{AdminApi.Prefix}/roles/{Arg(2)}/cognito-credentials",
                    JsonSerializer.SerializeToUtf8Bytes(new CognitoCredentialsRequest(args[3], args[4], null), SecurityJsonContext.Default.CognitoCredentialsRequest));
            default:
                error = $"nimbus: unknown admin command '{string.Join(' ', args)}'.";
                return null;
        }
    }

    private static (string AccessKeyId, string Secret) RootKey(string data)
    {
        if (Environment.GetEnvironmentVariable("NIMBUS_ROOT_ACCESS_KEY_ID") is { Length: > 0 } id
            && Environment.GetEnvironmentVariable("NIMBUS_ROOT_SECRET_ACCESS_KEY") is { Length: > 0 } secret)
        {
            return (id, secret);
        }

        var root = RootCredentials.Resolve(new SecurityOptions(), Path.GetFullPath(data), create: false);
        return (root.AccessKeyId, root.SecretAccessKey);
    }
}

/// <summary>Signs an outgoing request with SigV4 (header form), as an AWS SDK does; for Nimbus's own clients.</summary>
internal static class SigV4Signer
{
    public static void Sign(HttpRequestMessage request, Uri baseAddress, byte[] body, string service, string accessKeyId, string secret, string region, DateTimeOffset now)
    {
        var uri = request.RequestUri!.IsAbsoluteUri ? request.RequestUri : new Uri(baseAddress, request.RequestUri);
        request.RequestUri = uri;
        var amzDate = SigV4.FormatAmzDate(now);
        var payloadHash = SigV4.Sha256Hex(body);
        request.Headers.TryAddWithoutValidation(SigV4.AmzDateHeader, amzDate);
        var headers = new List<(string, string)> { ("host", uri.Authority), ("x-amz-date", amzDate) };
        const string SignedHeaders = "host;x-amz-date";
        var canonical = SigV4.CanonicalRequest(request.Method.Method, SigV4.CanonicalUri(uri.AbsolutePath, service == AwsServices.S3),
            SigV4.CanonicalQuery(uri.Query), headers, SignedHeaders, payloadHash);
        var scope = SigV4.Scope(amzDate[..8], region, service);
        var signature = SigV4.Sign(SigV4.SigningKey(secret, amzDate[..8], region, service), SigV4.StringToSign(amzDate, scope, canonical));
        request.Headers.TryAddWithoutValidation("Authorization",
            string.Create(CultureInfo.InvariantCulture, $"{SigV4.Algorithm} Credential={accessKeyId}/{scope}, SignedHeaders={SignedHeaders}, Signature={signature}"));
    }
}
