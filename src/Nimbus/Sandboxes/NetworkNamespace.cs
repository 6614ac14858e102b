using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Nimbus.Sandboxes;

/// <summary>
/// Linux network namespaces without files or helper processes: a thread unshares into a fresh namespace, brings
/// its loopback up, creates the sockets that must live there, keeps a descriptor of the namespace and switches
/// back. A socket belongs to the namespace it was created in, and a forked child inherits the namespace of the
/// thread that forked it, so <see cref="ProcessLauncher"/> enters a namespace around the fork of an instance. The
/// kernel frees a namespace with its last descriptor, socket and process: nothing outlives the server, even after
/// kill -9, and two servers never share one.
/// </summary>
internal static partial class NetworkNamespace
{
    private const int CloneNewNet = 0x40000000;
    private const int ReadOnlyCloseOnExec = 0x80000;
    private const int InetFamily = 2;
    private const int DatagramType = 2;
    private const nuint GetInterfaceFlags = 0x8913;
    private const nuint SetInterfaceFlags = 0x8914;
    private const short InterfaceUp = 0x1;
    private const string ThreadNamespace = "/proc/thread-self/ns/net";

    /// <summary>
    /// Creates a namespace with its loopback up and runs <paramref name="inside"/> in it (sockets it creates belong
    /// there). Runs on a thread of its own that ends right after, so no other code ever runs in the namespace; the
    /// caller's thread is not blocked.
    /// </summary>
    public static Task<SafeFileHandle> CreateAsync(Action inside) => CreateAsync(inside, existing: null);

    /// <summary>
    /// As <see cref="CreateAsync(Action)"/>, but with <paramref name="existing"/> (one <see cref="TryCreate"/> made, its
    /// loopback up) instead of a new namespace, when it is not null. The returned task owns it from now on.
    /// </summary>
    public static Task<SafeFileHandle> CreateAsync(Action inside, SafeFileHandle? existing)
    {
        var created = new TaskCompletionSource<SafeFileHandle>(TaskCreationOptions.RunContinuationsAsynchronously);
        var thread = new Thread(() =>
        {
            try
            {
                created.SetResult(CreateOnThisThread(inside, existing));
            }
            catch (Exception e)
            {
                created.SetException(e);
            }
        })
        { IsBackground = true, Name = "Nimbus network namespace" };
        thread.Start();
        return created.Task;
    }

    /// <summary>
    /// A new namespace with its loopback up, when this process may create network namespaces (root, or CAP_SYS_ADMIN);
    /// else null, and <paramref name="problem"/> says why and what to do, as a start that needs them reports it. The
    /// caller owns the namespace: it may give it to <see cref="CreateAsync(Action, SafeFileHandle?)"/>.
    /// </summary>
    public static SafeFileHandle? TryCreate(out string problem)
    {
        try
        {
            var network = CreateAsync(static () => { }).GetAwaiter().GetResult();
            problem = "";
            return network;
        }
        catch (Exception e) when (e is Hosting.StartupException or IOException)
        {
            problem = e.Message;
            return null;
        }
    }

    /// <summary>A descriptor of the calling thread's current network namespace.</summary>
    public static SafeFileHandle OpenCurrent()
    {
        var fd = Open(ThreadNamespace, ReadOnlyCloseOnExec);
        return fd < 0
            ? throw new IOException($"Could not open {ThreadNamespace} (errno {Marshal.GetLastPInvokeError()}).")
            : new SafeFileHandle(fd, ownsHandle: true);
    }

    /// <summary>Moves the calling thread into the namespace <paramref name="handle"/> refers to.</summary>
    public static void Enter(SafeFileHandle handle)
    {
        if (SetNamespace(handle, CloneNewNet) != 0)
        {
            throw new IOException($"setns into a network namespace failed (errno {Marshal.GetLastPInvokeError()}).");
        }
    }

    private static SafeFileHandle CreateOnThisThread(Action inside, SafeFileHandle? existing)
    {
        using var host = OpenCurrent();
        SafeFileHandle? created = existing;
        try
        {
            if (existing is not null)
            {
                Enter(existing);
                inside();
                return existing;
            }

            if (Unshare(CloneNewNet) != 0)
            {
                var errno = Marshal.GetLastPInvokeError();
                throw new Hosting.StartupException(
                    $"Nimbus:SandboxNetwork is 'isolated' (the default: a network namespace per instance), but this server may not create network namespaces (unshare(CLONE_NEWNET) failed, errno {errno}). "
                    + "Run Nimbus as root (it needs CAP_SYS_ADMIN), or set NIMBUS_SANDBOX_NETWORK=host to let instances share the host's network: its loopback services and each other's ports.");
            }

            created = OpenCurrent();
            BringLoopbackUp();
            inside();
            return created;
        }
        catch
        {
            created?.Dispose();
            throw;
        }
        finally
        {
            // Best effort: this thread ends right after, so a failure here cannot leak the namespace to other code.
            _ = SetNamespace(host, CloneNewNet);
        }
    }

    /// <summary>ioctl(SIOCSIFFLAGS) on "lo": a fresh namespace's loopback is down.</summary>
    private static unsafe void BringLoopbackUp()
    {
        var fd = Socket(InetFamily, DatagramType, 0);
        if (fd < 0)
        {
            throw new IOException($"socket() in a new network namespace failed (errno {Marshal.GetLastPInvokeError()}).");
        }

        try
        {
            // struct ifreq: char ifr_name[16]; then a union whose first member is short ifr_flags; 40 bytes in all.
            var request = stackalloc byte[40];
            new Span<byte>(request, 40).Clear();
            request[0] = (byte)'l';
            request[1] = (byte)'o';
            if (InterfaceControl(fd, GetInterfaceFlags, request) != 0)
            {
                throw new IOException($"SIOCGIFFLAGS on lo failed (errno {Marshal.GetLastPInvokeError()}).");
            }

            *(short*)(request + 16) |= InterfaceUp;
            if (InterfaceControl(fd, SetInterfaceFlags, request) != 0)
            {
                throw new IOException($"SIOCSIFFLAGS on lo failed (errno {Marshal.GetLastPInvokeError()}).");
            }
        }
        finally
        {
            _ = Close(fd);
        }
    }

    [LibraryImport("libc", EntryPoint = "unshare", SetLastError = true)]
    private static partial int Unshare(int flags);

    [LibraryImport("libc", EntryPoint = "setns", SetLastError = true)]
    private static partial int SetNamespace(SafeFileHandle fd, int type);

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "socket", SetLastError = true)]
    private static partial int Socket(int domain, int type, int protocol);

    [LibraryImport("libc", EntryPoint = "ioctl", SetLastError = true)]
    private static unsafe partial int InterfaceControl(int fd, nuint request, byte* argument);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int Close(int fd);
}
