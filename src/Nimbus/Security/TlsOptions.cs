namespace Nimbus.Security;

/// <summary>
/// Optional HTTPS (section "Nimbus:Tls"; each setting has a row in the README's table). With a certificate the node
/// also serves every API over HTTPS on <see cref="Listen"/>; the plain <c>Nimbus:Listen</c> URL stays, for the
/// functions' own SDK calls (AWS_ENDPOINT_URL) and local tools.
/// </summary>
public sealed record TlsOptions
{
    /// <summary>Configuration section the options bind from.</summary>
    public const string SectionName = "Nimbus:Tls";

    /// <summary>The default HTTPS URL: the port after the plain one.</summary>
    public const string DefaultListen = "https://127.0.0.1:4567";

    /// <summary>URL of the HTTPS listener; used only when <see cref="CertificatePath"/> is set.</summary>
    public string Listen { get; init; } = DefaultListen;

    /// <summary>A PEM certificate (its key in <see cref="KeyPath"/> or in the same file), or a PFX / PKCS#12 file (.pfx, .p12).</summary>
    public string? CertificatePath { get; init; }

    /// <summary>The PEM private key of <see cref="CertificatePath"/>, when it is not in the certificate file.</summary>
    public string? KeyPath { get; init; }

    /// <summary>Password of the PFX file, or of an encrypted PEM key.</summary>
    public string? Password { get; init; }
}
