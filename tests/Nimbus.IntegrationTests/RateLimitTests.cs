using System.Text.Json;

namespace Nimbus.IntegrationTests;

/// <summary>
/// The rate limit per access key, with boto3: over the configured rate each service answers its own throttling error
/// (Lambda 429 TooManyRequestsException, SQS RequestThrottled, S3 503 SlowDown), another key (root) is unaffected at
/// that moment, and the key recovers once it slows down.
/// </summary>
// Serial: the burst must reach the server faster than the token bucket refills, which a loaded machine may not do.
[Collection(SerialCollectionDefinition.Name)]
public sealed class RateLimitTests
{
    // For each service: refill the user's bucket, send a burst at once from threads, then one call as root, then the
    // user's calls every 0.5 s (at most 20) until one succeeds. Prints one JSON object per service.
    private const string Script = """
        import json, os, time
        from concurrent.futures import ThreadPoolExecutor
        import boto3, botocore.config, botocore.exceptions

        endpoint = os.environ["NIMBUS_ENDPOINT"]
        config = botocore.config.Config(retries={"max_attempts": 1, "mode": "standard"}, max_pool_connections=40,
                                        s3={"addressing_style": "path"})

        def client(service, key, secret):
            return boto3.client(service, endpoint_url=endpoint, aws_access_key_id=key, aws_secret_access_key=secret, config=config)

        calls = {"lambda": lambda c: c.list_functions(), "sqs": lambda c: c.list_queues(), "s3": lambda c: c.list_buckets()}
        user = {s: client(s, os.environ["AWS_ACCESS_KEY_ID"], os.environ["AWS_SECRET_ACCESS_KEY"]) for s in calls}
        root = {s: client(s, "test", "test") for s in calls}

        def attempt(service, c):
            try:
                calls[service](c)
                return {"ok": True}
            except botocore.exceptions.ClientError as e:
                return {"ok": False, "code": e.response["Error"]["Code"], "status": e.response["ResponseMetadata"]["HTTPStatusCode"],
                        "reason": e.response.get("Reason"), "retryAfter": e.response["ResponseMetadata"]["HTTPHeaders"].get("retry-after")}

        for service in calls:
            time.sleep(2.5)
            with ThreadPoolExecutor(max_workers=30) as pool:
                burst = list(pool.map(lambda _: attempt(service, user[service]), range(30)))
            other = attempt(service, root[service])
            recovered = None
            for _ in range(20):
                time.sleep(0.5)
                recovered = attempt(service, user[service])
                if recovered["ok"]:
                    break
            print(json.dumps({"service": service, "burst": burst, "root": other, "recovered": recovered}))
        """;

    [Fact]
    public async Task Over_the_rate_each_service_throttles_in_its_own_shape_other_keys_are_unaffected_and_the_key_recovers()
    {
        using var data = new TempDirectory("nimbus-it-ratelimit");
        var server = await NimbusServer.StartAsync(data.Path, new Dictionary<string, string> { ["NIMBUS_REQUESTS_PER_SECOND_PER_KEY"] = "2" });
        await using (server)
        {
            await Failures.WithContextAsync(
                async () =>
                {
                    // Root is limited too (2 requests/s, bursts of 4): the server's start-up grants spent its burst, so
                    // let the bucket refill before the three admin calls that create the user.
                    await Task.Delay(TimeSpan.FromSeconds(2.5));
                    var user = await AuthClients.CreateUserAsync(server, """{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}""");
                    var output = await AuthClients.Boto3Async(Script, server.Endpoint, user.AccessKeyId, user.SecretAccessKey);
                    var results = output.Split('\n', StringSplitOptions.RemoveEmptyEntries)
                        .Select(line => JsonDocument.Parse(line).RootElement)
                        .ToDictionary(r => r.GetProperty("service").GetString()!);

                    AssertThrottled(results["lambda"], "TooManyRequestsException", 429, output);
                    Assert.Contains(Refusals(results["lambda"]), r => r.GetProperty("reason").GetString() == "CallerRateLimitExceeded");
                    AssertThrottled(results["sqs"], "RequestThrottled", 400, output);
                    AssertThrottled(results["s3"], "SlowDown", 503, output);
                    Assert.All(Refusals(results["s3"]), r => Assert.Equal("1", r.GetProperty("retryAfter").GetString()));
                },
                () => server.DescribeOutput());
        }
    }

    private static IEnumerable<JsonElement> Refusals(JsonElement result) =>
        result.GetProperty("burst").EnumerateArray().Where(r => !r.GetProperty("ok").GetBoolean());

    private static void AssertThrottled(JsonElement result, string code, int status, string output)
    {
        var service = result.GetProperty("service").GetString();
        var burst = result.GetProperty("burst").EnumerateArray().ToList();
        Assert.True(burst.Any(r => r.GetProperty("ok").GetBoolean()), $"{service}: the burst's first calls are within the burst allowance.{Environment.NewLine}{output}");
        var refused = Refusals(result).ToList();
        Assert.True(refused.Count > 0, $"{service}: a burst of {burst.Count} calls over 2 requests/s should be throttled.{Environment.NewLine}{output}");
        Assert.All(refused, r =>
        {
            Assert.Equal(code, r.GetProperty("code").GetString());
            Assert.Equal(status, r.GetProperty("status").GetInt32());
        });
        Assert.True(result.GetProperty("root").GetProperty("ok").GetBoolean(), $"{service}: root's key should be unaffected by the user's throttle.{Environment.NewLine}{output}");
        Assert.True(result.GetProperty("recovered").GetProperty("ok").GetBoolean(), $"{service}: the user's key should recover once it slows down.{Environment.NewLine}{output}");
    }
}
