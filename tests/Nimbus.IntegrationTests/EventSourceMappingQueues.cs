using System.Text.Json;

namespace Nimbus.IntegrationTests;

/// <summary>SQS queues through the real AWS CLI, for the event source mapping and dead-letter tests.</summary>
internal sealed class EventSourceMappingQueues(AwsCli aws, string scratch)
{
    /// <summary>Creates a queue (attributes as SQS's JSON map) and returns its URL and ARN (the queue service's own tests check GetQueueAttributes' QueueArn).</summary>
    public async Task<(string Url, string Arn)> CreateAsync(string name, IReadOnlyDictionary<string, string>? attributes = null)
    {
        List<string> arguments = ["sqs", "create-queue", "--queue-name", name];
        if (attributes is { Count: > 0 })
        {
            arguments.AddRange(["--attributes", "file://" + Write(JsonSerializer.Serialize(attributes))]);
        }

        var url = (await aws.RunAsync(arguments)).Json().Str("QueueUrl");
        return (url, $"arn:aws:sqs:{Aws.Region}:{Aws.AccountId}:{name}");
    }

    /// <summary>Sends bodies in batches of 10 (with a message attribute, and group ids on FIFO queues).</summary>
    public async Task SendAsync(string url, IReadOnlyList<string> bodies, Func<int, string>? groupOf = null)
    {
        for (var start = 0; start < bodies.Count; start += 10)
        {
            var entries = bodies.Skip(start).Take(10).Select((body, i) =>
            {
                var entry = new Dictionary<string, object>
                {
                    ["Id"] = $"m{start + i}",
                    ["MessageBody"] = body,
                    ["MessageAttributes"] = new Dictionary<string, object> { ["kind"] = new Dictionary<string, string> { ["DataType"] = "String", ["StringValue"] = "test" } },
                };
                if (groupOf is not null)
                {
                    entry["MessageGroupId"] = groupOf(start + i);
                    entry["MessageDeduplicationId"] = $"d{start + i}-{Guid.NewGuid():N}";
                }

                return entry;
            }).ToList();
            var result = (await aws.RunAsync(["sqs", "send-message-batch", "--queue-url", url, "--entries", "file://" + Write(JsonSerializer.Serialize(entries))])).Json();
            Assert.False(result.Has("Failed") && result.GetProperty("Failed").GetArrayLength() > 0, result.ToString());
        }
    }

    /// <summary>Messages received (with all attributes) in one long poll of up to <paramref name="waitSeconds"/>.</summary>
    public async Task<IReadOnlyList<JsonElement>> ReceiveAsync(string url, int waitSeconds = 1)
    {
        var result = await aws.RunAsync(
        [
            "sqs", "receive-message", "--queue-url", url, "--attribute-names", "All", "--message-attribute-names", "All",
            "--max-number-of-messages", "10", "--wait-time-seconds", waitSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ]);
        result.ShouldSucceed();
        if (string.IsNullOrWhiteSpace(result.Stdout))
        {
            return [];
        }

        var json = result.Json();
        return json.Has("Messages") ? [.. json.GetProperty("Messages").EnumerateArray().Select(m => m.Clone())] : [];
    }

    /// <summary>Receives until <paramref name="count"/> messages came or the deadline passed.</summary>
    public async Task<IReadOnlyList<JsonElement>> ReceiveAtLeastAsync(string url, int count, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        var messages = new List<JsonElement>();
        while (messages.Count < count)
        {
            Assert.True(DateTime.UtcNow < deadline, $"Within {timeout.TotalSeconds:0} s: {count} messages from {url}; got {messages.Count}: {string.Join(", ", messages)}");
            messages.AddRange(await ReceiveAsync(url, 2));
        }

        return messages;
    }

    /// <summary>Visible plus in-flight messages.</summary>
    public async Task<long> CountAsync(string url)
    {
        var attributes = (await aws.RunAsync(
            ["sqs", "get-queue-attributes", "--queue-url", url, "--attribute-names", "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])).Json();
        return long.Parse(attributes.Str("Attributes.ApproximateNumberOfMessages"), System.Globalization.CultureInfo.InvariantCulture)
            + long.Parse(attributes.Str("Attributes.ApproximateNumberOfMessagesNotVisible"), System.Globalization.CultureInfo.InvariantCulture);
    }

    public async Task WaitForCountAsync(string url, long expected, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        long count;
        while ((count = await CountAsync(url)) != expected)
        {
            Assert.True(DateTime.UtcNow < deadline, $"Within {timeout.TotalSeconds:0} s: {url} should hold {expected} messages; it holds {count}.");
            await Task.Delay(TimeSpan.FromMilliseconds(200));
        }
    }

    private string Write(string content)
    {
        var path = Path.Combine(scratch, $"{Guid.NewGuid():N}.json");
        File.WriteAllText(path, content);
        return path;
    }
}
