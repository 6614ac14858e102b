using System.Runtime.InteropServices;

namespace Nimbus.Storage;

/// <summary>
/// fsync of a directory, which makes a rename into it durable; .NET has no API for it. Linux only, as Nimbus is.
/// </summary>
internal static partial class DirectorySync
{
    private const int ReadOnly = 0;
    private const int Directory = 0x10000;

    public static void Flush(string path)
    {
        var descriptor = Open(path, ReadOnly | Directory);
        if (descriptor < 0)
        {
            throw new IOException($"Could not open the directory {path} to flush it (errno {Marshal.GetLastPInvokeError()}).");
        }

        try
        {
            if (Fsync(descriptor) != 0)
            {
                throw new IOException($"Could not flush the directory {path} to disk (errno {Marshal.GetLastPInvokeError()}).");
            }
        }
        finally
        {
            _ = Close(descriptor);
        }
    }

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static partial int Fsync(int descriptor);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int Close(int descriptor);
}
