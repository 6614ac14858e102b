using System.Text;

namespace Nimbus.Security;

/// <summary>
/// IAM policy variables in a statement's <c>Resource</c> and in condition values: <c>${aws:username}</c> (any key
/// Nimbus supplies, <see cref="AuthorizationContext.ValuesOf"/>) is replaced by the request's value, and
/// <c>${*}</c>, <c>${?}</c>, <c>${$}</c> by a literal <c>*</c>, <c>?</c>, <c>$</c>. A variable whose key the request
/// lacks (<c>${aws:username}</c> for a role session) leaves nothing to match: the element does not match, as IAM
/// evaluates it. A <c>${key, 'default'}</c> default is used then.
/// </summary>
internal static class PolicyVariables
{
    public static bool HasVariables(string text) => text.Contains("${", StringComparison.Ordinal);

    /// <summary><paramref name="text"/> with its variables replaced, or null when one has no value for this request.</summary>
    public static string? Substitute(string text, Principal principal, AuthorizationContext? context)
    {
        if (!HasVariables(text))
        {
            return text;
        }

        var result = new StringBuilder(text.Length + 16);
        var at = 0;
        while (at < text.Length)
        {
            var start = text.IndexOf("${", at, StringComparison.Ordinal);
            var end = start < 0 ? -1 : text.IndexOf('}', start + 2);
            if (start < 0 || end < 0)
            {
                result.Append(text, at, text.Length - at);
                break;
            }

            result.Append(text, at, start - at);
            var inner = text[(start + 2)..end];
            var value = Resolve(inner, principal, context);
            if (value is null)
            {
                return null;
            }

            result.Append(value);
            at = end + 1;
        }

        return result.ToString();
    }

    private static string? Resolve(string inner, Principal principal, AuthorizationContext? context)
    {
        if (inner is "*" or "?" or "$")
        {
            return inner;
        }

        string? fallback = null;
        var comma = inner.IndexOf(',', StringComparison.Ordinal);
        if (comma >= 0)
        {
            var rest = inner[(comma + 1)..].Trim();
            if (rest.Length >= 2 && rest[0] == '\'' && rest[^1] == '\'')
            {
                fallback = rest[1..^1];
            }

            inner = inner[..comma];
        }

        var key = inner.Trim();
        return (AuthorizationContext.IsKnownKey(key) ? AuthorizationContext.ValuesOf(key, principal, context) : null) is [var first, ..]
            ? first
            : fallback;
    }
}
