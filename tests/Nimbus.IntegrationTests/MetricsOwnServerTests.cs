using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Nimbus.IntegrationTests;

/// <summary>
/// Monitoring that needs a server of its own: traces exported over OTLP/HTTP to a receiver the test runs, and
/// CloudWatch numbers that survive a killed server (they come from metrics.db, not from memory).
/// </summary>
[Collection(Name)]
public sealed class MetricsOwnServerTests
{
    /// <summary>Own collection: these tests start their own servers instead of sharing one.</summary>
    public const string Name = "metrics-own-server";

    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Traces_of_an_invocation_are_exported_over_OTLP_with_request_invoke_cold_start_init_and_run_spans()
    {
        using var receiver = new OtlpReceiver();
        using var data = new TempDirectory("nimbus-it-otlp");
        await using var server = await NimbusServer.StartAsync(data.Path, new Dictionary<string, string> { ["NIMBUS_OTLP_ENDPOINT"] = receiver.Endpoint });
        await Failures.WithContextAsync(
            async () =>
            {
                var lambda = new LambdaHttp(server.Http);
                var name = $"t-{Guid.NewGuid():N}"[..20];
                await lambda.CreateFunctionAsync(name, FunctionZips.Build(FunctionZips.NodeCjs), "nodejs20.x", "index.handler");

                var invoked = await lambda.InvokeAsync(name, """{"name":"traced"}""");
                Assert.True(invoked.StatusCode == 200, invoked.ToString());

                string[] spans = ["nimbus.request", "lambda.invoke", "lambda.cold_start", "lambda.init", "lambda.run"];
                var watch = Stopwatch.StartNew();
                while (!spans.All(receiver.Received.Contains))
                {
                    Assert.True(watch.Elapsed < Deadline, $"Spans {string.Join(", ", spans.Where(s => !receiver.Received.Contains(s)))} did not arrive at the OTLP receiver within {Deadline.TotalSeconds} s ({receiver.Requests} requests).");
                    await Task.Delay(200);
                }

                Assert.Contains(name, receiver.Received, StringComparison.Ordinal);
                Assert.Equal("application/x-protobuf", receiver.ContentType);
            },
            () => server.DescribeOutput());
    }

