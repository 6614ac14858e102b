namespace Nimbus.Lambda.RuntimeSupport;

// An instance API on purpose: handlers reach the logger through their context, as on Lambda.
#pragma warning disable CA1822

/// <summary>
/// Writes to the function's log stream. Each message becomes one entry
/// <c>timestamp \t request id \t level \t message</c>, the format Lambda's .NET runtime uses.
/// </summary>
public sealed class LambdaLogger
{
    internal LambdaLogger()
    {
    }

    /// <summary>Writes <paramref name="message"/> at level <c>info</c>.</summary>
    public void Log(string? message) => LogOutput.Write("info", message);

    /// <summary>Writes <paramref name="message"/> at level <c>info</c>.</summary>
    public void LogLine(string? message) => LogOutput.Write("info", message);

    /// <summary>Writes <paramref name="message"/> at <paramref name="level"/> (Trace, Debug, Information, Warning, Error, Critical).</summary>
    public void Log(string level, string? message) => LogOutput.Write(LogOutput.LevelTag(level), message);

    /// <summary>Writes at level <c>trce</c>.</summary>
    public void LogTrace(string? message) => LogOutput.Write("trce", message);

    /// <summary>Writes at level <c>dbug</c>.</summary>
    public void LogDebug(string? message) => LogOutput.Write("dbug", message);

    /// <summary>Writes at level <c>info</c>.</summary>
    public void LogInformation(string? message) => LogOutput.Write("info", message);

    /// <summary>Writes at level <c>warn</c>.</summary>
    public void LogWarning(string? message) => LogOutput.Write("warn", message);

    /// <summary>Writes at level <c>fail</c>.</summary>
    public void LogError(string? message) => LogOutput.Write("fail", message);

    /// <summary>Writes at level <c>crit</c>.</summary>
    public void LogCritical(string? message) => LogOutput.Write("crit", message);
}
