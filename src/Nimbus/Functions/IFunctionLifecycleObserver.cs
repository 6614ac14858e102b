namespace Nimbus.Functions;

/// <summary>Told by the control plane when a function's code or configuration changes or it is deleted.</summary>
internal interface IFunctionLifecycleObserver
{
    void OnFunctionChanged(string functionName);
}
