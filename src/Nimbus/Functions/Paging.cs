using System.Globalization;
using System.Text;

namespace Nimbus.Functions;

/// <summary>Marker/MaxItems paging of the Lambda list operations over an ordered list.</summary>
internal static class Paging
{
    public static LambdaError? ValidateMaxItems(int? maxItems) =>
        maxItems is < 1 or > 10_000
            ? LambdaError.ValidationFailed(maxItems.Value.ToString(CultureInfo.InvariantCulture), "maxItems", "Member must have value between 1 and 10000")
            : null;

    /// <summary>One page (at most 50 items); the marker is the base64 key of the last item of the previous page.</summary>
    public static LambdaResult<(IReadOnlyList<T> Items, string? NextMarker)> Page<T>(
        IReadOnlyList<T> all, Func<T, string> key, string? marker, int? maxItems, string operation)
    {
        if (ValidateMaxItems(maxItems) is { } maxItemsError)
        {
            return maxItemsError;
        }

        var start = 0;
        if (marker is { Length: > 0 })
        {
            string after;
            try
            {
                after = Encoding.UTF8.GetString(Convert.FromBase64String(marker));
            }
            catch (FormatException)
            {
                after = "";
            }

            var index = -1;
            for (var i = 0; i < all.Count; i++)
            {
                if (key(all[i]) == after)
                {
                    index = i;
                    break;
                }
            }

            if (index < 0)
            {
                return LambdaError.InvalidParameter($"The Marker is not valid: pass the NextMarker of a previous {operation} response unchanged.");
            }

            start = index + 1;
        }

        var limit = Math.Min(maxItems ?? LambdaLimits.MaxListItems, LambdaLimits.MaxListItems);
        IReadOnlyList<T> items = [.. all.Skip(start).Take(limit)];
        var next = start + items.Count < all.Count ? Convert.ToBase64String(Encoding.UTF8.GetBytes(key(items[^1]))) : null;
        return (items, next);
    }
}
