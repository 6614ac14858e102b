using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;

namespace Nimbus.IntegrationTests;

/// <summary>
/// Schedules and function URLs are durable: a server killed and started again on the same data directory keeps
/// them, a one-time run that fell due while the server was down fires once after the restart, and the URL serves.
/// </summary>
public sealed class ScheduleRestartTests
{
    private const string Role = "arn:aws:iam::000000000000:role/scheduler";

    [Fact]
    public async Task Schedules_and_function_urls_survive_a_killed_server_and_a_run_missed_while_down_fires_once_after_restart()
    {
        using var data = new TempDirectory("nimbus-it-schedule-restart");
        using var scratch = new TempDirectory("nimbus-it-scratch");
        using var recorder = new EventRecorder();
        NimbusServer? before = null;
        NimbusServer? after = null;
        var recorded = $"t-{Guid.NewGuid():N}"[..20];
        var web = $"t-{Guid.NewGuid():N}"[..20];
        var group = $"g{Guid.NewGuid():N}"[..12];
        try
        {
            await Failures.WithContextAsync(
                async () =>
                {
                    before = await NimbusServer.StartAsync(data.Path);
                    var v1 = new AwsCli(AwsCli.V1, before.Endpoint, scratch.Path);
                    (await v1.CreateFunctionAsync(recorded, FunctionZips.Build(FunctionZips.NodeRecorder), "nodejs20.x", "index.handler",
                        "--environment", recorder.EnvironmentJson)).ShouldSucceed();
                    await new LambdaHttp(before.Http).CreateFunctionAsync(web, FunctionZips.Build(FunctionZips.NodeUrl), "nodejs20.x", "index.handler");
                    using var urlBody = new StringContent("""{"AuthType":"NONE","Cors":{"AllowOrigins":["https://app.example"]}}""", Encoding.UTF8, "application/json");
                    using var urlCreated = await before.Http.PostAsync($"/2021-10-31/functions/{web}/url", urlBody);
                    var url = JsonAssert.Parse(await urlCreated.Content.ReadAsStringAsync(), "CreateFunctionUrlConfig").Str("FunctionUrl");
                    var urlId = new Uri(url).Host.Split('.')[0];

                    (await v1.RunAsync(["scheduler", "create-schedule-group", "--name", group])).ShouldSucceed();
                    (await v1.RunAsync(["scheduler", "create-schedule", "--name", "weekly", "--group-name", group, "--schedule-expression", "cron(0 9 ? * MON *)",
                        "--schedule-expression-timezone", "Europe/Berlin", "--flexible-time-window", "Mode=OFF", "--target", Target(recorded, """{"id":"weekly"}""")])).ShouldSucceed();

                    // Due two seconds from now (raw HTTP: quicker than a CLI); the server is killed right away and is down then.
                    var due = DateTimeOffset.FromUnixTimeSeconds(DateTimeOffset.UtcNow.ToUnixTimeSeconds() + 2);
                    var at = due.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss", CultureInfo.InvariantCulture);
                    using var missedBody = new StringContent(
                        $$"""{"GroupName":"{{group}}","ScheduleExpression":"at({{at}})","FlexibleTimeWindow":{"Mode":"OFF"},"Target":{{Target(recorded, """{"id":"missed"}""")}}}""",
                        Encoding.UTF8, "application/json");
                    using var missed = await before.Http.PostAsync("/schedules/missed", missedBody);
                    Assert.Equal(HttpStatusCode.OK, missed.StatusCode);
                    await before.DisposeAsync();
                    Assert.Empty(recorder.ReportsOf(recorded));
                    while (DateTimeOffset.UtcNow <= due)
                    {
                        await Task.Delay(TimeSpan.FromMilliseconds(100));
                    }

                    after = await NimbusServer.StartAsync(data.Path);
                    var reports = await recorder.WaitForAsync("the run missed while the server was down", r => r.Count >= 1, TimeSpan.FromSeconds(60));
                    Assert.Equal("""{"id":"missed"}""", reports[0].GetProperty("event").GetRawText());

                    var v2 = new AwsCli(AwsCli.V2, after.Endpoint, scratch.Path);
                    var weekly = (await v2.RunAsync(["scheduler", "get-schedule", "--name", "weekly", "--group-name", group])).Json();
                    Assert.Equal("cron(0 9 ? * MON *)", weekly.Str("ScheduleExpression"));
                    Assert.Equal("Europe/Berlin", weekly.Str("ScheduleExpressionTimezone"));
                    Assert.Equal("""{"id":"weekly"}""", weekly.Str("Target.Input"));
                    var names = (await v2.RunAsync(["scheduler", "list-schedules", "--group-name", group])).Json().Array("Schedules").Select(s => s.Str("Name"));
                    Assert.Equal(["missed", "weekly"], names);

                    var urlConfig = (await v2.LambdaAsync("get-function-url-config", "--function-name", web)).Json();
                    Assert.Equal(url.Replace($":{before.EndpointUri.Port}/", $":{after.EndpointUri.Port}/", StringComparison.Ordinal), urlConfig.Str("FunctionUrl"));
                    using var request = new HttpRequestMessage(HttpMethod.Get, $"/lambda-url/{urlId}/after-restart?x=1");
                    request.Headers.Add("Origin", "https://app.example");
                    using var served = await after.Http.SendAsync(request);
                    Assert.Equal(HttpStatusCode.OK, served.StatusCode);
                    Assert.Equal("https://app.example", served.Headers.GetValues("Access-Control-Allow-Origin").Single());
                    var urlEvent = JsonAssert.Parse(await served.Content.ReadAsStringAsync(), "the URL event");
                    Assert.Equal("/after-restart", urlEvent.Str("rawPath"));

                    // The missed run fired once, not once per restart pass.
                    Assert.Single(recorder.ReportsOf(recorded));
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

    private static string Target(string function, string input) =>
        JsonSerializer.Serialize(new Dictionary<string, string> { ["Arn"] = Aws.FunctionArn(function), ["RoleArn"] = Role, ["Input"] = input });
}
