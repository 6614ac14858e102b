namespace Nimbus.Http;

/// <summary>
/// A request body already read whole into memory (by SigV4 authentication, to hash it), put back as the request's
/// body: handlers read it again from here, and <see cref="RequestBody"/> takes the bytes without a copy.
/// </summary>
internal sealed class BufferedRequestBody(byte[] bytes) : MemoryStream(bytes, 0, bytes.Length, writable: false, publiclyVisible: true)
{
    /// <summary>The whole body; shared, not to be changed.</summary>
    public byte[] Bytes { get; } = bytes;
}
