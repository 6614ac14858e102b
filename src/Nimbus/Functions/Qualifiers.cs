namespace Nimbus.Functions;

/// <summary>What a qualifier names: <c>$LATEST</c>, a published version (digits) or an alias (anything else).</summary>
internal static class Qualifiers
{
    public static bool IsLatest(string? qualifier) => qualifier is null or FunctionRecord.Latest;

    /// <summary>A published version number: ASCII digits only (alias names may not be all digits).</summary>
    public static bool IsVersion(string qualifier) =>
        qualifier.Length is > 0 and <= 10 && qualifier.All(char.IsAsciiDigit);

    public static bool IsAlias(string? qualifier) => qualifier is not null && !IsLatest(qualifier) && !IsVersion(qualifier);
}
