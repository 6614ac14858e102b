namespace Nimbus.Functions;

/// <summary>
/// Where provisioned concurrency is carried out: on one node, the sandbox manager keeps that many instances of a
/// version initialized. The control plane validates and persists the setting and tells this seam.
/// </summary>
internal interface IProvisionedConcurrency
{
    /// <summary>Keeps <paramref name="count"/> instances of this published version initialized; 0 stops.</summary>
    void SetProvisionedConcurrency(FunctionRecord version, int count);

    /// <summary>Requested and initialized instances of this version, and why filling stopped, if it did.</summary>
    (int Requested, int Ready, string? Failure) ProvisionedStatus(FunctionRecord version);
}
