namespace Nimbus.Functions;

/// <summary>Told by the control plane when a function version's code or configuration changes or it is deleted.</summary>
internal interface IFunctionLifecycleObserver
{
    /// <summary>
    /// <paramref name="version"/> changed or went away; null means every version (the function was deleted).
    /// Publishing a version or writing an alias changes no existing version and is not reported.
    /// </summary>
    void OnFunctionChanged(string functionName, string? version);
}
