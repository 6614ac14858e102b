namespace Nimbus.IntegrationTests;

/// <summary>
/// Functions, their versions and aliases and their reserved concurrency are durable: a server killed and started again on the same data
/// directory still has them, and enforces the reservations.
/// </summary>
public sealed class RestartTests
{
    /// <summary>
    /// A collection name some classes that start their own servers used to share (its classes run one after another).
    /// Not needed any more: a class without [Collection] is a parallel collection of its own (see ServerFixture.cs).
    /// </summary>
    public const string Name = "restart";

    [Fact]
    public async Task Functions_versions_aliases_and_reservations_survive_a_killed_server_and_apply_after_restart_on_the_same_data_directory()
    {
        using var data = new TempDirectory("nimbus-it-restart");
        using var scratch = new TempDirectory("nimbus-it-scratch");
        NimbusServer? before = null;
        NimbusServer? after = null;
        var node = $"t-{Guid.NewGuid():N}"[..20];
        var python = $"t-{Guid.NewGuid():N}"[..20];
        var reservedZero = $"t-{Guid.NewGuid():N}"[..20];
        var nodeZip = FunctionZips.Build(FunctionZips.NodeCjs);
        var pythonZip = FunctionZips.Build(FunctionZips.Python);

        try
        {
            await Failures.WithContextAsync(
                async () =>
                {
                    before = await NimbusServer.StartAsync(data.Path);
                    var v1 = new AwsCli(AwsCli.V1, before.Endpoint, scratch.Path);
                    (await v1.CreateFunctionAsync(node, nodeZip, "nodejs20.x", "index.handler")).ShouldSucceed();
                    (await v1.CreateFunctionAsync(python, pythonZip, "python3.11", "lambda_function.lambda_handler")).ShouldSucceed();
                    Assert.Equal(1, (await v1.InvokeAsync(node, """{"name":"before"}""")).ShouldReturn().Num("count"));
                    Assert.Equal("1", (await v1.LambdaAsync("publish-version", "--function-name", node)).Json().Str("Version"));
                    (await v1.LambdaAsync("create-alias", "--function-name", node, "--name", "live", "--function-version", "1")).ShouldSucceed();
                    (await v1.CreateFunctionAsync(reservedZero, nodeZip, "nodejs20.x", "index.handler")).ShouldSucceed();
                    (await v1.LambdaAsync("put-function-concurrency", "--function-name", reservedZero, "--reserved-concurrent-executions", "0")).ShouldSucceed();

                    await before.DisposeAsync();
                    after = await NimbusServer.StartAsync(data.Path);
                    var v2 = new AwsCli(AwsCli.V2, after.Endpoint, scratch.Path);

                    var names = (await v2.LambdaAsync("list-functions")).Json().Array("Functions").Select(f => f.Str("FunctionName")).ToList();
                    Assert.Contains(node, names);
                    Assert.Contains(python, names);
                    var configuration = (await v2.LambdaAsync("get-function-configuration", "--function-name", node)).Json();
                    Assert.Equal(FunctionZips.CodeSha256(nodeZip), configuration.Str("CodeSha256"));

                    var nodeResult = (await v2.InvokeAsync(node, """{"name":"after"}""")).ShouldReturn();
                    Assert.Equal("after", nodeResult.Str("name"));
                    Assert.Equal(1, nodeResult.Num("count"));
                    var viaAlias = await v2.InvokeAsync(node, """{"name":"alias"}""", "--qualifier", "live");
                    Assert.Equal("1", viaAlias.ExecutedVersion);
                    Assert.Equal("alias", viaAlias.ShouldReturn().Str("name"));
                    Assert.Equal("1", (await v2.LambdaAsync("publish-version", "--function-name", node)).Json().Str("Version"));
                    (await v2.LambdaAsync("update-function-configuration", "--function-name", node, "--description", "after")).ShouldSucceed();
                    Assert.Equal("2", (await v2.LambdaAsync("publish-version", "--function-name", node)).Json().Str("Version"));

                    var pythonResult = (await v2.InvokeAsync(python, """{"name":"after"}""")).ShouldReturn();
                    Assert.Equal("after", pythonResult.Str("name"));
                    Assert.Equal(python, pythonResult.Str("fn"));

                    var reservation = (await v2.LambdaAsync("get-function-concurrency", "--function-name", reservedZero)).Json();
                    Assert.Equal(0, reservation.Num("ReservedConcurrentExecutions"));
                    var throttled = await new LambdaHttp(after.Http).InvokeAsync(reservedZero, """{"name":"after"}""");
                    Assert.Equal("ReservedFunctionConcurrentInvocationLimitExceeded", throttled.ShouldBeError(429, "TooManyRequestsException").Str("Reason"));
                },
                () => string.Join(
                    Environment.NewLine + Environment.NewLine,
                    new[] { before, after }.Where(s => s is not null).Select(s => s!.DescribeOutput())));
        }
        finally
        {
            if (after is not null)
            {
                await after.DisposeAsync();
            }

            if (before is not null)
            {
                await before.DisposeAsync();
            }
        }
    }
}
