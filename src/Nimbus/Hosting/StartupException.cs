namespace Nimbus.Hosting;

/// <summary>
/// A start-up failure whose message already says what is wrong and what to do next (a broken setting, a missing
/// key, a permission the server lacks): nimbusd prints the message alone, without a stack trace, and exits 1.
/// It is an <see cref="InvalidOperationException"/> so callers that catch those keep working.
/// </summary>
internal sealed class StartupException : InvalidOperationException
{
    public StartupException(string message)
        : base(message)
    {
    }

    public StartupException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
