namespace Nimbus.Invocation;

/// <summary>Why an invocation may not run now; <see cref="None"/> when it may.</summary>
internal enum ConcurrencyThrottle
{
    None,

    /// <summary>The function's reserved concurrency is 0: every invocation is throttled until it changes.</summary>
    ReservedConcurrencyIsZero,

    /// <summary>The function already runs as many invocations as it has reserved.</summary>
    ReservedConcurrencyInUse,

    /// <summary>The account's unreserved concurrency, or this node's room for instances, is in use.</summary>
    AccountConcurrencyInUse,
}
