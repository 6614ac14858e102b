using System.Text.RegularExpressions;
using Microsoft.Data.Sqlite;

namespace Nimbus.IntegrationTests;

/// <summary>
/// Every line a function writes, framed by START/END/REPORT, is kept in the data directory under the log group
/// /aws/lambda/&lt;name&gt; and a stream per instance named as AWS names it. This test reads logs.db directly (the
/// storage contract); LogsLambdaTests reads the same lines through the CloudWatch Logs API.
/// </summary>
public sealed partial class LogStoreTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    [Fact]
    public Task Function_output_is_stored_per_instance_stream_under_its_log_group() => fixture.RunAsync(async scope =>
    {
        var name = scope.NewFunctionName();
        await scope.Lambda.CreateFunctionAsync(name, FunctionZips.Build(FunctionZips.NodeCjs), "nodejs20.x", "index.handler");
        for (var i = 0; i < 2; i++)
        {
            var response = await scope.Lambda.InvokeAsync(name, """{"name":"stored"}""");
            Assert.True(response.StatusCode == 200 && response.Header("X-Amz-Function-Error") is null, response.ToString());
        }

        var group = $"/aws/lambda/{name}";
        List<(string Stream, string Message)> rows = [];
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (DateTime.UtcNow < deadline)
        {
            rows = ReadLog(Path.Combine(scope.Server.DataDirectory, "logs.db"), group);
            if (rows.Count(r => r.Message.StartsWith("REPORT RequestId: ", StringComparison.Ordinal)) == 2)
            {
                break;
            }

            await Task.Delay(100);
        }

        var streams = rows.Select(r => r.Stream).Distinct().ToList();
        Assert.True(streams.Count == 1, $"Two warm invokes should log to one instance stream; got {string.Join(", ", streams)}");
        Assert.Matches(StreamName(), streams[0]);
        var messages = rows.Select(r => r.Message).ToList();
        Assert.Equal(2, messages.Count(m => m.StartsWith("START RequestId: ", StringComparison.Ordinal) && m.EndsWith(" Version: $LATEST", StringComparison.Ordinal)));
        Assert.Equal(2, messages.Count(m => m.StartsWith("END RequestId: ", StringComparison.Ordinal)));
        Assert.Equal(2, messages.Count(m => m.StartsWith("REPORT RequestId: ", StringComparison.Ordinal)));
        Assert.Equal(2, messages.Count(m => m.Contains("hello from node stored", StringComparison.Ordinal)));
    });

    private static List<(string, string)> ReadLog(string path, string group)
    {
        using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString());
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT log_stream, message FROM log_events WHERE log_group = $group ORDER BY id;";
        command.Parameters.AddWithValue("$group", group);
        using var reader = command.ExecuteReader();
        var rows = new List<(string, string)>();
        while (reader.Read())
        {
            rows.Add((reader.GetString(0), reader.GetString(1)));
        }

        return rows;
    }

    [GeneratedRegex(@"^\d{4}/\d{2}/\d{2}/\[\$LATEST\][0-9a-f]{32}$")]
    private static partial Regex StreamName();
}
