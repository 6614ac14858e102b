namespace Nimbus.Invocation;

/// <summary>
/// Told about what happens to asynchronous events, for Lambda's async invocation metrics (AsyncEventsReceived,
/// AsyncEventAge, AsyncEventsDropped, DeadLetterErrors, DestinationDeliveryFailures). Called on the async queue's
/// runners: implementations must be cheap and must not block.
/// </summary>
internal interface IAsyncEventObserver
{
    /// <summary>
    /// One sample of <paramref name="metric"/> for the event of <paramref name="functionName"/> that the caller sent
    /// to <paramref name="qualifier"/> (null: unqualified): 1 for the counts, milliseconds for the age.
    /// </summary>
    void OnAsyncEvent(AsyncEventMetric metric, string functionName, string? qualifier, double value);
}

/// <summary>The async invocation metrics. Persisted in metrics.db as their number: never renumber.</summary>
internal enum AsyncEventMetric
{
    /// <summary>An event was stored and queued (Invoke answered 202).</summary>
    Received = 0,

    /// <summary>Milliseconds from an event's acceptance to one of its attempts.</summary>
    Age = 1,

    /// <summary>An event reached a final outcome without a successful run (retries or age exhausted, refused).</summary>
    Dropped = 2,

    /// <summary>An event could not be sent to its function's dead-letter queue.</summary>
    DeadLetterError = 3,

    /// <summary>An event's record could not be delivered to its on-success or on-failure destination.</summary>
    DestinationDeliveryFailure = 4,
}
