using System.Diagnostics;
using System.Web;

namespace Nimbus.IntegrationTests;

/// <summary>
/// GetFunction's Code.Location and GetLayerVersion's Content.Location are SigV4 presigned URLs (10 minutes, like
/// AWS's) that plain curl downloads; a tampered or expired one is refused.
/// </summary>
public sealed class CodeLocationTests
{
    // Presigns a URL for the lambda service that expires after one second, as botocore does for any service.
    private const string ExpiringUrlScript = """
        import os
        from botocore.auth import SigV4QueryAuth
        from botocore.awsrequest import AWSRequest
        from botocore.credentials import Credentials

        request = AWSRequest(method="GET", url=os.environ["NIMBUS_ENDPOINT"])
        SigV4QueryAuth(Credentials(os.environ["AWS_ACCESS_KEY_ID"], os.environ["AWS_SECRET_ACCESS_KEY"]), "lambda", "us-east-1", expires=1).add_auth(request)
        print(request.url)
        """;

    [Fact]
    public async Task Code_Location_downloads_with_plain_curl_and_a_tampered_or_expired_URL_is_refused()
    {
        using var data = new TempDirectory("nimbus-it-codelocation");
        using var scratch = new TempDirectory("nimbus-it-codelocation-scratch");
        var server = await NimbusServer.StartAsync(data.Path);
        await using (server)
        {
            await Failures.WithContextAsync(
                async () =>
                {
                    var zip = FunctionZips.FromSource("index.js", "exports.handler = async () => 'code location';\n");
                    var cli = new AwsCli(AwsCli.V1, server.Endpoint, scratch.Path);
                    (await cli.CreateFunctionAsync("code-location", zip, "nodejs20.x", "index.handler")).ShouldSucceed();
                    var location = (await cli.LambdaAsync("get-function", "--function-name", "code-location")).ShouldSucceed()
                        .Json().GetProperty("Code").GetProperty("Location").GetString()!;

                    var query = HttpUtility.ParseQueryString(new Uri(location).Query);
                    Assert.Equal("AWS4-HMAC-SHA256", query["X-Amz-Algorithm"]);
                    Assert.Equal("600", query["X-Amz-Expires"]);
                    Assert.StartsWith($"{NimbusServer.RootAccessKeyId}/", query["X-Amz-Credential"], StringComparison.Ordinal);

                    var (status, body) = await CurlAsync(location, scratch.Path);
                    Assert.Equal(200, status);
                    Assert.Equal(zip, body);

                    // Any change to what was signed is refused, as is the URL without its signature.
                    var signature = query["X-Amz-Signature"]!;
                    var tampered = location.Replace(signature, (signature[0] == 'a' ? 'b' : 'a') + signature[1..], StringComparison.Ordinal);
                    Assert.Equal(403, (await CurlAsync(tampered, scratch.Path)).Status);
                    Assert.Equal(403, (await CurlAsync(location.Replace("X-Amz-Expires=600", "X-Amz-Expires=604800", StringComparison.Ordinal), scratch.Path)).Status);
                    Assert.Equal(403, (await CurlAsync(location[..location.IndexOf('?', StringComparison.Ordinal)], scratch.Path)).Status);

                    // GetLayerVersion's Content.Location is presigned the same way: plain curl downloads it, a changed one is refused.
                    var layerZip = FunctionZips.FromSource("lib.js", "module.exports = 'layer';\n");
                    var layerZipPath = Path.Combine(scratch.Path, "layer.zip");
                    await File.WriteAllBytesAsync(layerZipPath, layerZip);
                    (await cli.LambdaAsync("publish-layer-version", "--layer-name", "code-location-layer", "--zip-file", "fileb://" + layerZipPath)).ShouldSucceed();
                    var layerLocation = (await cli.LambdaAsync("get-layer-version", "--layer-name", "code-location-layer", "--version-number", "1")).ShouldSucceed()
                        .Json().GetProperty("Content").GetProperty("Location").GetString()!;
                    var layerQuery = HttpUtility.ParseQueryString(new Uri(layerLocation).Query);
                    Assert.Equal("600", layerQuery["X-Amz-Expires"]);
                    var (layerStatus, layerBody) = await CurlAsync(layerLocation, scratch.Path);
                    Assert.Equal(200, layerStatus);
                    Assert.Equal(layerZip, layerBody);
                    var layerSignature = layerQuery["X-Amz-Signature"]!;
                    Assert.Equal(403, (await CurlAsync(layerLocation.Replace(layerSignature, (layerSignature[0] == 'a' ? 'b' : 'a') + layerSignature[1..], StringComparison.Ordinal), scratch.Path)).Status);
                    Assert.Equal(403, (await CurlAsync(layerLocation[..layerLocation.IndexOf('?', StringComparison.Ordinal)], scratch.Path)).Status);

                    // Past its expiry the same kind of URL is refused with Lambda's error.
                    var path = new Uri(location).AbsolutePath;
                    var expiring = await AuthClients.Boto3Async(ExpiringUrlScript, server.Endpoint + path);
                    var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
                    int expiredStatus;
                    byte[] expiredBody;
                    do
                    {
                        (expiredStatus, expiredBody) = await CurlAsync(expiring, scratch.Path);
                    }
                    while (expiredStatus == 200 && DateTime.UtcNow < deadline && await Delay());
                    Assert.Equal(403, expiredStatus);
                    Assert.Contains("Request has expired", System.Text.Encoding.UTF8.GetString(expiredBody), StringComparison.Ordinal);
                },
                () => server.DescribeOutput());
        }
    }

    private static async Task<bool> Delay()
    {
        await Task.Delay(TimeSpan.FromMilliseconds(500));
        return true;
    }

    /// <summary>curl, unsigned: the HTTP status and the body.</summary>
    private static async Task<(int Status, byte[] Body)> CurlAsync(string url, string directory)
    {
        var output = Path.Combine(directory, $"{Guid.NewGuid():N}.out");
        var start = new ProcessStartInfo("curl") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in new[] { "-sS", "-o", output, "-w", "%{http_code}", "--max-time", "60", url })
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException("Could not start curl.");
        var stdout = await process.StandardOutput.ReadToEndAsync();
        var stderr = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        Assert.True(process.ExitCode == 0, $"curl {url} failed ({process.ExitCode}): {stderr}");
        return (int.Parse(stdout.Trim(), System.Globalization.CultureInfo.InvariantCulture), File.Exists(output) ? await File.ReadAllBytesAsync(output) : []);
    }
}
