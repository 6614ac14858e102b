namespace Nimbus.IntegrationTests;

/// <summary>A fresh directory under the system temp directory, deleted (best effort) on dispose.</summary>
internal sealed class TempDirectory : IDisposable
{
    public TempDirectory(string prefix)
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"{prefix}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
            // Something still holds a file; the OS cleans temp eventually.
        }
        catch (UnauthorizedAccessException)
        {
            // A sandbox left a read-only tree behind; same as above.
        }
    }
}
