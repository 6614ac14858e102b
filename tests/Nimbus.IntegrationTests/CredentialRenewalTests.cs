using System.Text;

namespace Nimbus.IntegrationTests;

/// <summary>
/// An instance's execution-role credentials are renewed by retiring the instance before they expire (a fresh one
/// takes over), as Lambda recycles execution environments: with a 20 s lifetime, invocations keep succeeding, the
/// credentials a function sees change, and every call it signs with them is accepted.
/// </summary>
public sealed class CredentialRenewalTests
{
    private const string Source = """
        import os

        import boto3
        import botocore.config
        import botocore.exceptions

        client = boto3.client("lambda", endpoint_url=os.environ["AWS_ENDPOINT_URL"], config=botocore.config.Config(retries={"max_attempts": 1}))


        def handler(event, context):
            try:
                client.get_function_configuration(FunctionName=context.function_name)
                code = "ok"
            except botocore.exceptions.ClientError as e:
                code = e.response["Error"]["Code"]
            return {"key": os.environ["AWS_ACCESS_KEY_ID"], "code": code}
        """;

    [Fact]
    public async Task Instances_are_retired_before_their_credentials_expire_and_no_invocation_fails()
    {
        using var data = new TempDirectory("nimbus-it-credentials");
        var server = await NimbusServer.StartAsync(data.Path, new Dictionary<string, string> { ["NIMBUS_INSTANCE_CREDENTIAL_LIFETIME"] = "00:00:20" });
        await using (server)
        {
            await Failures.WithContextAsync(
                async () =>
                {
                    // The execution role may read function configurations, so the function's own call succeeds while its credentials are valid.
                    using var policy = await server.Http.PutAsync(
                        "/nimbus/admin/roles/lambda-role/policies/read-functions",
                        new StringContent("""{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"lambda:GetFunctionConfiguration","Resource":"*"}}""", Encoding.UTF8, "application/json"));
                    Assert.True(policy.IsSuccessStatusCode, $"PutRolePolicy: {(int)policy.StatusCode} {await policy.Content.ReadAsStringAsync()}");

                    const string name = "renewed-credentials";
                    var lambda = new LambdaHttp(server.Http);
                    await lambda.CreateFunctionAsync(name, FunctionZips.FromSource("lambda_function.py", Source), "python3.12", "lambda_function.handler", timeout: 3);

                    // Bounded: three generations of credentials take about 40 s; under load allow far more.
                    var keys = new List<string>();
                    var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(150);
                    var invocations = 0;
                    while (keys.Distinct().Count() < 3 && DateTime.UtcNow < deadline)
                    {
                        var invoked = await lambda.InvokeAsync(name, "{}");
                        invocations++;
                        Assert.True(invoked.StatusCode == 200 && invoked.Header("X-Amz-Function-Error") is null, $"Invocation {invocations} failed: {invoked}");
                        var payload = invoked.Json();
                        Assert.True(payload.GetProperty("code").GetString() == "ok", $"Invocation {invocations}: the function's own signed call was refused: {invoked.Text}");
                        keys.Add(payload.GetProperty("key").GetString()!);
                        await Task.Delay(TimeSpan.FromMilliseconds(500));
                    }

                    Assert.True(keys.Distinct().Count() >= 3, $"The credentials should have been renewed twice in {invocations} invocations; keys seen: {string.Join(", ", keys.Distinct())}");
                    Assert.All(keys.Distinct(), key => Assert.StartsWith("ASIA", key, StringComparison.Ordinal));
                },
                () => server.DescribeOutput());
        }
    }
}
