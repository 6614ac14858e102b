using System.Text.Json;

namespace Nimbus.IntegrationTests;

/// <summary>
/// One Nimbus server for the CloudWatch Logs tests, with the retention sweeper running every second so a test sees
/// a retention policy enforced within its deadline.
/// </summary>
public sealed class LogsServerFixture() : ServerFixture(
    "nimbus-it-logs",
    new Dictionary<string, string> { ["NIMBUS_LOG_RETENTION_SWEEP_INTERVAL"] = "00:00:01" });

/// <summary>The collection whose tests share <see cref="LogsServerFixture"/>.</summary>
[CollectionDefinition(Name)]
public sealed class LogsCollectionDefinition : ICollectionFixture<LogsServerFixture>
{
    public const string Name = "logs";
}

/// <summary><c>aws logs ...</c> with either CLI, and what tests read from its answers.</summary>
internal static class LogsCli
{
    public static Task<CliResult> LogsAsync(this AwsCli cli, params string[] arguments) => cli.RunAsync(["logs", .. arguments]);

    public static string NewGroupName(string prefix = "/nimbus-it/") => prefix + Guid.NewGuid().ToString("N")[..12];

    public static List<string> Strings(this JsonElement array, string property) =>
        [.. array.EnumerateArray().Select(e => e.GetProperty(property).GetString()!)];

    public static long NowMs() => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

    /// <summary>Writes a logEvents JSON file for <c>--log-events file://...</c> and returns the argument.</summary>
    public static string EventsFile(TestScope scope, params (long Timestamp, string Message)[] events)
    {
        var path = Path.Combine(scope.ScratchDirectory, $"events-{Guid.NewGuid():N}.json");
        File.WriteAllText(path, JsonSerializer.Serialize(events.Select(e => new Dictionary<string, object> { ["timestamp"] = e.Timestamp, ["message"] = e.Message })));
        return "file://" + path;
    }

    /// <summary>Runs a query until <paramref name="done"/> holds or the deadline passes; returns the last answer.</summary>
    public static async Task<T> WaitForAsync<T>(Func<Task<T>> query, Func<T, bool> done, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var value = await query();
            if (done(value))
            {
                return value;
            }

            Assert.True(DateTime.UtcNow < deadline, $"Timed out after {timeout.TotalSeconds:0} s waiting for {what}; last: {value}");
            await Task.Delay(200);
        }
    }
}
