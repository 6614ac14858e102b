using System.IO.Compression;
using System.Text;
using System.Text.Json.Nodes;

namespace Nimbus.IntegrationTests;

/// <summary>One hostile body: what was done to it, its bytes, and whether no server may accept it.</summary>
internal sealed record HostileBody(string Kind, byte[] Bytes, bool MustFail)
{
    public string Describe() => $"{Kind} ({Bytes.Length} bytes: {Preview(Bytes)})";

    public static string Preview(byte[] bytes)
    {
        var text = Encoding.UTF8.GetString(bytes, 0, Math.Min(bytes.Length, 160));
        var printable = string.Concat(text.Select(c => char.IsControl(c) ? '·' : c));
        return bytes.Length > 160 ? printable + "..." : printable;
    }
}

/// <summary>
/// Seeded generator of hostile inputs: the same seed yields the same sequence, so a failure reported with its seed
/// (NIMBUS_FUZZ_SEED) replays exactly. Mutations of a valid JSON body: truncation, flipped bytes, invalid UTF-8,
/// wrong types, unknown fields, deep nesting, non-objects, duplicate keys, huge numbers and strings, control
/// characters and lone surrogates.
/// </summary>
internal sealed class HostileInput(int seed)
{
    /// <summary>Deeper than any parser's default limit (System.Text.Json: 64).</summary>
    public const int DeepNesting = 10_000;

    private static readonly string[] NotObjects = ["", "null", "[]", "\"text\"", "42", "true", "{}", "[{}]", " ", "\u0000"];

    private readonly Random _random = new(seed);

    public int Seed { get; } = seed;

    /// <summary>The seed every run uses unless told otherwise, so the suite (and CI) is deterministic.</summary>
    public const int DefaultSeed = 1106857116;

    /// <summary>
    /// The seed of this run (printed by the tests): NIMBUS_FUZZ_SEED when it is a number, a fresh one when it is
    /// <c>random</c> (exploring; fix what it finds, then the fixed seed keeps proving it), else <see cref="DefaultSeed"/>.
    /// </summary>
    public static int RunSeed { get; } = Environment.GetEnvironmentVariable("NIMBUS_FUZZ_SEED") switch
    {
        var text when int.TryParse(text, out var seed) => seed,
        "random" => Random.Shared.Next(1, int.MaxValue),
        _ => DefaultSeed,
    };

    /// <summary>How many mutations each surface gets: NIMBUS_FUZZ_COUNT when set, otherwise <paramref name="ci"/>.</summary>
    public static int Count(int ci) =>
        int.TryParse(Environment.GetEnvironmentVariable("NIMBUS_FUZZ_COUNT"), out var count) && count > 0 ? count : ci;

    /// <summary>A generator for one surface, so surfaces do not shift each other's sequences.</summary>
    public static HostileInput For(string surface) =>
        new(unchecked(RunSeed + (int)StableHash(surface)));

    public int Next(int max) => _random.Next(max);

    public T Pick<T>(IReadOnlyList<T> items) => items[_random.Next(items.Count)];

    public string Token(int length = 8) =>
        string.Concat(Enumerable.Range(0, length).Select(_ => "abcdefghijklmnopqrstuvwxyz0123456789"[_random.Next(36)]));

    /// <summary><paramref name="count"/> mutations of <paramref name="validJson"/> (a JSON object).</summary>
    public IEnumerable<HostileBody> Mutations(string validJson, int count)
    {
        for (var i = 0; i < count; i++)
        {
            yield return Mutate(validJson);
        }
    }

