using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace Nimbus.IntegrationTests;

/// <summary>
/// A caller that reads an invoke's response slowly through a 4 KiB receive window, so the server's socket buffer fills
/// and its sends stop part-way and resume as the caller reads on.
/// </summary>
internal static class SlowReader
{
    /// <summary>A node function answers 1 MiB; a slow reader gets every byte of it, whichever thread resumes the sends.</summary>
    public static async Task AssertOneMegabyteArrivesIntactAsync(TestScope scope)
    {
        const int Bytes = 1024 * 1024;
        var name = scope.NewFunctionName();
        await scope.Lambda.CreateFunctionAsync(name, FunctionZips.Build(FunctionZips.NodeBehaviours), "nodejs20.x", "big.handler");
        var (status, body) = await InvokeAsync(scope.Server.EndpointUri, name, $$"""{"bytes":{{Bytes}}}""");

        Assert.Equal(HttpStatusCode.OK, status);
        var text = JsonDocument.Parse(body).RootElement;
        Assert.Equal(JsonValueKind.String, text.ValueKind);
        Assert.Equal(new string('x', Bytes), text.GetString());
    }

    /// <summary>Invokes <paramref name="functionName"/> with <paramref name="payload"/>, signed as root; returns the status and every byte of the body.</summary>
    public static async Task<(HttpStatusCode Status, byte[] Body)> InvokeAsync(Uri endpoint, string functionName, string payload)
    {
        var sockets = new SocketsHttpHandler
        {
            ConnectCallback = async (context, cancellationToken) =>
            {
                var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { ReceiveBufferSize = 4096 };
                await socket.ConnectAsync(context.DnsEndPoint, cancellationToken);
                return new NetworkStream(socket, ownsSocket: true);
            },
        };
        using var client = new HttpClient(new SigV4SigningHandler(NimbusServer.RootAccessKeyId, NimbusServer.RootSecretAccessKey, Aws.Region, sockets))
        {
            BaseAddress = endpoint,
            Timeout = TimeSpan.FromMinutes(2),
        };
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/2015-03-31/functions/{functionName}/invocations")
        {
            Content = new StringContent(payload, Encoding.UTF8, "application/json"),
        };

        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        await using var body = await response.Content.ReadAsStreamAsync();
        using var received = new MemoryStream();
        var chunk = new byte[2048];
        int read;
        for (var reads = 0; (read = await body.ReadAsync(chunk)) > 0; reads++)
        {
            received.Write(chunk, 0, read);
            if (reads % 64 == 0)
            {
                await Task.Delay(5);
            }
        }

        return (response.StatusCode, received.ToArray());
    }
}
