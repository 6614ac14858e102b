using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Nimbus.Lambda.RuntimeSupport;

/// <summary>One invocation as <c>GET /next</c> returned it.</summary>
internal sealed record NextInvocation(string RequestId, byte[] Payload, long DeadlineMs, string FunctionArn, string? TraceId, string? ClientContext, string? CognitoIdentity);

/// <summary>
/// A Lambda Runtime API (2018-06-01) client over one keep-alive HTTP/1.1 connection. Written on
/// <see cref="Socket"/> rather than HttpClient: the runtime loop makes one request at a time to a loopback
/// address, and SocketsHttpHandler costs tens of milliseconds of JIT on a cold start. A reused connection the
/// server closed while idle is retried once on a new one.
/// </summary>
internal sealed class RuntimeApiClient : IDisposable
{
    public const string NextPath = "/2018-06-01/runtime/invocation/next";
    public const string InitErrorPath = "/2018-06-01/runtime/init/error";
    public const string AssignmentPath = "/nimbus/2018-06-01/runtime/assignment";
    public const string ErrorTypeHeader = "Lambda-Runtime-Function-Error-Type";

    private readonly EndPoint _endpoint;
    private readonly string _host;
    private readonly byte[] _buffer = new byte[16 * 1024];
    private Socket? _socket;
    private int _start;
    private int _end;

    public RuntimeApiClient(string address)
    {
        _host = address;
        _endpoint = Parse(address) ?? throw new ArgumentException($"AWS_LAMBDA_RUNTIME_API is not host:port: '{address}'.", nameof(address));
    }

    public static RuntimeApiClient FromEnvironment() =>
        new(Environment.GetEnvironmentVariable("AWS_LAMBDA_RUNTIME_API") is { Length: > 0 } address
            ? address
            : throw new InvalidOperationException("AWS_LAMBDA_RUNTIME_API is not set: this program runs as a Lambda function's bootstrap."));

    public NextInvocation Next()
    {
        var response = Send("GET", NextPath, null, ReadOnlySpan<byte>.Empty);
        if (response.Status != 200)
        {
            throw new IOException($"GET {NextPath} answered {response.Status}: {Encoding.UTF8.GetString(response.Body)}");
        }

        var headers = response.Headers;
        return new NextInvocation(
            headers.GetValueOrDefault("lambda-runtime-aws-request-id", ""),
            response.Body,
            long.TryParse(headers.GetValueOrDefault("lambda-runtime-deadline-ms"), NumberStyles.None, CultureInfo.InvariantCulture, out var deadline) ? deadline : 0,
            headers.GetValueOrDefault("lambda-runtime-invoked-function-arn", ""),
            headers.GetValueOrDefault("lambda-runtime-trace-id"),
            headers.GetValueOrDefault("lambda-runtime-client-context"),
            headers.GetValueOrDefault("lambda-runtime-cognito-identity"));
    }

    /// <summary>Posts a result; a 4xx (the invoke timed out meanwhile, say) is written to stderr, not thrown.</summary>
    public void PostResponse(string requestId, ReadOnlySpan<byte> body) =>
        Report(Send("POST", $"/2018-06-01/runtime/invocation/{requestId}/response", null, body), "response");

    public void PostError(string requestId, string errorType, ReadOnlySpan<byte> body) =>
        Report(Send("POST", $"/2018-06-01/runtime/invocation/{requestId}/error", errorType, body), "error");

    public void PostInitError(string errorType, ReadOnlySpan<byte> body) =>
        Report(Send("POST", InitErrorPath, errorType, body), "init error");

    /// <summary>Nimbus only: a pre-started runtime's function, as <c>{"environment":{...}}</c>.</summary>
    public byte[] GetAssignment()
    {
        var response = Send("GET", AssignmentPath, null, ReadOnlySpan<byte>.Empty);
        return response.Status == 200
            ? response.Body
            : throw new IOException($"GET {AssignmentPath} answered {response.Status}: {Encoding.UTF8.GetString(response.Body)}");
    }

    public void Dispose() => Close();

    private static void Report((int Status, Dictionary<string, string> Headers, byte[] Body) response, string what)
    {
        if (response.Status >= 300)
        {
            Console.Error.WriteLine($"[nimbus-runtime] posting the {what} got HTTP {response.Status}: {Encoding.UTF8.GetString(response.Body)}");
        }
    }

    private (int Status, Dictionary<string, string> Headers, byte[] Body) Send(string method, string path, string? errorType, ReadOnlySpan<byte> body)
    {
        var head = new StringBuilder(160)
            .Append(method).Append(' ').Append(path).Append(" HTTP/1.1\r\nHost: ").Append(_host).Append("\r\n");
        if (method == "POST")
        {
            head.Append("Content-Type: application/json\r\nContent-Length: ").Append(body.Length.ToString(CultureInfo.InvariantCulture)).Append("\r\n");
        }

        if (errorType is not null)
        {
            head.Append(ErrorTypeHeader).Append(": ").Append(errorType).Append("\r\n");
        }

        var request = Encoding.ASCII.GetBytes(head.Append("\r\n").ToString());
        var reused = _socket is not null;
        try
        {
            return Exchange(request, body);
        }
        catch (Exception e) when (reused && e is IOException or SocketException)
        {
            // The server may close a keep-alive connection while it is idle: one retry on a new connection.
            Close();
            return Exchange(request, body);
        }
    }

