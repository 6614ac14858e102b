using System.Globalization;
using System.Text;

namespace Nimbus.Storage;

/// <summary>
/// The persisted form of an object's parts (buckets.db <c>objects.parts</c>): <c>number:size</c> per part, in order,
/// joined by commas. Frozen: objects already stored are read back with it.
/// </summary>
internal static class ObjectParts
{
    public static string Format(IReadOnlyList<ObjectPart> parts)
    {
        var text = new StringBuilder(parts.Count * 12);
        foreach (var part in parts)
        {
            if (text.Length > 0)
            {
                text.Append(',');
            }

            text.Append(CultureInfo.InvariantCulture, $"{part.Number}:{part.Size}");
        }

        return text.ToString();
    }

    public static IReadOnlyList<ObjectPart> Parse(string text)
    {
        var parts = new List<ObjectPart>();
        foreach (var item in text.Split(','))
        {
            var colon = item.IndexOf(':', StringComparison.Ordinal);
            parts.Add(new ObjectPart(
                int.Parse(item.AsSpan(0, colon), NumberStyles.None, CultureInfo.InvariantCulture),
                long.Parse(item.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture)));
        }

        return parts;
    }
}
