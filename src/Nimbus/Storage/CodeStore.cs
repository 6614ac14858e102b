using System.Collections.Concurrent;
using System.IO.Compression;
using System.Security.Cryptography;
using Nimbus.Functions;

namespace Nimbus.Storage;

/// <summary>The identity of a stored deployment package.</summary>
internal readonly record struct CodeInfo(string Sha256Hex, string Sha256Base64, long Size);

/// <summary>
/// Content-addressed store of deployment packages: <c>code/zips/&lt;sha256&gt;.zip</c>, each unpacked once into the
/// read-only directory <c>code/unpacked/&lt;sha256&gt;</c> that sandboxes mount at /var/task. A hash's content never
/// changes, so readers need no locks once a directory exists.
/// </summary>
internal sealed class CodeStore
{
    private const UnixFileMode ReadOnlyFile = UnixFileMode.UserRead | UnixFileMode.GroupRead | UnixFileMode.OtherRead;
    private const UnixFileMode Executable = UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute;

    /// <summary>Above any ratio deflate reaches (about 1,032:1): an entry claiming more lies about its size.</summary>
    internal const long MaxCompressionRatio = 1_100;

    /// <summary>
    /// Most entries (files and directories) a package may hold. Lambda documents none; 100,000 files in 250 MB
    /// unzipped average 2.6 KB each, beyond any real package (a large node_modules tree holds tens of thousands), so
    /// more is a zip built to spend the node's inodes and time unpacking.
    /// </summary>
    internal const int MaxZipEntries = 100_000;

    private readonly string _zips;
    private readonly string _unpacked;
    private readonly string _layers;

    // One unpack per hash at a time; completed entries stay so later callers return at once.
    private readonly ConcurrentDictionary<string, Lazy<Task<string>>> _unpacking = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Lazy<Task<string>>> _merging = new(StringComparer.Ordinal);

    public CodeStore(string dataDirectory)
    {
        _zips = Path.Combine(dataDirectory, "code", "zips");
        _unpacked = Path.Combine(dataDirectory, "code", "unpacked");
        _layers = Path.Combine(dataDirectory, "code", "opt");
        Directory.CreateDirectory(_zips);
        Directory.CreateDirectory(_unpacked);
        Directory.CreateDirectory(_layers);
    }

    /// <summary>Validates a zip as Lambda does, stores it durably and unpacks it.</summary>
    public async Task<(CodeInfo Info, LambdaError? Error)> PutAsync(byte[] zip, CancellationToken cancellationToken)
    {
        if (zip.LongLength > LambdaLimits.MaxZipBytes)
        {
            return (default, LambdaError.RequestBodyTooLarge("CreateFunction", LambdaLimits.MaxCreateRequestBytes));
        }

        var error = Validate(zip);
        if (error is not null)
        {
            return (default, error);
        }

        var hash = SHA256.HashData(zip);
        var info = new CodeInfo(Convert.ToHexStringLower(hash), Convert.ToBase64String(hash), zip.LongLength);
        var path = ZipPath(info.Sha256Hex);
        var stored = File.Exists(path);
        if (!stored)
        {
            var temporary = $"{path}.{Guid.NewGuid():N}.tmp";
            await using (var file = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, 81920, FileOptions.Asynchronous))
            {
                await file.WriteAsync(zip, cancellationToken).ConfigureAwait(false);
                file.Flush(flushToDisk: true);
            }

            File.Move(temporary, path, overwrite: true);
        }

        try
        {
            await GetDirectoryAsync(info.Sha256Hex).ConfigureAwait(false);
        }
        catch (Exception e) when (e is InvalidDataException or IOException)
        {
            // A package that passed validation but still does not unpack (a CRC that does not match, an entry whose
            // data is longer than its header says): refused, and forgotten so nothing ever mounts it.
            _unpacking.TryRemove(info.Sha256Hex, out _);
            if (!stored)
            {
                File.Delete(path);
            }

            return (default, LambdaError.InvalidParameter($"Could not unzip uploaded file: {e.Message} Check the archive (for example with `unzip -t`), then upload it again."));
        }

