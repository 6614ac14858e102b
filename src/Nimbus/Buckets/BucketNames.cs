using System.Net;

namespace Nimbus.Buckets;

/// <summary>S3's general purpose bucket naming rules.</summary>
internal static class BucketNames
{
    /// <summary>Why <paramref name="name"/> is not a valid bucket name, or null when it is.</summary>
    public static string? Problem(string name)
    {
        if (name.Length is < 3 or > 63)
        {
            return "bucket names must be between 3 and 63 characters long";
        }

        foreach (var c in name)
        {
            if (!(char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c is '.' or '-'))
            {
                return "bucket names can consist only of lowercase letters, numbers, dots (.), and hyphens (-)";
            }
        }

        if (!char.IsAsciiLetterOrDigit(name[0]) || !char.IsAsciiLetterOrDigit(name[^1]))
        {
            return "bucket names must begin and end with a letter or number";
        }

        if (name.Contains("..", StringComparison.Ordinal) || name.Contains(".-", StringComparison.Ordinal) || name.Contains("-.", StringComparison.Ordinal))
        {
            return "bucket names must not contain two adjacent periods, or a period next to a hyphen";
        }

        if (name.Count(c => c == '.') == 3 && IPAddress.TryParse(name, out _))
        {
            return "bucket names must not be formatted as an IP address";
        }

        if (name.StartsWith("xn--", StringComparison.Ordinal) || name.StartsWith("sthree-", StringComparison.Ordinal)
            || name.EndsWith("-s3alias", StringComparison.Ordinal) || name.EndsWith("--ol-s3", StringComparison.Ordinal))
        {
            return "bucket names must not start with xn-- or sthree- nor end with -s3alias or --ol-s3";
        }

        return null;
    }
}
