using System.Globalization;
using System.Text.RegularExpressions;

namespace Nimbus.Metrics;

/// <summary>
/// The X-Ray trace header as Lambda passes it to a function (<c>_X_AMZN_TRACE_ID</c>, <c>Lambda-Runtime-Trace-Id</c>):
/// <c>Root=1-{8 hex epoch}-{24 hex};Parent={16 hex};Sampled={0|1}</c>. A caller's <c>X-Amzn-Trace-Id</c> keeps its
/// Root (and Sampled); the function's segment gets a new Parent id. Without a valid Root, a new trace starts.
/// </summary>
internal static partial class LambdaTraceHeader
{
    public const string HttpHeader = "X-Amzn-Trace-Id";

    /// <summary>Longest caller header considered; longer ones are ignored, not truncated.</summary>
    public const int MaxLength = 512;

    // "Root=1-" 8 "-" 24 ";Parent=" 16 ";Sampled=0"
    private const int NewTraceLength = 74;

    public static string ForFunction(string? callerHeader, TimeProvider time)
    {
        if (callerHeader is { Length: > 0 and <= MaxLength } && RootPattern().Match(callerHeader) is { Success: true } root)
        {
            var sampled = SampledPattern().Match(callerHeader) is { Success: true } s ? s.Groups[1].Value : "0";
            Span<byte> parent = stackalloc byte[8];
            Security.RandomBlock.Fill(parent);
            return $"Root={root.Groups[1].Value};Parent={Convert.ToHexStringLower(parent)};Sampled={sampled}";
        }

        return NewTrace(time);
    }

    /// <summary>
    /// A new, not sampled trace: <c>Root=1-{8 hex epoch seconds}-{24 hex};Parent={16 hex};Sampled=0</c>, built in
    /// one string (every Invoke without a caller's header makes one on its way to the function).
    /// </summary>
    public static string NewTrace(TimeProvider time)
    {
        var epoch = (uint)time.GetUtcNow().ToUnixTimeSeconds();
        Span<byte> random = stackalloc byte[20];
        Security.RandomBlock.Fill(random);
        Span<char> chars = stackalloc char[NewTraceLength];
        "Root=1-".CopyTo(chars);
        epoch.TryFormat(chars[7..], out _, "x8", CultureInfo.InvariantCulture);
        chars[15] = '-';
        Convert.TryToHexStringLower(random[..12], chars.Slice(16, 24), out _);
        ";Parent=".CopyTo(chars[40..]);
        Convert.TryToHexStringLower(random[12..], chars.Slice(48, 16), out _);
        ";Sampled=0".CopyTo(chars[64..]);
        return new string(chars);
    }

    /// <summary>
    /// The header an asynchronous event keeps for all its attempts: the caller's Root and Sampled, or a new Root
    /// (not sampled) when the caller sent none. Each attempt then passes it through <see cref="ForFunction"/>, which
    /// keeps that Root and gives the attempt its own Parent.
    /// </summary>
    public static string ForEvent(string? callerHeader, TimeProvider time)
    {
        var header = ForFunction(callerHeader, time);
        var parent = header.IndexOf(";Parent=", StringComparison.Ordinal);
        var sampled = header.IndexOf(";Sampled=", StringComparison.Ordinal);
        return parent < 0 || sampled < parent ? header : string.Concat(header.AsSpan(0, parent), header.AsSpan(sampled));
    }

    [GeneratedRegex(@"(?:^|;)\s*Root=(1-[0-9a-fA-F]{8}-[0-9a-fA-F]{24})(?:;|$)", RegexOptions.CultureInvariant)]
    private static partial Regex RootPattern();

    [GeneratedRegex(@"(?:^|;)\s*Sampled=([01?])(?:;|$)", RegexOptions.CultureInvariant)]
    private static partial Regex SampledPattern();
}
