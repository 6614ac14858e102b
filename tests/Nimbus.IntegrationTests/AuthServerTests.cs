using System.Text;

namespace Nimbus.IntegrationTests;

/// <summary>
/// Authentication settings that need a server of their own: a root key generated at first start (printed once, kept
/// 0600, the same after a restart, access-key secrets never in clear in iam.db), and --dev mode.
/// </summary>
public sealed class AuthServerTests
{
    /// <summary>Empty values unset the harness's test/test root key, so the server generates one.</summary>
    private static readonly Dictionary<string, string> NoRootKey = new()
    {
        ["NIMBUS_ROOT_ACCESS_KEY_ID"] = "",
        ["NIMBUS_ROOT_SECRET_ACCESS_KEY"] = "",
    };

    [Fact]
    public async Task Without_root_variables_a_root_key_is_generated_printed_once_kept_0600_and_secrets_are_sealed_at_rest()
    {
        using var data = new TempDirectory("nimbus-it-auth");
        using var scratch = new TempDirectory("nimbus-it-auth-scratch");
        string accessKeyId = "", secret = "", userSecret = "";
        var server = await NimbusServer.StartAsync(data.Path, NoRootKey);
        await using (server)
        {
            await Failures.WithContextAsync(
                async () =>
                {
                    var file = Path.Combine(data.Path, "root-credentials");
                    Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file));
                    Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(data.Path, "secrets.key")));
                    var values = File.ReadAllLines(file).Select(l => l.Split(" = ")).Where(p => p.Length == 2).ToDictionary(p => p[0], p => p[1]);
                    (accessKeyId, secret) = (values["aws_access_key_id"], values["aws_secret_access_key"]);
                    Assert.Contains($"export AWS_ACCESS_KEY_ID={accessKeyId} AWS_SECRET_ACCESS_KEY={secret}", server.DescribeOutput(), StringComparison.Ordinal);

                    var root = new AwsCli(AwsCli.V1, server.Endpoint, scratch.Path, accessKeyId, secret);
                    (await root.LambdaAsync("list-functions")).ShouldSucceed();
                    (await new AwsCli(AwsCli.V1, server.Endpoint, scratch.Path).LambdaAsync("list-functions")).ShouldFailWith("UnrecognizedClientException");

                    var rootHttp = new HttpClient(new SigV4SigningHandler(accessKeyId, secret, Aws.Region)) { BaseAddress = server.EndpointUri };
                    using (rootHttp)
                    {
                        using var user = await rootHttp.PostAsync("/nimbus/admin/users/alice", null);
                        Assert.Equal(201, (int)user.StatusCode);
                        using var key = await rootHttp.PostAsync("/nimbus/admin/users/alice/keys", null);
                        userSecret = System.Text.Json.JsonDocument.Parse(await key.Content.ReadAsStringAsync()).RootElement.GetProperty("SecretAccessKey").GetString()!;
                    }
                },
                () => server.DescribeOutput());
        }

        // The secret of alice's key is sealed in iam.db (AES-GCM), in no file of the data directory in clear.
        foreach (var file in Directory.EnumerateFiles(data.Path, "iam.db*"))
        {
            Assert.DoesNotContain(userSecret, Encoding.Latin1.GetString(await File.ReadAllBytesAsync(file)), StringComparison.Ordinal);
        }

        var again = await NimbusServer.StartAsync(data.Path, NoRootKey);
        await using (again)
        {
            await Failures.WithContextAsync(
                async () =>
                {
                    Assert.DoesNotContain(secret, again.DescribeOutput(), StringComparison.Ordinal);
                    (await new AwsCli(AwsCli.V2, again.Endpoint, scratch.Path, accessKeyId, secret).LambdaAsync("list-functions")).ShouldSucceed();
                },
                () => again.DescribeOutput());
        }
    }

    [Fact]
    public async Task Dev_mode_accepts_any_well_formed_signature_says_so_loudly_and_still_refuses_unsigned_requests()
    {
        using var data = new TempDirectory("nimbus-it-dev");
        using var scratch = new TempDirectory("nimbus-it-dev-scratch");
        var server = await NimbusServer.StartAsync(data.Path, new Dictionary<string, string> { ["NIMBUS_DEV"] = "true" });
        await using (server)
        {
            await Failures.WithContextAsync(
                async () =>
                {
                    Assert.Contains("DEV MODE", server.DescribeOutput(), StringComparison.Ordinal);
                    (await new AwsCli(AwsCli.V1, server.Endpoint, scratch.Path, "anything", "whatever").LambdaAsync("list-functions")).ShouldSucceed();
                    using var unsigned = await server.UnsignedHttp.GetAsync("/2015-03-31/functions");
                    Assert.Equal(403, (int)unsigned.StatusCode);
                },
                () => server.DescribeOutput());
        }
    }
}