        return (info, null);
    }

    public bool Exists(string sha256Hex) => IsHash(sha256Hex) && File.Exists(ZipPath(sha256Hex));

    public Stream OpenZip(string sha256Hex) =>
        new FileStream(ZipPath(sha256Hex), FileMode.Open, FileAccess.Read, FileShare.Read, 81920, FileOptions.Asynchronous);

    /// <summary>The unpacked, read-only directory of a package, unpacking it on first use on this node.</summary>
    public Task<string> GetDirectoryAsync(string sha256Hex) =>
        _unpacking.GetOrAdd(sha256Hex, hash => new Lazy<Task<string>>(() => Task.Run(() => Unpack(hash)))).Value;

    /// <summary>
    /// The read-only /opt of a function: its layers' zips unpacked one over the other in order (a later layer's
    /// file wins), once per node for each distinct list of layers: <c>code/opt/&lt;sha256 of the list&gt;</c>.
    /// </summary>
    public Task<string> GetLayersDirectoryAsync(IReadOnlyList<string> sha256Hexes)
    {
        var key = Convert.ToHexStringLower(SHA256.HashData(System.Text.Encoding.ASCII.GetBytes(string.Join(',', sha256Hexes))));
        return _merging.GetOrAdd(key, k => new Lazy<Task<string>>(() => Task.Run(() => Merge(k, sha256Hexes)))).Value;
    }

    private string Merge(string key, IReadOnlyList<string> sha256Hexes)
    {
        var target = Path.Combine(_layers, key);
        if (Directory.Exists(target))
        {
            return target;
        }

        var staging = Path.Combine(_layers, $".{key}.{Guid.NewGuid():N}");
        Directory.CreateDirectory(staging);
        foreach (var sha256Hex in sha256Hexes)
        {
            ZipFile.ExtractToDirectory(ZipPath(sha256Hex), staging, overwriteFiles: true);
        }

        MakeReadOnly(new DirectoryInfo(staging));
        try
        {
            Directory.Move(staging, target);
        }
        catch (IOException) when (Directory.Exists(target))
        {
            MakeWritable(new DirectoryInfo(staging));
            Directory.Delete(staging, recursive: true);
        }

        return target;
    }

    private string Unpack(string sha256Hex)
    {
        var target = Path.Combine(_unpacked, sha256Hex);
        if (Directory.Exists(target))
        {
            return target;
        }

        var staging = Path.Combine(_unpacked, $".{sha256Hex}.{Guid.NewGuid():N}");
        try
        {
            ZipFile.ExtractToDirectory(ZipPath(sha256Hex), staging);
        }
        catch (Exception e) when (e is InvalidDataException or IOException)
        {
            if (Directory.Exists(staging))
            {
                Directory.Delete(staging, recursive: true);
            }

            throw;
        }

        MakeReadOnly(new DirectoryInfo(staging));
        try
        {
            Directory.Move(staging, target);
        }
        catch (IOException) when (Directory.Exists(target))
        {
            // Another node process unpacked the same content first; contents are identical by hash.
            MakeWritable(new DirectoryInfo(staging));
            Directory.Delete(staging, recursive: true);
        }

        return target;
    }

    private static LambdaError? TooManyEntries(long count) => LambdaError.InvalidParameter(
        $"Could not unzip uploaded file. The archive holds {count} entries, more than the {MaxZipEntries} a deployment package may have. Remove unneeded files (or bundle them) and upload again.");

    /// <summary>
    /// The name of an entry whose data is longer than its central directory header declares (deflated data that
    /// inflates past the declared size, stored data longer than it), or null. .NET's ZipArchive silently truncates
    /// such an entry to the declared size; Lambda refuses the package, and so does Nimbus. Each entry is inflated at
    /// most one byte past its declared size, which the caller has already capped.
    /// </summary>
    internal static string? OverlongEntry(byte[] zip)
    {
        const int EndRecordSize = 22;
        var span = zip.AsSpan();
        long directory = -1;
        for (var at = zip.Length - EndRecordSize; at >= 0 && at >= zip.Length - EndRecordSize - ushort.MaxValue; at--)
        {
            if (U32(span, at) != 0x06054b50)
            {
                continue;
            }

            directory = U32(span, at + 16);
            if (directory == uint.MaxValue && at - 20 >= 0 && U32(span, at - 20) == 0x07064b50)
            {
                var end = (long)System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(span[(at - 12)..]);
                directory = end >= 0 && end + 56 <= zip.Length && U32(span, (int)end) == 0x06064b50
                    ? (long)System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(span[((int)end + 48)..])
                    : -1;
            }

            break;
        }

        var position = directory;
        var buffer = new byte[81920];
        while (position >= 0 && position + 46 <= zip.Length && U32(span, (int)position) == 0x02014b50)
        {
            var at = (int)position;
            var method = System.Buffers.Binary.BinaryPrimitives.ReadUInt16LittleEndian(span[(at + 10)..]);
            long compressed = U32(span, at + 20), declared = U32(span, at + 24), local = U32(span, at + 42);
            int nameLength = U16(span, at + 28), extraLength = U16(span, at + 30), commentLength = U16(span, at + 32);
            if (at + 46 + nameLength + extraLength > zip.Length)
            {
                return null;
            }

            var name = System.Text.Encoding.UTF8.GetString(span.Slice(at + 46, nameLength));
            ReadZip64Sizes(span.Slice(at + 46 + nameLength, extraLength), ref declared, ref compressed, ref local);
            position += 46 + nameLength + extraLength + commentLength;
            if (local < 0 || local + 30 > zip.Length || U32(span, (int)local) != 0x04034b50)
            {
                continue;
            }

            var data = local + 30 + U16(span, (int)local + 26) + U16(span, (int)local + 28);
            if (compressed < 0 || data + compressed > zip.Length)
            {
                continue;
            }

            if (method == 0 && compressed > declared)
            {
                return name;
            }

            if (method != 8)
            {
                continue;
            }

            try
            {
                using var inflate = new DeflateStream(new MemoryStream(zip, (int)data, (int)compressed, writable: false), CompressionMode.Decompress);
                long total = 0;
                int read;
                while (total <= declared && (read = inflate.Read(buffer, 0, (int)Math.Min(buffer.Length, declared - total + 1))) > 0)
                {
                    total += read;
                }

                if (total > declared)
                {
                    return name;
                }
            }
            catch (InvalidDataException)
            {
                // Damaged deflate data: ZipArchive's own CRC and length checks refuse it when it unpacks.
            }
        }

        return null;

        static long U32(ReadOnlySpan<byte> bytes, int at) => System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(bytes[at..]);

        static int U16(ReadOnlySpan<byte> bytes, int at) => System.Buffers.Binary.BinaryPrimitives.ReadUInt16LittleEndian(bytes[at..]);
    }

    /// <summary>A central directory entry's zip64 extra field (tag 1): the sizes and offset its 32-bit fields saturate, in that order.</summary>
    private static void ReadZip64Sizes(ReadOnlySpan<byte> extra, ref long declared, ref long compressed, ref long local)
    {
        var at = 0;
        while (at + 4 <= extra.Length)
        {
            var tag = System.Buffers.Binary.BinaryPrimitives.ReadUInt16LittleEndian(extra[at..]);
            var size = System.Buffers.Binary.BinaryPrimitives.ReadUInt16LittleEndian(extra[(at + 2)..]);
            if (tag == 1)
            {
                var field = extra.Slice(at + 4, Math.Min(size, extra.Length - at - 4));
                var next = 0;
                declared = Widen(field, declared, ref next);
                compressed = Widen(field, compressed, ref next);
                local = Widen(field, local, ref next);
                return;
            }

            at += 4 + size;
        }

        static long Widen(ReadOnlySpan<byte> field, long value, ref int next)
        {
            if (value != uint.MaxValue || next + 8 > field.Length)
            {
                return value;
            }

            value = (long)Math.Min(System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(field[next..]), long.MaxValue);
            next += 8;
            return value;
        }
    }

    /// <summary>
    /// The entry count the end-of-central-directory record declares (zip64 too), read before the central directory
    /// is: a package declaring too many entries is refused without allocating them. Null when the record is not found
    /// (ZipArchive then reports the damage).
    /// </summary>
    internal static long? DeclaredEntryCount(ReadOnlySpan<byte> zip)
    {
        const int EndRecordSize = 22;
        for (var at = zip.Length - EndRecordSize; at >= 0 && at >= zip.Length - EndRecordSize - ushort.MaxValue; at--)
        {
            if (System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(zip[at..]) != 0x06054b50)
            {
                continue;
            }

            var count = System.Buffers.Binary.BinaryPrimitives.ReadUInt16LittleEndian(zip[(at + 10)..]);
            if (count != ushort.MaxValue)
            {
                return count;
            }

            // Zip64: the locator (20 bytes) right before the record points at the zip64 end record.
            var locator = at - 20;
            if (locator < 0 || System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(zip[locator..]) != 0x07064b50)
            {
                return count;
            }

            var offset = System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(zip[(locator + 8)..]);
            if (offset > (ulong)(zip.Length - 40) || System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(zip[(int)offset..]) != 0x06064b50)
            {
                return null;
            }

            return (long)Math.Min(System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(zip[((int)offset + 32)..]), long.MaxValue);
        }

        return null;
    }

    private static LambdaError? Validate(byte[] zip)
    {
        if (DeclaredEntryCount(zip) is long declared && declared > MaxZipEntries)
        {
            return TooManyEntries(declared);
        }

        try
        {
            using var archive = new ZipArchive(new MemoryStream(zip, writable: false), ZipArchiveMode.Read);
            long unzipped = 0;
            var files = new HashSet<string>(StringComparer.Ordinal);
            var directories = new HashSet<string>(StringComparer.Ordinal);
            if (archive.Entries.Count > MaxZipEntries)
            {
                return TooManyEntries(archive.Entries.Count);
            }

            foreach (var entry in archive.Entries)
            {
                unzipped += entry.Length;
                var name = entry.FullName.Replace('\\', '/');
                if (name.StartsWith('/') || name.Split('/').Contains("..") || name.Contains('\0', StringComparison.Ordinal))
                {
                    return LambdaError.InvalidParameter($"Could not unzip uploaded file. The entry '{entry.FullName}' points outside the package. Remove it and upload again.");
                }

                // Deflate cannot compress better than about 1,032:1, so a higher ratio is a header that lies about its size.
                if (entry.CompressedLength > 0 && entry.Length / entry.CompressedLength > MaxCompressionRatio)
                {
                    return LambdaError.InvalidParameter($"Could not unzip uploaded file. The entry '{entry.FullName}' claims {entry.Length} bytes from {entry.CompressedLength} compressed bytes, more than {MaxCompressionRatio}:1; the archive is damaged or a zip bomb. Rebuild it and upload again.");
                }

                var segments = name.TrimEnd('/').Split('/', StringSplitOptions.RemoveEmptyEntries);
                for (var i = 1; i < segments.Length; i++)
                {
                    directories.Add(string.Join('/', segments[..i]));
                }

                var normalized = string.Join('/', segments);
                if (name.EndsWith('/'))
                {
                    directories.Add(normalized);
                }
                else if (normalized.Length > 0 && !files.Add(normalized))
                {
                    return LambdaError.InvalidParameter($"Could not unzip uploaded file. The entry '{entry.FullName}' appears twice in the archive. Remove the duplicate and upload again.");
                }
            }

            if (files.FirstOrDefault(directories.Contains) is { } conflict)
            {
                return LambdaError.InvalidParameter($"Could not unzip uploaded file. '{conflict}' is both a file and a directory in the archive. Rename one and upload again.");
            }

            if (unzipped >= LambdaLimits.MaxUnzippedBytes)
            {
                return LambdaError.InvalidParameter($"Unzipped size must be smaller than {LambdaLimits.MaxUnzippedBytes} bytes");
            }

            if (OverlongEntry(zip) is { } overlong)
            {
                return LambdaError.InvalidParameter($"Could not unzip uploaded file. The entry '{overlong}' holds more data than its header declares; the archive is damaged or crafted. Rebuild it and upload again.");
            }

            return null;
        }
        catch (InvalidDataException)
        {
            return LambdaError.InvalidParameter("Could not unzip uploaded file. Please check your file, then try to upload again.");
        }
    }

    private static void MakeReadOnly(DirectoryInfo directory)
    {
        foreach (var file in directory.EnumerateFiles("*", SearchOption.AllDirectories))
        {
            var executable = (file.UnixFileMode & UnixFileMode.UserExecute) != 0;
            file.UnixFileMode = executable ? ReadOnlyFile | Executable : ReadOnlyFile;
        }

        foreach (var sub in directory.EnumerateDirectories("*", SearchOption.AllDirectories))
        {
            sub.UnixFileMode = ReadOnlyFile | Executable;
        }

        directory.UnixFileMode = ReadOnlyFile | Executable;
    }

    private static void MakeWritable(DirectoryInfo directory)
    {
        directory.UnixFileMode |= UnixFileMode.UserWrite;
        foreach (var sub in directory.EnumerateDirectories("*", SearchOption.AllDirectories))
        {
            sub.UnixFileMode |= UnixFileMode.UserWrite;
        }
    }

    private string ZipPath(string sha256Hex) => Path.Combine(_zips, sha256Hex + ".zip");

    private static bool IsHash(string value) => value.Length == 64 && value.All(char.IsAsciiHexDigitLower);
}
