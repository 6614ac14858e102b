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
}
