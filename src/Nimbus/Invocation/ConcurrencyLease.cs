namespace Nimbus.Invocation;

/// <summary>One unit of concurrency held by one invocation. Disposing gives it back to its limiter, once.</summary>
internal sealed class ConcurrencyLease(IConcurrencyLimiter limiter, string functionName) : IDisposable
{
    private int _released;

    public string FunctionName { get; } = functionName;

    /// <summary>Invocations of the function holding a lease when this one was granted, this one included.</summary>
    public int InUseAtGrant { get; init; }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _released, 1) == 0)
        {
            limiter.Release(this);
        }
    }
}
