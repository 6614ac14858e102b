namespace Nimbus.Invocation;

/// <summary>
/// Admits invocations under the account's concurrency limit and the functions' reserved concurrency. Every
/// invocation (a synchronous one, and each attempt of an asynchronous event) takes a lease before it takes an
/// instance and gives it back once the instance is back in its pool. A throttle is an answer, never a wait.
/// On one node the limiter is in-process (<see cref="ConcurrencyLimiter"/>); in cluster mode an implementation
/// leases concurrency in batches from a grain, so this interface is the seam.
/// </summary>
internal interface IConcurrencyLimiter
{
    /// <summary>Takes one unit of concurrency for an invocation of the function, or says why not.</summary>
    ConcurrencyGrant TryAcquire(string functionName);

    /// <summary>Gives a unit back; called by <see cref="ConcurrencyLease.Dispose"/>.</summary>
    void Release(ConcurrencyLease lease);

    /// <summary>
    /// Applies a function's reserved concurrency (null: none, it shares the unreserved pool). The control plane calls
    /// this after the reservation is stored, and for every stored reservation at start-up.
    /// </summary>
    void SetReservation(string functionName, int? reservedConcurrentExecutions);
}
