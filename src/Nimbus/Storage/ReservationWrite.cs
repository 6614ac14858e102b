namespace Nimbus.Storage;

/// <summary>What <see cref="IMetadataStore.TryPutReservedConcurrencyAsync"/> did.</summary>
internal enum ReservationWrite
{
    /// <summary>The reservation is stored.</summary>
    Saved,

    /// <summary>No function of that name exists; nothing was stored.</summary>
    FunctionNotFound,

    /// <summary>The reservations of all functions would exceed the allowed total; nothing was stored.</summary>
    OverLimit,
}