    private (int Status, Dictionary<string, string> Headers, byte[] Body) Exchange(byte[] head, ReadOnlySpan<byte> body)
    {
        var socket = _socket ??= Connect();
        try
        {
            if (body.IsEmpty)
            {
                SendAll(socket, head);
            }
            else if (body.Length <= 8 * 1024)
            {
                var joined = new byte[head.Length + body.Length];
                head.CopyTo(joined, 0);
                body.CopyTo(joined.AsSpan(head.Length));
                SendAll(socket, joined);
            }
            else
            {
                SendAll(socket, head);
                SendAll(socket, body);
            }

            return ReadResponse(socket);
        }
        catch
        {
            Close();
            throw;
        }
    }

    private Socket Connect()
    {
        var socket = new Socket(_endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            socket.Connect(_endpoint);
        }
        catch
        {
            socket.Dispose();
            throw;
        }

        _start = _end = 0;
        return socket;
    }

    private void Close()
    {
        _socket?.Dispose();
        _socket = null;
        _start = _end = 0;
    }

    private static void SendAll(Socket socket, ReadOnlySpan<byte> data)
    {
        while (!data.IsEmpty)
        {
            data = data[socket.Send(data)..];
        }
    }

    private (int Status, Dictionary<string, string> Headers, byte[] Body) ReadResponse(Socket socket)
    {
        var statusLine = ReadLine(socket);
        if (statusLine.Length < 12 || !statusLine.StartsWith("HTTP/1.", StringComparison.Ordinal)
            || !int.TryParse(statusLine.AsSpan(9, 3), NumberStyles.None, CultureInfo.InvariantCulture, out var status))
        {
            throw new IOException($"Malformed HTTP status line from the Runtime API: '{statusLine}'.");
        }

        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        for (var line = ReadLine(socket); line.Length > 0; line = ReadLine(socket))
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon > 0)
            {
                headers[line[..colon].Trim()] = line[(colon + 1)..].Trim();
            }
        }

        byte[] body;
        if (headers.TryGetValue("transfer-encoding", out var encoding) && encoding.Contains("chunked", StringComparison.OrdinalIgnoreCase))
        {
            using var chunks = new MemoryStream();
            while (true)
            {
                var sizeLine = ReadLine(socket);
                var semicolon = sizeLine.IndexOf(';', StringComparison.Ordinal);
                var size = int.Parse(semicolon >= 0 ? sizeLine.AsSpan(0, semicolon) : sizeLine, NumberStyles.HexNumber, CultureInfo.InvariantCulture);
                if (size == 0)
                {
                    while (ReadLine(socket).Length > 0)
                    {
                    }

                    break;
                }

                var chunk = new byte[size];
                ReadExactly(socket, chunk);
                chunks.Write(chunk);
                ReadLine(socket);
            }

            body = chunks.ToArray();
        }
        else if (headers.TryGetValue("content-length", out var length))
        {
            body = new byte[int.Parse(length, NumberStyles.None, CultureInfo.InvariantCulture)];
            ReadExactly(socket, body);
        }
        else
        {
            using var rest = new MemoryStream();
            rest.Write(_buffer, _start, _end - _start);
            _start = _end = 0;
            int read;
            while ((read = socket.Receive(_buffer)) > 0)
            {
                rest.Write(_buffer, 0, read);
            }

            body = rest.ToArray();
            Close();
            return (status, headers, body);
        }

        if (headers.TryGetValue("connection", out var connection) && connection.Equals("close", StringComparison.OrdinalIgnoreCase))
        {
            Close();
        }

        return (status, headers, body);
    }

    private string ReadLine(Socket socket)
    {
        var line = new StringBuilder();
        while (true)
        {
            if (_start == _end)
            {
                Fill(socket);
            }

            var span = _buffer.AsSpan(_start, _end - _start);
            var newline = span.IndexOf((byte)'\n');
            if (newline >= 0)
            {
                line.Append(Encoding.Latin1.GetString(span[..newline]));
                _start += newline + 1;
                if (line.Length > 0 && line[^1] == '\r')
                {
                    line.Length--;
                }

                return line.ToString();
            }

            line.Append(Encoding.Latin1.GetString(span));
            _start = _end;
        }
    }

    private void ReadExactly(Socket socket, Span<byte> target)
    {
        var buffered = Math.Min(target.Length, _end - _start);
        _buffer.AsSpan(_start, buffered).CopyTo(target);
        _start += buffered;
        target = target[buffered..];
        while (!target.IsEmpty)
        {
            var read = socket.Receive(target);
            if (read == 0)
            {
                throw new IOException("The Runtime API closed the connection mid-response.");
            }

            target = target[read..];
        }
    }

    private void Fill(Socket socket)
    {
        _start = 0;
        _end = socket.Receive(_buffer);
        if (_end == 0)
        {
            throw new IOException("The Runtime API closed the connection.");
        }
    }

    private static IPEndPoint? Parse(string address)
    {
        var colon = address.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(address.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var port))
        {
            return null;
        }

        var host = address[..colon].Trim('[', ']');
        if (host == "localhost")
        {
            return new IPEndPoint(IPAddress.Loopback, port);
        }

        return IPAddress.TryParse(host, out var ip) ? new IPEndPoint(ip, port) : null;
    }
}
