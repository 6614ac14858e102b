using Microsoft.Extensions.Options;

namespace Nimbus.Security;

/// <summary>Authentication settings of a node (bound from the "Nimbus" section; each has a row in the README's table).</summary>
public sealed record SecurityOptions
{
    /// <summary>Accept any well-formed signature from any key, as root. For local play only; announced loudly at start.</summary>
    public bool Dev { get; init; }

    /// <summary>The root access key id; with <see cref="RootSecretAccessKey"/>, replaces the generated root key.</summary>
    public string? RootAccessKeyId { get; init; }

    /// <summary>The root secret access key.</summary>
    public string? RootSecretAccessKey { get; init; }

    /// <summary>Most requests per second one access key may send (0 = unlimited).</summary>
    public int RequestsPerSecondPerKey { get; init; }

    /// <summary>
    /// How long the execution-role credentials of a function instance are valid (AWS's longest role session, 12 h);
    /// instances are retired before theirs expire. Shorter values are for tests.
    /// </summary>
    public TimeSpan InstanceCredentialLifetime { get; init; } = TimeSpan.FromHours(12);
}

internal sealed class SecurityOptionsValidator : IValidateOptions<SecurityOptions>
{
    public ValidateOptionsResult Validate(string? name, SecurityOptions options)
    {
        var errors = new List<string>();
        if (string.IsNullOrEmpty(options.RootAccessKeyId) != string.IsNullOrEmpty(options.RootSecretAccessKey))
        {
            errors.Add("Set both NIMBUS_ROOT_ACCESS_KEY_ID and NIMBUS_ROOT_SECRET_ACCESS_KEY, or neither (a root key is then generated).");
        }

        if (options.RootAccessKeyId is { Length: > 0 } id && (id.Length > 128 || id.Any(c => !char.IsAsciiLetterOrDigit(c))))
        {
            errors.Add("NIMBUS_ROOT_ACCESS_KEY_ID must be 1-128 letters and digits.");
        }

        if (options.RequestsPerSecondPerKey < 0)
        {
            errors.Add($"RequestsPerSecondPerKey {options.RequestsPerSecondPerKey} must be 0 (unlimited) or more.");
        }

        if (options.InstanceCredentialLifetime < TimeSpan.FromSeconds(10) || options.InstanceCredentialLifetime > TimeSpan.FromHours(12))
        {
            errors.Add($"InstanceCredentialLifetime {options.InstanceCredentialLifetime} must be between 00:00:10 and 12:00:00 (AWS's longest role session).");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
