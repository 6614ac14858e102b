using System.Security.Cryptography;

namespace Nimbus.Security;

/// <summary>
/// Random bytes for ids made on the request path (request ids, X-Ray trace and parent ids), taken from a per-thread
/// block that <see cref="RandomNumberGenerator"/> refills every 4 KiB. Each <c>RandomNumberGenerator.Fill</c> goes to
/// OpenSSL's generator, whose fork check makes a <c>getpid</c> syscall and takes its lock on every call: once per
/// invoke on the caller's path, before the event reaches the function. A block makes that once per 4 KiB.
/// </summary>
internal static class RandomBlock
{
    private const int BlockBytes = 4096;

    // Per thread: no lock on the hot path. A caller takes its bytes without awaiting in between, so a continuation on
    // another thread never sees half of another caller's take.
    [ThreadStatic]
    private static byte[]? _block;

    [ThreadStatic]
    private static int _next;

    /// <summary>Fills <paramref name="destination"/> (at most 4 KiB) with cryptographically strong random bytes.</summary>
    public static void Fill(Span<byte> destination)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(destination.Length, BlockBytes);
        var block = _block;
        if (block is null || _next + destination.Length > block.Length)
        {
            block = _block ??= new byte[BlockBytes];
            RandomNumberGenerator.Fill(block);
            _next = 0;
        }

        var taken = block.AsSpan(_next, destination.Length);
        taken.CopyTo(destination);

        // Bytes handed out are not kept where a later take or a memory dump of this block could read them again.
        taken.Clear();
        _next += destination.Length;
    }
}