    [Fact]
    public async Task Async_events_keep_their_trace_header_on_every_attempt_and_queue_batches_are_parent_spans_of_their_invocations()
    {
        using var receiver = new OtlpReceiver();
        using var data = new TempDirectory("nimbus-it-otlp-events");
        using var scratch = new TempDirectory("nimbus-it-scratch");
        await using var server = await NimbusServer.StartAsync(data.Path, new Dictionary<string, string>
        {
            ["NIMBUS_OTLP_ENDPOINT"] = receiver.Endpoint,
            ["NIMBUS_ASYNC_RETRY_DELAY"] = "00:00:01",
        });
        await Failures.WithContextAsync(
            async () =>
            {
                const string asyncRoot = "1-5759e988-bd862e3fe1be46a994272793";
                const string queueRoot = "1-6759e988-cd862e3fe1be46a994272794";
                var lambda = new LambdaHttp(server.Http);
                var name = $"t-{Guid.NewGuid():N}"[..20];
                var zip = FunctionZips.FromSource("index.js", """
                    exports.handler = async (event) => {
                      console.log('TRACE ' + process.env._X_AMZN_TRACE_ID);
                      if (event && event.fail) { throw new Error('traced failure'); }
                      return {};
                    };
                    """);
                Assert.Equal(201, (await lambda.CreateFunctionAsync(name, zip, "nodejs20.x", "index.handler")).StatusCode);

                // An Event invoke that fails every attempt: 1 + 2 retries (1 s, then 2 s apart), each with the caller's Root.
                var accepted = await lambda.SendAsync(HttpMethod.Post, $"{LambdaHttp.FunctionsPath}/{name}/invocations",
                    new StringContent("""{"fail":true}""", Encoding.UTF8, "application/json"),
                    new Dictionary<string, string> { ["X-Amz-Invocation-Type"] = "Event", ["X-Amzn-Trace-Id"] = $"Root={asyncRoot};Sampled=1" });
                Assert.True(accepted.StatusCode == 202, accepted.ToString());

                // A queue mapping, and a message sent with an AWSTraceHeader system attribute.
                var aws = new AwsCli(AwsCli.V1, server.Endpoint, scratch.Path);
                var (url, arn) = await new EventSourceMappingQueues(aws, scratch.Path).CreateAsync($"q-{Guid.NewGuid():N}"[..20]);
                (await aws.LambdaAsync("create-event-source-mapping", "--function-name", name, "--event-source-arn", arn, "--batch-size", "1")).ShouldSucceed();
                (await aws.RunAsync(["sqs", "send-message", "--queue-url", url, "--message-body", "{}", "--message-system-attributes",
                    $$$"""{"AWSTraceHeader":{"DataType":"String","StringValue":"Root={{{queueRoot}}};Parent=53995c3f42cd8ad8;Sampled=1"}}"""])).ShouldSucceed();

                var traces = await WaitForAsync(
                    async () => (await FunctionLinesAsync(server, name)).Where(l => l.Contains("TRACE ", StringComparison.Ordinal)).ToList(),
                    lines => lines.Count(l => l.Contains(asyncRoot, StringComparison.Ordinal)) >= 3 && lines.Any(l => l.Contains(queueRoot, StringComparison.Ordinal)),
                    "three attempts of the async event and the queue message's invocation in the function's log");
                var attempts = traces.Where(l => l.Contains(asyncRoot, StringComparison.Ordinal)).ToList();
                Assert.Equal(3, attempts.Count);
                Assert.All(attempts, l => Assert.Matches($@"TRACE Root={asyncRoot};Parent=[0-9a-f]{{16}};Sampled=1", l));
                Assert.Equal(3, attempts.Select(l => l.Substring(l.IndexOf("Parent=", StringComparison.Ordinal), 23)).Distinct().Count());
                Assert.Matches($@"TRACE Root={queueRoot};Parent=[0-9a-f]{{16}};Sampled=1", Assert.Single(traces, l => l.Contains(queueRoot, StringComparison.Ordinal)));

                // Spans: every attempt's run span is in the accepting request's trace; the batch span is the parent of its invoke span.
                var spans = await WaitForAsync(
                    () => Task.FromResult(receiver.Spans()),
                    s => s.Count(x => x.Name == "lambda.async.run") >= 3 && s.Any(x => x.Name == "lambda.event_source.sqs.batch")
                        && s.Count(x => x.Name == "lambda.invoke" && x.Attributes.GetValueOrDefault("faas.name") == name) >= 4,
                    "the async run, queue batch and invoke spans at the OTLP receiver");
                var enqueue = Assert.Single(spans, x => x.Name == "lambda.async.enqueue");
                var runs = spans.Where(x => x.Name == "lambda.async.run").ToList();
                Assert.Equal(3, runs.Count);
                Assert.All(runs, r => Assert.Equal((enqueue.TraceId, enqueue.SpanId), (r.TraceId, r.ParentSpanId)));
                var invokes = spans.Where(x => x.Name == "lambda.invoke").ToList();
                Assert.All(runs, r => Assert.Contains(invokes, i => i.ParentSpanId == r.SpanId && i.TraceId == r.TraceId));
                var batch = Assert.Single(spans, x => x.Name == "lambda.event_source.sqs.batch");
                Assert.Equal(arn, batch.Attributes.GetValueOrDefault("messaging.destination.name"));
                Assert.Contains(invokes, i => i.ParentSpanId == batch.SpanId && i.TraceId == batch.TraceId);
            },
            () => server.DescribeOutput());
    }

