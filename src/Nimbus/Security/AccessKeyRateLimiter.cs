using System.Collections.Concurrent;
using Microsoft.Extensions.Options;

namespace Nimbus.Security;

/// <summary>
/// A token bucket per access key: <see cref="SecurityOptions.RequestsPerSecondPerKey"/> tokens a second, bursts of
/// twice that. Over the limit a request gets the service's throttling error (ThrottlingException, Throttling, SlowDown).
/// </summary>
internal sealed class AccessKeyRateLimiter(IOptions<SecurityOptions> options, TimeProvider time)
{
    private readonly ConcurrentDictionary<string, Bucket> _buckets = new(StringComparer.Ordinal);

    public bool TryAcquire(string accessKeyId)
    {
        var rate = options.Value.RequestsPerSecondPerKey;
        if (rate <= 0)
        {
            return true;
        }

        var bucket = _buckets.GetOrAdd(accessKeyId, _ => new Bucket(rate * 2.0, time.GetTimestamp()));
        lock (bucket)
        {
            var now = time.GetTimestamp();
            var elapsed = time.GetElapsedTime(bucket.Updated, now).TotalSeconds;
            bucket.Tokens = Math.Min(rate * 2.0, bucket.Tokens + (elapsed * rate));
            bucket.Updated = now;
            if (bucket.Tokens < 1)
            {
                return false;
            }

            bucket.Tokens -= 1;
            return true;
        }
    }

    private sealed class Bucket(double tokens, long updated)
    {
        public double Tokens { get; set; } = tokens;

        public long Updated { get; set; } = updated;
    }
}
