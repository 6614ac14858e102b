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

            // AKID/date/region/SERVICE/aws4_request, read in place: this runs on every request.
            if (scope.Count('/') == 4)
            {
                for (var i = 0; i < 3; i++)
                {
                    scope = scope[(scope.IndexOf('/') + 1)..];
                }

                var service = scope[..scope.IndexOf('/')];
                if (service.Length is > 0 and <= 32 && !service.ContainsAnyExcept(ServiceNameCharacters))
                {
                    return KnownService(service) ?? service.ToString();
                }
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

    private static readonly System.Buffers.SearchValues<char> ServiceNameCharacters =
        System.Buffers.SearchValues.Create("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-");

    private static string? KnownService(ReadOnlySpan<char> service) => service switch
    {
        "lambda" => "lambda",
        "s3" => "s3",
        "sqs" => "sqs",
        "logs" => "logs",
        "monitoring" => "monitoring",
        "scheduler" => "scheduler",
        "sts" => "sts",
        "iam" => "iam",
        _ => null,
    };

    private sealed class Box
    {
        public long Value;
    }
}