    public HostileBody Mutate(string validJson)
    {
        var valid = Encoding.UTF8.GetBytes(validJson);
        switch (_random.Next(12))
        {
            case 0 when valid.Length > 2:
                // A strict, non-empty prefix of an object is never valid JSON.
                return new("truncated", valid[..(1 + _random.Next(valid.Length - 1))], true);
            case 1:
                {
                    var bytes = (byte[])valid.Clone();
                    for (var n = 1 + _random.Next(3); n > 0; n--)
                    {
                        bytes[_random.Next(bytes.Length)] = (byte)_random.Next(256);
                    }

                    return new("flipped bytes", bytes, false);
                }

            case 2:
                return new("invalid UTF-8", InsertIntoString(valid, Pick(InvalidUtf8)), true);
            case 3:
                return new("wrong type", Encoding.UTF8.GetBytes(ReplaceValue(validJson, WrongValue())), false);
            case 4:
                return new("unknown field", Encoding.UTF8.GetBytes(AddField(validJson, "Fuzz" + Token(6), WrongValue())), false);
            case 5:
                {
                    var open = _random.Next(2) == 0 ? "[" : "{\"a\":";
                    var close = open == "[" ? "]" : "}";
                    var deep = string.Concat(Enumerable.Repeat(open, DeepNesting)) + "1" + string.Concat(Enumerable.Repeat(close, DeepNesting));
                    return new("deep nesting", Encoding.UTF8.GetBytes(ReplaceValue(validJson, JsonRaw(deep))), true);
                }

            case 6:
                return new("not an object", Encoding.UTF8.GetBytes(Pick(NotObjects)), false);
            case 7:
                {
                    var node = JsonNode.Parse(validJson)!.AsObject();
                    var first = node.FirstOrDefault();
                    var text = first.Key is null
                        ? validJson
                        : validJson.TrimEnd()[..^1] + $",\"{first.Key}\":{WrongValue()}}}";
                    return new("duplicate key", Encoding.UTF8.GetBytes(text), false);
                }

            case 8:
                return new("huge number", Encoding.UTF8.GetBytes(ReplaceValue(validJson, JsonRaw(Pick(HugeNumbers)))), false);
            case 9:
                return new("huge string", Encoding.UTF8.GetBytes(ReplaceValue(validJson, JsonValue.Create(new string('x', 64 * 1024 + _random.Next(256 * 1024))).ToJsonString())), false);
            case 10:
                return new("control characters", Encoding.UTF8.GetBytes(ReplaceValue(validJson, Pick(ControlStrings))), false);
            default:
                return new("trailing garbage", Encoding.UTF8.GetBytes(validJson + Pick(TrailingGarbage)), true);
        }
    }

    /// <summary>Invalid UTF-8 sequences: a stray continuation byte, a truncated sequence, overlong encodings, 0xFF.</summary>
    public static readonly byte[][] InvalidUtf8 =
    [
        [0xFF], [0xC3, 0x28], [0x80], [0xE2, 0x82], [0xC0, 0xAF], [0xED, 0xA0, 0x80], [0xF8, 0x88, 0x80, 0x80, 0x80],
    ];

    private static readonly string[] HugeNumbers =
    [
        "1e400", "-1e400", "99999999999999999999999999999999", "-99999999999999999999", "0.0000000000000000000000000001",
        "2147483648", "-2147483649", "9223372036854775808", "1.5", "-0", "1E+2",
    ];

    private static readonly string[] ControlStrings =
    [
        "\"\\u0000\"", "\"a\\u0000b\"", "\"\\ud800\"", "\"\\udfff\\ud800\"", "\"\\u0001\\u001f\\u007f\"", "\"../../fuzzescape\"",
        "\"\\r\\nX-Injected: 1\"", "\"%00%2e%2e%2f\"", "\"\u202e\u200b\"",
    ];

    private static readonly string[] TrailingGarbage = ["}", "]", ",", "{}", "x", "\u0000", "{\"a\":1}"];

    /// <summary>A zip whose entries are (name, content, Unix mode with file type).</summary>
    public static byte[] Zip(params (string Name, byte[] Content, int Mode)[] entries)
    {
        using var buffer = new MemoryStream();
        using (var archive = new ZipArchive(buffer, ZipArchiveMode.Create, leaveOpen: true))
        {
            foreach (var (name, content, mode) in entries)
            {
                var entry = archive.CreateEntry(name, CompressionLevel.Fastest);
                entry.ExternalAttributes = unchecked(mode << 16);
                using var target = entry.Open();
                target.Write(content);
            }
        }

        return buffer.ToArray();
    }

    public const int RegularFile = 0x81A4; // S_IFREG | 0644

    public const int Symlink = 0xA1FF; // S_IFLNK | 0777

