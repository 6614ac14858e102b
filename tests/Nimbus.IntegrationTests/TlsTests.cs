using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.RegularExpressions;

namespace Nimbus.IntegrationTests;

/// <summary>
/// Optional HTTPS: with a certificate file the node serves the APIs over TLS on --tls-listen (the AWS CLI verifies it
/// with --ca-bundle), functions still reach the node through AWS_ENDPOINT_URL, and a bad certificate path stops the
/// start with a message naming the setting.
/// </summary>
public sealed partial class TlsTests
{
    private const string Source = """
        import os
        import urllib.request


        def handler(event, context):
            endpoint = os.environ["AWS_ENDPOINT_URL"]
            with urllib.request.urlopen(endpoint + "/health", timeout=20) as response:
                return {"endpoint": endpoint, "health": response.read().decode().strip(), "echo": event.get("n")}
        """;

    [Fact]
    public async Task The_AWS_CLI_invokes_a_function_over_HTTPS_with_a_self_signed_certificate_and_a_bad_certificate_path_fails_the_start()
    {
        using var data = new TempDirectory("nimbus-it-tls");
        using var scratch = new TempDirectory("nimbus-it-tls-scratch");
        var (certificatePath, keyPath) = WriteSelfSignedCertificate(scratch.Path);
        var server = await NimbusServer.StartAsync(data.Path, new Dictionary<string, string>
        {
            ["NIMBUS_TLS_CERT"] = certificatePath,
            ["NIMBUS_TLS_KEY"] = keyPath,
            ["NIMBUS_TLS_LISTEN"] = "https://127.0.0.1:0",
        });
        await using (server)
        {
            await Failures.WithContextAsync(
                async () =>
                {
                    var https = await HttpsUrlAsync(server);
                    const string name = "over-https";
                    await new LambdaHttp(server.Http).CreateFunctionAsync(name, FunctionZips.FromSource("lambda_function.py", Source), "python3.12", "lambda_function.handler", timeout: 30);

                    var cli = new AwsCli(AwsCli.V1, https, scratch.Path, NimbusServer.RootAccessKeyId, NimbusServer.RootSecretAccessKey);
                    var payload = (await cli.InvokeAsync(name, """{"n": 7}""", "--ca-bundle", certificatePath)).ShouldReturn();
                    Assert.Equal(7, payload.GetProperty("echo").GetInt32());
                    Assert.Equal("ok", payload.GetProperty("health").GetString());
                    // Sandboxes keep the plain URL (in an isolated network: the node's APIs on the namespace's own loopback port).
                    Assert.StartsWith("http://127.0.0.1:", payload.GetProperty("endpoint").GetString(), StringComparison.Ordinal);

                    // Real TLS: without the certificate to trust, the CLI refuses the server.
                    var untrusted = await cli.LambdaAsync("list-functions");
                    Assert.NotEqual(0, untrusted.ExitCode);
                    Assert.Contains("SSL", untrusted.Stderr, StringComparison.OrdinalIgnoreCase);
                },
                () => server.DescribeOutput());
        }

        var missing = Path.Combine(scratch.Path, "no-such-cert.pem");
        var failed = await NimbusServer.RunUntilExitAsync(data.Path, new Dictionary<string, string>
        {
            ["NIMBUS_TLS_CERT"] = missing,
            ["NIMBUS_TLS_LISTEN"] = "https://127.0.0.1:0",
        });
        ShutdownTests.AssertFailedStart(failed, 1, $"Nimbus:Tls:CertificatePath (--tls-cert) '{missing}' does not exist");
    }

    private static async Task<string> HttpsUrlAsync(NimbusServer server)
    {
        // The banner is printed when the server has started; it may follow the ready line by a moment.
        for (var attempt = 0; attempt < 100; attempt++)
        {
            if (HttpsLine().Match(server.DescribeOutput()) is { Success: true } match)
            {
                return match.Groups[1].Value;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(100));
        }

        throw new InvalidOperationException("The server printed no 'Nimbus serves HTTPS on https://...' line.");
    }

    /// <summary>A self-signed certificate for 127.0.0.1 and localhost, as PEM certificate and PEM key files.</summary>
    internal static (string Certificate, string Key) WriteSelfSignedCertificate(string directory)
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=nimbus-test", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        names.AddDnsName("localhost");
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: true, hasPathLengthConstraint: false, pathLengthConstraint: 0, critical: true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyEncipherment | X509KeyUsageFlags.KeyCertSign, critical: true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], critical: false));
        var subjectKey = new X509SubjectKeyIdentifierExtension(request.PublicKey, critical: false);
        request.CertificateExtensions.Add(subjectKey);
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromSubjectKeyIdentifier(subjectKey));
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
        var certificatePath = Path.Combine(directory, "nimbus-test.crt");
        var keyPath = Path.Combine(directory, "nimbus-test.key");
        File.WriteAllText(certificatePath, certificate.ExportCertificatePem() + "\n");
        File.WriteAllText(keyPath, key.ExportPkcs8PrivateKeyPem() + "\n");
        return (certificatePath, keyPath);
    }

    [GeneratedRegex(@"Nimbus serves HTTPS on (https://\S+)")]
    private static partial Regex HttpsLine();
}