    private static async Task<List<string>> FunctionLinesAsync(NimbusServer server, string name)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri("/", UriKind.Relative))
        {
            Content = new StringContent($$"""{"logGroupName":"/aws/lambda/{{name}}"}""", Encoding.UTF8, "application/x-amz-json-1.1"),
        };
        request.Headers.Add("X-Amz-Target", "Logs_20140328.FilterLogEvents");
        using var response = await server.Http.SendAsync(request);
        if (!response.IsSuccessStatusCode)
        {
            return [];
        }

        using var document = System.Text.Json.JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return [.. document.RootElement.GetProperty("events").EnumerateArray().Select(e => e.GetProperty("message").GetString()!)];
    }

    private static async Task<T> WaitForAsync<T>(Func<Task<T>> query, Func<T, bool> done, string what)
    {
        var watch = Stopwatch.StartNew();
        while (true)
        {
            var value = await query();
            if (done(value))
            {
                return value;
            }

            Assert.True(watch.Elapsed < Deadline * 2, $"Did not see {what} within {(Deadline * 2).TotalSeconds} s; last: {value}");
            await Task.Delay(250);
        }
    }

    [Fact]
    public async Task CloudWatch_statistics_and_usage_survive_a_killed_server()
    {
        using var data = new TempDirectory("nimbus-it-metrics-restart");
        using var scratch = new TempDirectory("nimbus-it-scratch");
        var name = $"t-{Guid.NewGuid():N}"[..20];
        var window = MetricsTests.Window();
        NimbusServer? before = null;
        NimbusServer? after = null;
        try
        {
            await Failures.WithContextAsync(
                async () =>
                {
                    before = await NimbusServer.StartAsync(data.Path);
                    var lambda = new LambdaHttp(before.Http);
                    await lambda.CreateFunctionAsync(name, FunctionZips.Build(FunctionZips.NodeCjs), "nodejs20.x", "index.handler");
                    for (var i = 0; i < 3; i++)
                    {
                        Assert.Equal(200, (await lambda.InvokeAsync(name, "{}")).StatusCode);
                    }

                    await MetricsTests.WaitForStatisticAsync(new AwsCli(AwsCli.V1, before.Endpoint, scratch.Path), name, "Invocations", "Sum", 3, window);
                    await before.DisposeAsync();

                    after = await NimbusServer.StartAsync(data.Path);
                    var v2 = new AwsCli(AwsCli.V2, after.Endpoint, scratch.Path);
                    var statistics = (await MetricsTests.StatisticsAsync(v2, name, "Invocations", window, "--statistics", "Sum")).Array("Datapoints");
                    var usage = await new LambdaHttp(after.Http).SendAsync(HttpMethod.Get, $"/nimbus/usage?function={name}");

                    Assert.Equal(3, Assert.Single(statistics).At("Sum").GetDouble());
                    Assert.Equal(3, Assert.Single(usage.Json().Array("Usage")).Num("Requests"));
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

    /// <summary>A minimal OTLP/HTTP receiver on 127.0.0.1: accepts POST /v1/traces and keeps the bodies as text.</summary>
    private sealed class OtlpReceiver : IDisposable
    {
        private readonly HttpListener _listener = new();
        private readonly ConcurrentQueue<byte[]> _bodies = new();
        private readonly Task _loop;

        public OtlpReceiver()
        {
            var probe = new TcpListener(IPAddress.Loopback, 0);
            probe.Start();
            var port = ((IPEndPoint)probe.LocalEndpoint).Port;
            probe.Stop();
            Endpoint = $"http://127.0.0.1:{port}";
            _listener.Prefixes.Add(Endpoint + "/");
            _listener.Start();
            _loop = Task.Run(LoopAsync);
        }

        public string Endpoint { get; }

        public int Requests => _bodies.Count;

        public string? ContentType { get; private set; }

        /// <summary>Every body received, as Latin-1 text: span names and attribute strings appear verbatim in protobuf.</summary>
        public string Received => string.Concat(_bodies.Select(b => Encoding.Latin1.GetString(b)));

        /// <summary>Every span received, decoded from the OTLP protobuf (ids in hex, string attributes).</summary>
        public List<OtlpSpan> Spans() => [.. _bodies.ToArray().SelectMany(OtlpSpan.Decode)];

        public void Dispose()
        {
            _listener.Stop();
            _listener.Close();
            _loop.Wait(TimeSpan.FromSeconds(5));
        }

        private async Task LoopAsync()
        {
            while (_listener.IsListening)
            {
                HttpListenerContext context;
                try
                {
                    context = await _listener.GetContextAsync();
                }
                catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException)
                {
                    return;
                }

                using var body = new MemoryStream();
                await context.Request.InputStream.CopyToAsync(body);
                if (context.Request.Url?.AbsolutePath == "/v1/traces")
                {
                    ContentType = context.Request.ContentType;
                    _bodies.Enqueue(body.ToArray());
                    context.Response.StatusCode = 200;
                }
                else
                {
                    context.Response.StatusCode = 404;
                }

                context.Response.Close();
            }
        }
    }

    /// <summary>
    /// One span of an OTLP ExportTraceServiceRequest, read with a minimal protobuf walker: resource_spans (1) →
    /// scope_spans (2) → spans (2) with trace_id (1), span_id (2), parent_span_id (4), name (5), attributes (9).
    /// </summary>
    internal sealed record OtlpSpan(string TraceId, string SpanId, string ParentSpanId, string Name, Dictionary<string, string> Attributes)
    {
        public static IEnumerable<OtlpSpan> Decode(byte[] body)
        {
            foreach (var resource in Fields(body).Where(f => f.Number == 1))
            {
                foreach (var scope in Fields(resource.Bytes).Where(f => f.Number == 2))
                {
                    foreach (var span in Fields(scope.Bytes).Where(f => f.Number == 2))
                    {
                        string traceId = "", spanId = "", parentId = "", name = "";
                        var attributes = new Dictionary<string, string>(StringComparer.Ordinal);
                        foreach (var field in Fields(span.Bytes))
                        {
                            switch (field.Number)
                            {
                                case 1:
                                    traceId = Convert.ToHexStringLower(field.Bytes!);
                                    break;
                                case 2:
                                    spanId = Convert.ToHexStringLower(field.Bytes!);
                                    break;
                                case 4:
                                    parentId = Convert.ToHexStringLower(field.Bytes!);
                                    break;
                                case 5:
                                    name = Encoding.UTF8.GetString(field.Bytes!);
                                    break;
                                case 9:
                                    var key = Fields(field.Bytes).FirstOrDefault(f => f.Number == 1).Bytes;
                                    var value = Fields(field.Bytes).FirstOrDefault(f => f.Number == 2).Bytes;
                                    var text = value is null ? null : Fields(value).Where(f => f.Number == 1 && f.Bytes is not null).Select(f => Encoding.UTF8.GetString(f.Bytes!)).FirstOrDefault();
                                    if (key is not null && text is not null)
                                    {
                                        attributes[Encoding.UTF8.GetString(key)] = text;
                                    }

                                    break;
                            }
                        }

                        yield return new OtlpSpan(traceId, spanId, parentId, name, attributes);
                    }
                }
            }
        }

        /// <summary>The fields of one message; length-delimited ones carry their bytes, others null.</summary>
        private static List<(int Number, byte[]? Bytes)> Fields(byte[]? message)
        {
            var fields = new List<(int, byte[]?)>();
            var i = 0;
            while (message is not null && i < message.Length)
            {
                var tag = Varint(message, ref i);
                var number = (int)(tag >> 3);
                switch (tag & 7)
                {
                    case 0:
                        Varint(message, ref i);
                        fields.Add((number, null));
                        break;
                    case 1:
                        i += 8;
                        fields.Add((number, null));
                        break;
                    case 5:
                        i += 4;
                        fields.Add((number, null));
                        break;
                    case 2:
                        var length = (int)Varint(message, ref i);
                        fields.Add((number, message[i..(i + length)]));
                        i += length;
                        break;
                    default:
                        throw new InvalidDataException($"Unexpected protobuf wire type {tag & 7} in an OTLP body.");
                }
            }

            return fields;
        }

        private static ulong Varint(byte[] data, ref int i)
        {
            ulong value = 0;
            for (var shift = 0; ; shift += 7)
            {
                var b = data[i++];
                value |= (ulong)(b & 0x7f) << shift;
                if (b < 0x80)
                {
                    return value;
                }
            }
        }
    }
}
