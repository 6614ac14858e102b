using System.Globalization;
using System.Text;

namespace Nimbus.Sandboxes;

/// <summary>
/// The /etc/passwd and /etc/group sandboxes see: root, nobody and one user per instance slot
/// (<c>sbx_user&lt;uid&gt;</c>, as Lambda's <c>sbx_user1051</c>), so tools that look their user up work and no host
/// account names leak in. Written once per start into the data directory, with the /etc/resolv.conf of instances in
/// network namespaces of their own (their resolver is <see cref="SandboxEgress.NameServer"/>, not the host's, which may
/// be on the host's loopback).
/// </summary>
internal sealed record SandboxIdentities(string PasswdFile, string GroupFile, string IsolatedResolvConfFile)
{
    /// <summary>Instances run as uid/gid FirstUserId + their Runtime API slot.</summary>
    public const int FirstUserId = 20_000;

    public static SandboxIdentities Write(string directory, int slots)
    {
        Directory.CreateDirectory(directory);
        var passwd = new StringBuilder("root:x:0:0:root:/root:/usr/sbin/nologin\n");
        var group = new StringBuilder("root:x:0:\n");
        for (var slot = 0; slot < slots; slot++)
        {
            var id = (FirstUserId + slot).ToString(CultureInfo.InvariantCulture);
            passwd.Append(CultureInfo.InvariantCulture, $"sbx_user{id}:x:{id}:{id}::/tmp:/usr/sbin/nologin\n");
            group.Append(CultureInfo.InvariantCulture, $"sbx_user{id}:x:{id}:\n");
        }

        passwd.Append("nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n");
        group.Append("nogroup:x:65534:\n");
        var identities = new SandboxIdentities(Path.Combine(directory, "passwd"), Path.Combine(directory, "group"), Path.Combine(directory, "resolv.conf"));
        WriteAtomically(identities.PasswdFile, passwd.ToString());
        WriteAtomically(identities.GroupFile, group.ToString());
        WriteAtomically(identities.IsolatedResolvConfFile, SandboxEgress.ResolvConf("/etc/resolv.conf"));
        return identities;
    }

    private static void WriteAtomically(string path, string content)
    {
        var temporary = $"{path}.{Guid.NewGuid():N}.tmp";
        File.WriteAllText(temporary, content);
        File.SetUnixFileMode(temporary, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        File.Move(temporary, path, overwrite: true);
    }
}
