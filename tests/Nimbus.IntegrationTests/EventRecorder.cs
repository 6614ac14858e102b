using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;

namespace Nimbus.IntegrationTests;

/// <summary>
/// An HTTP endpoint the node-recorder fixture POSTs every event it gets to: what each function ran, seen from outside
/// the server, so it survives a killed server. It listens on the machine's non-loopback address: functions in isolated
/// instance networks (the default) reach it through their egress, not the host's loopback.
/// </summary>
internal sealed class EventRecorder : IDisposable
{
    private readonly HttpListener _listener = new();
    private readonly ConcurrentQueue<JsonElement> _reports = new();
    private readonly Task _loop;

    public EventRecorder()
    {
        var address = HostAddress.NonLoopback();
        using (var probe = new TcpListener(address, 0))
        {
            probe.Start();
            Url = $"http://{address}:{((IPEndPoint)probe.LocalEndpoint).Port}/";
            probe.Stop();
        }

        _listener.Prefixes.Add(Url);
        _listener.Start();
        _loop = Task.Run(LoopAsync);
    }

    public string Url { get; }

    /// <summary>The function environment that points node-recorder here, as create-function's JSON.</summary>
    public string EnvironmentJson => $$$"""{"Variables":{"RECORDER_URL":"{{{Url}}}"}}""";

    /// <summary>Every report so far: <c>{"function","requestId","event"}</c>.</summary>
    public IReadOnlyList<JsonElement> Reports => [.. _reports];

    public IReadOnlyList<JsonElement> ReportsOf(string function) =>
        [.. _reports.Where(r => r.GetProperty("function").GetString() == function)];

    /// <summary>Waits until <paramref name="done"/> holds for the reports; fails the test with them otherwise.</summary>
    public async Task<IReadOnlyList<JsonElement>> WaitForAsync(string what, Func<IReadOnlyList<JsonElement>, bool> done, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var reports = Reports;
            if (done(reports))
            {
                return reports;
            }

            Assert.True(DateTime.UtcNow < deadline,
                $"Within {timeout.TotalSeconds:0} s: {what}. {reports.Count} reports so far:{Environment.NewLine}{string.Join(Environment.NewLine, reports.TakeLast(20))}");
            await Task.Delay(TimeSpan.FromMilliseconds(100));
        }
    }

    public void Dispose()
    {
        try
        {
            // Close alone: Stop then Close makes the managed HttpListener look up its endpoint again, which binds the
            // freed port anew and fails with "Address already in use" once another process has taken it.
            _listener.Close();
        }
        catch (HttpListenerException)
        {
            // The recorder is going away either way; its port is released.
        }

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

            try
            {
                using var document = await JsonDocument.ParseAsync(context.Request.InputStream);
                _reports.Enqueue(document.RootElement.Clone());
                context.Response.StatusCode = 204;
            }
            catch (JsonException)
            {
                context.Response.StatusCode = 400;
            }

            context.Response.Close();
        }
    }
}
