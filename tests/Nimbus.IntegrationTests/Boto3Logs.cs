using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Nimbus.IntegrationTests;

/// <summary>
/// Runs a list of CloudWatch Logs calls through boto3 (the default python3's, botocore 1.43) in one Python process,
/// so a test can make dozens of calls without paying an interpreter start-up for each. Each call is
/// <c>{"op": "describe_log_groups", "args": {...}}</c>, optionally with <c>"paginate": true</c> (boto3's paginator;
/// the answer is the list of pages) or <c>"follow": "nextForwardToken"</c> (GetLogEvents: pass the token back
/// until it repeats; the answer is the list of pages). Each answer is the response or <c>{"error": {"code", "message"}}</c>.
/// </summary>
internal static class Boto3Logs
{
    private const string Script = """
        import json, sys, boto3, botocore.config
        endpoint, calls = sys.argv[1], json.load(open(sys.argv[2]))
        client = boto3.client("logs", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="test",
                              aws_secret_access_key="test", config=botocore.config.Config(retries={"max_attempts": 1}))
        answers = []
        for call in calls:
            try:
                if call.get("paginate"):
                    answers.append(list(client.get_paginator(call["op"]).paginate(**call.get("args", {}))))
                elif call.get("follow"):
                    args, pages, token = dict(call.get("args", {})), [], None
                    for _ in range(100):
                        page = getattr(client, call["op"])(**args)
                        page.pop("ResponseMetadata", None)
                        pages.append(page)
                        if page[call["follow"]] == token:
                            break
                        token = args["nextToken"] = page[call["follow"]]
                    answers.append(pages)
                else:
                    answer = getattr(client, call["op"])(**call.get("args", {}))
                    answer.pop("ResponseMetadata", None)
                    answers.append(answer)
            except client.exceptions.ClientError as e:
                answers.append({"error": {"code": e.response["Error"]["Code"], "message": e.response["Error"]["Message"]}})
        for answer in answers:
            for page in answer if isinstance(answer, list) else [answer]:
                page.pop("ResponseMetadata", None)
        print(json.dumps(answers))
        """;

    public static JsonObject Call(string op, object? args = null) => new() { ["op"] = op, ["args"] = ToNode(args) };

    public static JsonObject Paginate(string op, object? args = null) => new() { ["op"] = op, ["args"] = ToNode(args), ["paginate"] = true };

    public static JsonObject Follow(string op, string token, object? args = null) => new() { ["op"] = op, ["args"] = ToNode(args), ["follow"] = token };

    /// <summary>Runs the calls in order and returns one answer per call.</summary>
    public static async Task<JsonElement[]> RunAsync(TestScope scope, params JsonObject[] calls)
    {
        var script = Path.Combine(scope.ScratchDirectory, "boto3_logs.py");
        await File.WriteAllTextAsync(script, Script);
        var input = Path.Combine(scope.ScratchDirectory, $"calls-{Guid.NewGuid():N}.json");
        await File.WriteAllTextAsync(input, new JsonArray([.. calls]).ToJsonString());
        var start = new ProcessStartInfo("python3");
        start.ArgumentList.Add(script);
        start.ArgumentList.Add(scope.Server.Endpoint);
        start.ArgumentList.Add(input);
        foreach (var key in start.Environment.Keys.Where(k => k.StartsWith("AWS_", StringComparison.Ordinal)).ToList())
        {
            start.Environment.Remove(key);
        }

        start.Environment["AWS_CONFIG_FILE"] = Path.Combine(scope.ScratchDirectory, "no-aws-config");
        start.Environment["AWS_SHARED_CREDENTIALS_FILE"] = Path.Combine(scope.ScratchDirectory, "no-aws-credentials");
        var outcome = await BoundedProcess.RunAsync(start, TimeSpan.FromMinutes(2));
        Assert.True(outcome.ExitCode == 0 && !outcome.TimedOut, $"boto3 script failed (exit {outcome.ExitCode}{(outcome.TimedOut ? ", killed after 2 minutes" : "")}): {outcome.Stderr}");
        using var document = JsonDocument.Parse(outcome.Stdout);
        return [.. document.RootElement.EnumerateArray().Select(e => e.Clone())];
    }

    /// <summary>Requires an answer to be the error <paramref name="code"/> and returns its message.</summary>
    public static string ErrorOf(this JsonElement answer, string code)
    {
        Assert.True(answer.TryGetProperty("error", out var error), $"Expected error {code}, got {answer}");
        Assert.True(error.GetProperty("code").GetString() == code, $"Expected error {code}, got {answer}");
        return error.GetProperty("message").GetString()!;
    }

    /// <summary>Requires an answer not to be an error.</summary>
    public static JsonElement Ok(this JsonElement answer)
    {
        Assert.False(answer.ValueKind == JsonValueKind.Object && answer.TryGetProperty("error", out _), $"Expected success, got {answer}");
        return answer;
    }

    /// <summary>The values of one property over every item of a list property of every page.</summary>
    public static List<string> AcrossPages(this JsonElement pages, string list, string property) =>
        [.. pages.Ok().EnumerateArray().SelectMany(p => p.GetProperty(list).EnumerateArray()).Select(e => e.GetProperty(property).GetString()!)];

    private static JsonNode? ToNode(object? args) => args is null ? new JsonObject() : JsonSerializer.SerializeToNode(args);
}
