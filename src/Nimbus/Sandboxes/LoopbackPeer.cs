using System.Globalization;

namespace Nimbus.Sandboxes;

/// <summary>
/// Finds which user owns the client end of a loopback TCP connection, from the kernel's socket table
/// (/proc/net/tcp). Instances share the host's network, so this is how the Runtime API tells its own
/// instance from any other process that dials its port. A client on a dual-stack IPv6 socket (a JVM's
/// default) reaches 127.0.0.1 as ::ffff:127.0.0.1, and its end is listed in /proc/net/tcp6 instead.
/// </summary>
internal static class LoopbackPeer
{
    private const string LoopbackHex = "0100007F";

    /// <summary>::ffff:127.0.0.1 as /proc/net/tcp6 prints it (four 32-bit words in host byte order).</summary>
    private const string MappedLoopbackHex = "0000000000000000FFFF00000100007F";

    /// <summary>The uid owning the socket 127.0.0.1:<paramref name="clientPort"/> → 127.0.0.1:<paramref name="serverPort"/>, or null.</summary>
    public static int? OwnerUid(int clientPort, int serverPort) =>
        OwnerUid(File.ReadLines("/proc/net/tcp"), clientPort, serverPort)
        ?? (File.Exists("/proc/net/tcp6") ? OwnerUid(File.ReadLines("/proc/net/tcp6"), clientPort, serverPort, MappedLoopbackHex) : null);

    internal static int? OwnerUid(IEnumerable<string> socketTable, int clientPort, int serverPort, string address = LoopbackHex)
    {
        var local = string.Create(CultureInfo.InvariantCulture, $"{address}:{clientPort:X4}");
        var remote = string.Create(CultureInfo.InvariantCulture, $"{address}:{serverPort:X4}");
        foreach (var line in socketTable)
        {
            // "  sl  local_address rem_address   st tx_queue:rx_queue tr:tm->when retrnsmt   uid ..."
            var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length > 7 && fields[1] == local && fields[2] == remote
                && int.TryParse(fields[7], NumberStyles.None, CultureInfo.InvariantCulture, out var uid))
            {
                return uid;
            }
        }

        return null;
    }
}
