namespace Nimbus.Functions;

/// <summary>Told by the control plane after a mapping is stored in a transient state, so the pollers apply and settle it.</summary>
internal interface IEventSourceMappingChanges
{
    void OnMappingChanged(string uuid);
}