    /// <summary>
    /// A zip of one deflated entry of <paramref name="realBytes"/> zeros whose headers declare
    /// <paramref name="declaredBytes"/>: a bomb that lies about its size.
    /// </summary>
    public static byte[] LyingZip(string name, int realBytes, uint declaredBytes)
    {
        var zip = Zip((name, new byte[realBytes], RegularFile));
        for (var i = 0; i + 4 <= zip.Length; i++)
        {
            if (zip[i] == 'P' && zip[i + 1] == 'K' && zip[i + 2] == 3 && zip[i + 3] == 4)
            {
                BitConverter.TryWriteBytes(zip.AsSpan(i + 22, 4), declaredBytes);
            }
            else if (zip[i] == 'P' && zip[i + 1] == 'K' && zip[i + 2] == 1 && zip[i + 3] == 2)
            {
                BitConverter.TryWriteBytes(zip.AsSpan(i + 24, 4), declaredBytes);
            }
        }

        return zip;
    }

    /// <summary>A zip of one entry whose <paramref name="bytes"/> zeros deflate to almost nothing (a ratio bomb).</summary>
    public static byte[] ZerosZip(string name, long bytes)
    {
        using var buffer = new MemoryStream();
        using (var archive = new ZipArchive(buffer, ZipArchiveMode.Create, leaveOpen: true))
        {
            var entry = archive.CreateEntry(name, CompressionLevel.Optimal);
            using var target = entry.Open();
            var zeros = new byte[1024 * 1024];
            for (long written = 0; written < bytes; written += zeros.Length)
            {
                target.Write(zeros, 0, (int)Math.Min(zeros.Length, bytes - written));
            }
        }

        return buffer.ToArray();
    }

    private string WrongValue() => _random.Next(10) switch
    {
        0 => "12345",
        1 => "-1",
        2 => "true",
        3 => "null",
        4 => "[]",
        5 => "{}",
        6 => "[1,\"a\",{}]",
        7 => "{\"Nested\":{\"Deeper\":[null]}}",
        8 => "\"" + Token(12) + "\"",
        _ => "\"\"",
    };

    private static string JsonRaw(string raw) => raw;

    /// <summary>Replaces one value (at any depth) of the object with the raw JSON <paramref name="raw"/>.</summary>
    private string ReplaceValue(string validJson, string raw)
    {
        const string placeholder = "\u0001FUZZ\u0001";
        var root = JsonNode.Parse(validJson)!;
        var slots = new List<(JsonNode Parent, object Key)>();
        Collect(root, slots);
        if (slots.Count == 0)
        {
            return AddField(validJson, "Fuzz" + Token(6), raw);
        }

        var (parent, key) = Pick(slots);
        if (parent is JsonObject obj)
        {
            obj[(string)key] = placeholder;
        }
        else
        {
            ((JsonArray)parent)[(int)key] = placeholder;
        }

        return root.ToJsonString().Replace(JsonValue.Create(placeholder).ToJsonString(), raw, StringComparison.Ordinal);
    }

    private static void Collect(JsonNode node, List<(JsonNode, object)> slots)
    {
        if (node is JsonObject obj)
        {
            foreach (var (key, value) in obj.ToList())
            {
                slots.Add((obj, key));
                if (value is not null)
                {
                    Collect(value, slots);
                }
            }
        }
        else if (node is JsonArray array)
        {
            for (var i = 0; i < array.Count; i++)
            {
                slots.Add((array, i));
                if (array[i] is { } item)
                {
                    Collect(item, slots);
                }
            }
        }
    }

    private static string AddField(string validJson, string name, string raw)
    {
        var trimmed = validJson.TrimEnd();
        var inner = trimmed[1..^1].Trim();
        return "{" + inner + (inner.Length == 0 ? "" : ",") + $"\"{name}\":{raw}}}";
    }

    /// <summary>Puts <paramref name="bytes"/> inside the first string value of the body (or a new field).</summary>
    private static byte[] InsertIntoString(byte[] valid, byte[] bytes)
    {
        var colon = Array.IndexOf(valid, (byte)':');
        var quote = colon < 0 ? -1 : Array.IndexOf(valid, (byte)'"', colon);
        if (quote < 0)
        {
            return [.. "{\"Fuzz\":\""u8.ToArray(), .. bytes, .. "\"}"u8.ToArray()];
        }

        return [.. valid[..(quote + 1)], .. bytes, .. valid[(quote + 1)..]];
    }

    private static uint StableHash(string text)
    {
        var hash = 2166136261u;
        foreach (var c in text)
        {
            hash = (hash ^ c) * 16777619u;
        }

        return hash;
    }
}
