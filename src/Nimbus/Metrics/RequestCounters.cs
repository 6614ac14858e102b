using System.Collections.Concurrent;
using Microsoft.AspNetCore.Http;

namespace Nimbus.Metrics;

/// <summary>Requests to the main port by API and status code, for /metrics.</summary>
internal sealed class RequestCounters
{
    private readonly ConcurrentDictionary<(string Api, int Code), Box> _counts = new();

    public void Count(string api, int statusCode)
    {
        var key = (api, statusCode);
        if (!_counts.TryGetValue(key, out var box))
        {
            box = _counts.GetOrAdd(key, static _ => new Box());
        }

        Interlocked.Increment(ref box.Value);
    }

    public IEnumerable<KeyValuePair<(string Api, int Code), long>> Snapshot() =>
        _counts.Select(c => KeyValuePair.Create(c.Key, Interlocked.Read(ref c.Value.Value)));

    /// <summary>
    /// The API a request is for: the service of its SigV4 credential scope (lambda, monitoring, logs, sqs, ...), else
    /// function-url for a function URL host, else the unsigned endpoint's first path segment (metrics, health, nimbus).
    /// </summary>
    public static string Classify(HttpRequest request)
    {
        var authorization = request.Headers.Authorization.ToString();
        var credential = authorization.IndexOf("Credential=", StringComparison.Ordinal);
        if (credential >= 0)
        {
            // Credential=AKID/20261203/us-east-1/lambda/aws4_request
            var scope = authorization.AsSpan(credential + "Credential=".Length);
            var end = scope.IndexOfAny(',', ' ');
            if (end >= 0)
            {
                scope = scope[..end];
            }

            var parts = scope.ToString().Split('/');
            if (parts.Length == 5 && parts[3].Length is > 0 and <= 32 && parts[3].All(c => char.IsAsciiLetterOrDigit(c) || c == '-'))
            {
                return parts[3];
            }
        }

        if (request.Host.Host.Contains(".lambda-url.", StringComparison.Ordinal) || request.Path.StartsWithSegments("/lambda-url"))
        {
            return "function-url";
        }

        var path = request.Path.Value ?? "/";
        return path switch
        {
            "/metrics" => "metrics",
            "/health" => "health",
            _ when path.StartsWith("/nimbus/", StringComparison.Ordinal) => "nimbus",
            _ => "unsigned",
        };
    }

    private sealed class Box
    {
        public long Value;
    }
}
