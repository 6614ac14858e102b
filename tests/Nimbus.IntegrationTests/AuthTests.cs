using System.Text;

namespace Nimbus.IntegrationTests;

/// <summary>
/// SigV4 authentication and identity policies on the shared server (root key test/test): unsigned, wrongly signed,
/// expired, replayed and presigned requests through the AWS CLIs, boto3 and raw HTTP, each answered with the error of
/// the service the request was for; and a user whose policy allows only lambda:InvokeFunction on one function.
/// </summary>
public sealed class AuthTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private const string NodeRuntime = "nodejs20.x";

    [Fact]
    public Task Unsigned_requests_get_the_missing_token_error_of_the_service_they_are_for() => fixture.RunAsync(async scope =>
    {
        var http = scope.Server.UnsignedHttp;

        var lambda = await AuthClients.SendAsync(http, new HttpRequestMessage(HttpMethod.Get, "/2015-03-31/functions/"));
        Assert.Equal("Missing Authentication Token", lambda.ShouldBeError(403, "MissingAuthenticationTokenException").GetProperty("message").GetString());

        var s3 = await AuthClients.SendAsync(http, new HttpRequestMessage(HttpMethod.Get, "/some-bucket/some-key"));
        Assert.Equal(403, s3.StatusCode);
        Assert.Contains("<Error><Code>AccessDenied</Code>", s3.Text, StringComparison.Ordinal);

        var sqsQuery = await AuthClients.SendAsync(http, new HttpRequestMessage(HttpMethod.Post, "/")
        {
            Content = new StringContent("Action=ListQueues&Version=2012-11-05", Encoding.UTF8, "application/x-www-form-urlencoded"),
        });
        Assert.Equal(403, sqsQuery.StatusCode);
        Assert.Contains("<ErrorResponse", sqsQuery.Text, StringComparison.Ordinal);
        Assert.Contains("<Code>MissingAuthenticationToken</Code>", sqsQuery.Text, StringComparison.Ordinal);

        using var logsRequest = new HttpRequestMessage(HttpMethod.Post, "/") { Content = new StringContent("{}", Encoding.UTF8, "application/x-amz-json-1.1") };
        logsRequest.Headers.Add("X-Amz-Target", "Logs_20140328.DescribeLogGroups");
        var logs = await AuthClients.SendAsync(http, logsRequest);
        Assert.Equal("com.amazon.coral.service#MissingAuthenticationTokenException", logs.ShouldBeError(403, "MissingAuthenticationTokenException").GetProperty("__type").GetString());

        using var health = await http.GetAsync("/health");
        Assert.Equal(200, (int)health.StatusCode);
    });

    [Theory]
    [InlineData(AwsCli.V1)]
    [InlineData(AwsCli.V2)]
    public Task A_wrong_secret_and_an_unknown_key_are_refused_by_both_CLIs(string cli) => fixture.RunAsync(async scope =>
    {
        var wrongSecret = new AwsCli(cli, scope.Server.Endpoint, scope.ScratchDirectory, "test", "not-the-secret");
        var message = (await wrongSecret.LambdaAsync("list-functions")).ShouldFailWith("InvalidSignatureException");
        Assert.StartsWith("The request signature we calculated does not match", message, StringComparison.Ordinal);

        var unknownKey = new AwsCli(cli, scope.Server.Endpoint, scope.ScratchDirectory, "AKIANOBODYKNOWSTHIS", "test");
        Assert.Equal("The security token included in the request is invalid.",
            (await unknownKey.LambdaAsync("get-function", "--function-name", "anything")).ShouldFailWith("UnrecognizedClientException"));

        (await scope.Cli(cli).LambdaAsync("list-functions")).ShouldSucceed();
    });

    [Fact]
    public Task Expired_replayed_tampered_and_malformed_signatures_are_refused() => fixture.RunAsync(async scope =>
    {
        var server = scope.Server;
        var now = DateTime.UtcNow;

        var fresh = await AuthClients.SendSignedAsync(server, HttpMethod.Get, "/2015-03-31/functions", null, "lambda", "test", "test", now);
        Assert.True(fresh.StatusCode == 200, fresh.ToString());

        // X-Amz-Date 20 minutes old: outside AWS's 15-minute window.
        var expired = await AuthClients.SendSignedAsync(server, HttpMethod.Get, "/2015-03-31/functions", null, "lambda", "test", "test", now.AddMinutes(-20));
        Assert.StartsWith("Signature expired:", expired.ShouldBeError(403, "InvalidSignatureException").GetProperty("message").GetString(), StringComparison.Ordinal);

        // A request captured with a valid signature and replayed after the window: the same bytes, refused.
        using var captured = new HttpRequestMessage(HttpMethod.Get, new Uri(server.EndpointUri, "/2016-08-19/account-settings"));
        SigV4SigningHandler.Sign(captured, [], "lambda", "test", "test", Aws.Region, now.AddMinutes(-16));
        Assert.Equal(403, (await AuthClients.SendAsync(server.UnsignedHttp, captured)).StatusCode);

        // The body changed after signing.
        var tampered = await AuthClients.SendSignedAsync(server, HttpMethod.Post, "/2015-03-31/functions/x/invocations", Encoding.UTF8.GetBytes("{}"),
            "lambda", "test", "test", now, request => request.Content = new ByteArrayContent(Encoding.UTF8.GetBytes("""{"evil":true}""")));
        tampered.ShouldBeError(403, "InvalidSignatureException");

        using var malformed = new HttpRequestMessage(HttpMethod.Get, "/2015-03-31/functions");
        malformed.Headers.TryAddWithoutValidation("Authorization", "AWS4-HMAC-SHA256 Credential=test/20261203/us-east-1/lambda/aws4_request");
        (await AuthClients.SendAsync(server.UnsignedHttp, malformed)).ShouldBeError(403, "IncompleteSignatureException");

        // S3 answers in its own words: SignatureDoesNotMatch and RequestTimeTooSkewed in XML.
        var s3Wrong = await AuthClients.SendSignedAsync(server, HttpMethod.Get, "/bucket/key", null, "s3", "test", "wrong", now);
        Assert.Equal(403, s3Wrong.StatusCode);
        Assert.Contains("<Code>SignatureDoesNotMatch</Code>", s3Wrong.Text, StringComparison.Ordinal);
        var s3Skewed = await AuthClients.SendSignedAsync(server, HttpMethod.Get, "/bucket/key", null, "s3", "test", "test", now.AddMinutes(-20));
        Assert.Contains("<Code>RequestTimeTooSkewed</Code>", s3Skewed.Text, StringComparison.Ordinal);
    });

    [Fact]
    public Task Presigned_URLs_from_boto3_are_accepted_before_expiry_and_refused_after() => fixture.RunAsync(async scope =>
    {
        var urls = (await AuthClients.Boto3Async("""
            import boto3, os
            e = os.environ['NIMBUS_ENDPOINT']
            lam = boto3.client('lambda', endpoint_url=e)
            from botocore.config import Config
            s3 = boto3.client('s3', endpoint_url=e, config=Config(signature_version='s3v4'))
            print(lam.generate_presigned_url('list_functions', ExpiresIn=3600))
            print(lam.generate_presigned_url('list_functions', ExpiresIn=1))
            print(s3.generate_presigned_url('get_object', Params={'Bucket': 'presign-bucket', 'Key': 'a b/c.txt'}, ExpiresIn=3600))
            print(s3.generate_presigned_url('get_object', Params={'Bucket': 'presign-bucket', 'Key': 'a b/c.txt'}, ExpiresIn=1))
            """.Replace("            ", "", StringComparison.Ordinal), scope.Server.Endpoint)).Split('\n');
        var http = scope.Server.UnsignedHttp;

        using (var valid = await http.GetAsync(new Uri(urls[0])))
        {
            Assert.True((int)valid.StatusCode == 200, await valid.Content.ReadAsStringAsync());
        }

        using (var validS3 = await http.GetAsync(new Uri(urls[2])))
        {
            // Past authentication: whatever S3 answers for a missing bucket, it is not an authentication error.
            Assert.True((int)validS3.StatusCode != 403, await validS3.Content.ReadAsStringAsync());
        }

        var deadline = DateTime.UtcNow.AddSeconds(20);
        HttpResult lambdaExpired, s3Expired;
        do
        {
            lambdaExpired = await AuthClients.SendAsync(http, new HttpRequestMessage(HttpMethod.Get, new Uri(urls[1])));
            s3Expired = await AuthClients.SendAsync(http, new HttpRequestMessage(HttpMethod.Get, new Uri(urls[3])));
        }
        while ((lambdaExpired.StatusCode != 403 || s3Expired.StatusCode != 403) && DateTime.UtcNow < deadline && await Delay());

        lambdaExpired.ShouldBeError(403, "InvalidSignatureException");
        Assert.Contains("<Code>AccessDenied</Code><Message>Request has expired", s3Expired.Text, StringComparison.Ordinal);
    });

    [Fact]
    public Task Signature_Version_2_presigned_downloads_from_boto3_are_accepted_until_they_expire_and_never_when_tampered() => fixture.RunAsync(async scope =>
    {
        var bucket = $"sigv2-{Guid.NewGuid():N}"[..20];
        var urls = (await AuthClients.Boto3Async($$"""
            import boto3, os
            s3 = boto3.client('s3', endpoint_url=os.environ['NIMBUS_ENDPOINT'])
            s3.create_bucket(Bucket='{{bucket}}')
            s3.put_object(Bucket='{{bucket}}', Key='a b/c+1.txt', Body=b'presigned v2')
            print(s3.generate_presigned_url('get_object', Params={'Bucket': '{{bucket}}', 'Key': 'a b/c+1.txt'}, ExpiresIn=3600))
            print(s3.generate_presigned_url('get_object', Params={'Bucket': '{{bucket}}', 'Key': 'a b/c+1.txt'}, ExpiresIn=-60))
            """.Replace("            ", "", StringComparison.Ordinal), scope.Server.Endpoint)).Split('\n');
        Assert.Contains("AWSAccessKeyId=", urls[0], StringComparison.Ordinal);
        var http = scope.Server.UnsignedHttp;

        var valid = await AuthClients.SendAsync(http, new HttpRequestMessage(HttpMethod.Get, new Uri(urls[0])));
        Assert.True(valid.StatusCode == 200, valid.Text);
        Assert.Equal("presigned v2", valid.Text);

        var expired = await AuthClients.SendAsync(http, new HttpRequestMessage(HttpMethod.Get, new Uri(urls[1])));
        Assert.Equal(403, expired.StatusCode);
        Assert.Contains("<Code>AccessDenied</Code><Message>Request has expired", expired.Text, StringComparison.Ordinal);

        var tampered = await AuthClients.SendAsync(http, new HttpRequestMessage(HttpMethod.Get, new Uri(urls[0].Replace("c%2B1.txt", "c%2B2.txt", StringComparison.Ordinal))));
        Assert.Equal(403, tampered.StatusCode);
        Assert.Contains("<Code>SignatureDoesNotMatch</Code>", tampered.Text, StringComparison.Ordinal);
    });

    [Fact]
    public Task A_user_allowed_only_InvokeFunction_on_one_function_can_invoke_it_and_nothing_else() => fixture.RunAsync(async scope =>
    {
        var root = scope.Cli(AwsCli.V1);
        var allowed = scope.NewFunctionName();
        var other = scope.NewFunctionName();
        var zip = FunctionZips.Build(FunctionZips.NodeCjs);
        (await root.CreateFunctionAsync(allowed, zip, NodeRuntime, "index.handler")).ShouldSucceed();
        (await root.CreateFunctionAsync(other, zip, NodeRuntime, "index.handler")).ShouldSucceed();
        var user = await AuthClients.CreateUserAsync(scope.Server, $$"""
            {"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"lambda:InvokeFunction","Resource":"{{Aws.FunctionArn(allowed)}}"}]}
            """);

        foreach (var version in new[] { AwsCli.V1, AwsCli.V2 })
        {
            var cli = new AwsCli(version, scope.Server.Endpoint, scope.ScratchDirectory, user.AccessKeyId, user.SecretAccessKey);
            var invoked = await cli.InvokeAsync(allowed, """{"name":"allowed"}""");
            Assert.Contains("\"name\":\"allowed\"", invoked.PayloadText, StringComparison.Ordinal);

            var denied = (await cli.InvokeCommandAsync(other, "{}")).ShouldFailWith("AccessDeniedException");
            Assert.Equal($"User: arn:aws:iam::{Aws.AccountId}:user/{user.Name} is not authorized to perform: lambda:InvokeFunction on resource: {Aws.FunctionArn(other)} because no identity-based policy allows the lambda:InvokeFunction action", denied);
            (await cli.LambdaAsync("get-function", "--function-name", allowed)).ShouldFailWith("AccessDeniedException");
            (await cli.LambdaAsync("list-functions")).ShouldFailWith("AccessDeniedException");
            (await cli.LambdaAsync("delete-function", "--function-name", allowed)).ShouldFailWith("AccessDeniedException");
            (await cli.CreateFunctionAsync(scope.NewFunctionName(), zip, NodeRuntime, "index.handler")).ShouldFailWith("AccessDeniedException");
        }

        // Only root may use the admin API.
        var admin = await AuthClients.SendSignedAsync(scope.Server, HttpMethod.Post, $"/nimbus/admin/users/{user.Name}/keys", null, "lambda", user.AccessKeyId, user.SecretAccessKey, DateTime.UtcNow);
        admin.ShouldBeError(403, "AccessDeniedException");

        // boto3 with the user's key: same answers.
        var boto = await AuthClients.Boto3Async($$"""
            import boto3, os, json
            from botocore.exceptions import ClientError
            lam = boto3.client('lambda', endpoint_url=os.environ['NIMBUS_ENDPOINT'])
            print(json.loads(lam.invoke(FunctionName='{{allowed}}', Payload=b'{"name":"boto"}')['Payload'].read())['name'])
            try:
                lam.invoke(FunctionName='{{other}}', Payload=b'{}')
            except ClientError as e:
                print(e.response['Error']['Code'], e.response['ResponseMetadata']['HTTPStatusCode'])
            """.Replace("            ", "", StringComparison.Ordinal), scope.Server.Endpoint, user.AccessKeyId, user.SecretAccessKey);
        Assert.Equal("boto\nAccessDeniedException 403", boto);
    });

    [Fact]
    public Task A_changed_identity_policy_decides_the_next_request() => fixture.RunAsync(async scope =>
    {
        // Allow decisions are cached per (user, action, function): every change must still decide the very next call.
        var name = scope.NewFunctionName();
        (await scope.Cli(AwsCli.V1).CreateFunctionAsync(name, FunctionZips.Build(FunctionZips.NodeCjs), NodeRuntime, "index.handler")).ShouldSucceed();
        var allow = $$$"""{"Statement":{"Effect":"Allow","Action":"lambda:InvokeFunction","Resource":"{{{Aws.FunctionArn(name)}}}"}}""";
        var user = await AuthClients.CreateUserAsync(scope.Server, allow);
        var path = $"/2015-03-31/functions/{name}/invocations";
        Task<HttpResult> InvokeAsync() => AuthClients.SendSignedAsync(scope.Server, HttpMethod.Post, path, Encoding.UTF8.GetBytes("{}"), "lambda", user.AccessKeyId, user.SecretAccessKey, DateTime.UtcNow);
        async Task PutAsync(string policy)
        {
            using var put = await scope.Server.Http.PutAsync($"/nimbus/admin/users/{user.Name}/policies/only", new StringContent(policy, Encoding.UTF8, "application/json"));
            Assert.True((int)put.StatusCode == 204, $"put policy: {(int)put.StatusCode}");
        }

        for (var i = 0; i < 2; i++)
        {
            var allowed = await InvokeAsync();
            Assert.True(allowed.StatusCode == 200, allowed.ToString());
        }

        await PutAsync($$$"""{"Statement":{"Effect":"Allow","Action":"lambda:GetFunction","Resource":"{{{Aws.FunctionArn(name)}}}"}}""");
        (await InvokeAsync()).ShouldBeError(403, "AccessDeniedException");

        await PutAsync(allow);
        var again = await InvokeAsync();
        Assert.True(again.StatusCode == 200, again.ToString());

        using (var deleted = await scope.Server.Http.DeleteAsync($"/nimbus/admin/users/{user.Name}/policies/only"))
        {
            Assert.True((int)deleted.StatusCode == 204, $"delete policy: {(int)deleted.StatusCode}");
        }

        (await InvokeAsync()).ShouldBeError(403, "AccessDeniedException");
    });

    private static async Task<bool> Delay()
    {
        await Task.Delay(250);
        return true;
    }
}
