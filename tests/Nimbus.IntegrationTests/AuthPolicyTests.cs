using System.Text.Json;
using System.Text.RegularExpressions;

namespace Nimbus.IntegrationTests;

/// <summary>
/// Resource-based function policies (AddPermission, GetPolicy, RemovePermission) through both CLIs, and their
/// enforcement on a function URL with AuthType AWS_IAM: unsigned callers get 403, signed callers with permission
/// (root, or a user granted lambda:InvokeFunctionUrl by the function's policy) get the function's answer.
/// </summary>
public sealed partial class AuthPolicyTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private const string NodeRuntime = "nodejs20.x";

    [Theory]
    [InlineData(AwsCli.V1)]
    [InlineData(AwsCli.V2)]
    public Task AddPermission_GetPolicy_and_RemovePermission_have_AWSs_shapes_and_errors(string cli) => fixture.RunAsync(async scope =>
    {
        var aws = scope.Cli(cli);
        var name = scope.NewFunctionName();
        (await aws.CreateFunctionAsync(name, FunctionZips.Build(FunctionZips.NodeCjs), NodeRuntime, "index.handler")).ShouldSucceed();

        Assert.Equal("The resource you requested does not exist.", (await aws.LambdaAsync("get-policy", "--function-name", name)).ShouldFailWith("ResourceNotFoundException"));

        var added = (await aws.LambdaAsync("add-permission", "--function-name", name, "--statement-id", "s3-invoke", "--action", "lambda:InvokeFunction",
            "--principal", "s3.amazonaws.com", "--source-arn", "arn:aws:s3:::my-bucket", "--source-account", Aws.AccountId)).Json();
        using var statement = JsonDocument.Parse(added.Str("Statement"));
        var s = statement.RootElement;
        Assert.Equal("s3-invoke", s.Str("Sid"));
        Assert.Equal("Allow", s.Str("Effect"));
        Assert.Equal("s3.amazonaws.com", s.Str("Principal.Service"));
        Assert.Equal("lambda:InvokeFunction", s.Str("Action"));
        Assert.Equal(Aws.FunctionArn(name), s.Str("Resource"));
        Assert.Equal("arn:aws:s3:::my-bucket", s.Str("Condition.ArnLike.AWS:SourceArn"));
        Assert.Equal(Aws.AccountId, s.Str("Condition.StringEquals.AWS:SourceAccount"));

        var duplicate = await aws.LambdaAsync("add-permission", "--function-name", name, "--statement-id", "s3-invoke", "--action", "lambda:InvokeFunction", "--principal", "*");
        Assert.Contains("The statement id (sid) provided already exists", duplicate.ShouldFailWith("ResourceConflictException"), StringComparison.Ordinal);

        var policy = (await aws.LambdaAsync("get-policy", "--function-name", name)).Json();
        using var document = JsonDocument.Parse(policy.Str("Policy"));
        Assert.Equal("2012-10-17", document.RootElement.Str("Version"));
        Assert.Equal("s3-invoke", document.RootElement.GetProperty("Statement")[0].Str("Sid"));
        var revision = policy.Str("RevisionId");

        (await aws.LambdaAsync("remove-permission", "--function-name", name, "--statement-id", "s3-invoke", "--revision-id", "not-the-revision"))
            .ShouldFailWith("PreconditionFailedException");
        (await aws.LambdaAsync("remove-permission", "--function-name", name, "--statement-id", "s3-invoke", "--revision-id", revision)).ShouldSucceed();
        (await aws.LambdaAsync("remove-permission", "--function-name", name, "--statement-id", "s3-invoke")).ShouldFailWith("ResourceNotFoundException");
        (await aws.LambdaAsync("get-policy", "--function-name", name)).ShouldFailWith("ResourceNotFoundException");
    });

    // The server's answers, the same for either CLI: run with one.
    [Fact]
    public Task AddPermission_on_an_alias_is_the_alias_policy_and_bad_requests_get_AWSs_errors() => fixture.RunAsync(async scope =>
    {
        var aws = scope.Cli(AwsCli.V1);
        var name = scope.NewFunctionName();
        (await aws.CreateFunctionAsync(name, FunctionZips.Build(FunctionZips.NodeCjs), NodeRuntime, "index.handler")).ShouldSucceed();

        // An alias has a policy of its own.
        (await aws.LambdaAsync("publish-version", "--function-name", name)).ShouldSucceed();
        (await aws.LambdaAsync("create-alias", "--function-name", name, "--name", "live", "--function-version", "1")).ShouldSucceed();
        var onAlias = (await aws.LambdaAsync("add-permission", "--function-name", name, "--qualifier", "live", "--statement-id", "any", "--action", "lambda:*", "--principal", Aws.AccountId)).Json();
        Assert.Contains($"\"Resource\":\"{Aws.FunctionArn(name)}:live\"", onAlias.Str("Statement"), StringComparison.Ordinal);
        Assert.Contains($"arn:aws:iam::{Aws.AccountId}:root", onAlias.Str("Statement"), StringComparison.Ordinal);
        (await aws.LambdaAsync("get-policy", "--function-name", name)).ShouldFailWith("ResourceNotFoundException");
        (await aws.LambdaAsync("get-policy", "--function-name", name, "--qualifier", "live")).ShouldSucceed();

        (await aws.LambdaAsync("add-permission", "--function-name", name + "-missing", "--statement-id", "x", "--action", "lambda:InvokeFunction", "--principal", "*"))
            .ShouldFailWith("ResourceNotFoundException");
        (await aws.LambdaAsync("add-permission", "--function-name", name, "--statement-id", "bad id!", "--action", "lambda:InvokeFunction", "--principal", "*"))
            .ShouldFailWith("ValidationException");
    });

    [Fact]
    public Task AWS_IAM_function_URL_rejects_unsigned_callers_and_accepts_signed_ones_with_permission() => fixture.RunAsync(async scope =>
    {
        var aws = scope.Cli(AwsCli.V1);
        var name = scope.NewFunctionName();
        (await aws.CreateFunctionAsync(name, FunctionZips.Build(FunctionZips.NodeUrl), NodeRuntime, "index.handler")).ShouldSucceed();
        var url = (await aws.LambdaAsync("create-function-url-config", "--function-name", name, "--auth-type", "AWS_IAM")).Json().Str("FunctionUrl");
        var urlId = UrlId().Match(url).Groups[1].Value;
        var path = $"/lambda-url/{urlId}/response";

        var unsigned = await AuthClients.SendAsync(scope.Server.UnsignedHttp, new HttpRequestMessage(HttpMethod.Get, path));
        Assert.Equal(403, unsigned.StatusCode);
        Assert.Equal("""{"Message":"Forbidden"}""", unsigned.Text);

        var wrongSecret = await AuthClients.SendSignedAsync(scope.Server, HttpMethod.Get, path, null, "lambda", "test", "wrong", DateTime.UtcNow);
        Assert.Equal(403, wrongSecret.StatusCode);

        // Root, signed by botocore's own SigV4 signer (service lambda): the function's answer.
        var signed = await AuthClients.Boto3Async($$"""
            import os, urllib.request
            import botocore.session
            from botocore.auth import SigV4Auth
            from botocore.awsrequest import AWSRequest
            creds = botocore.session.get_session().get_credentials()
            request = AWSRequest(method='GET', url=os.environ['NIMBUS_ENDPOINT'] + '{{path}}')
            SigV4Auth(creds, 'lambda', 'us-east-1').add_auth(request)
            with urllib.request.urlopen(urllib.request.Request(request.url, headers=dict(request.headers))) as response:
                print(response.status, response.read().decode())
            """, scope.Server.Endpoint);
        Assert.Equal("201 created", signed);

        // A user without any policy: refused, until the function's resource policy names it.
        var user = await AuthClients.CreateUserAsync(scope.Server, """{"Statement":{"Effect":"Allow","Action":"lambda:GetFunction","Resource":"*"}}""");
        var before = await AuthClients.SendSignedAsync(scope.Server, HttpMethod.Get, path, null, "lambda", user.AccessKeyId, user.SecretAccessKey, DateTime.UtcNow);
        Assert.Equal(403, before.StatusCode);
        (await aws.LambdaAsync("add-permission", "--function-name", name, "--statement-id", "url", "--action", "lambda:InvokeFunctionUrl",
            "--principal", $"arn:aws:iam::{Aws.AccountId}:user/{user.Name}", "--function-url-auth-type", "AWS_IAM")).ShouldSucceed();
        var after = await AuthClients.SendSignedAsync(scope.Server, HttpMethod.Get, path, null, "lambda", user.AccessKeyId, user.SecretAccessKey, DateTime.UtcNow);
        Assert.True(after.StatusCode == 201, after.ToString());
        Assert.Equal("created", after.Text);
    });

    [GeneratedRegex(@"^http://([a-z0-9]{32})\.lambda-url\.")]
    private static partial Regex UrlId();
}
