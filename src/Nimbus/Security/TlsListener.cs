using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Configuration;

namespace Nimbus.Security;

/// <summary>
/// The optional HTTPS listener: loads the certificate of <see cref="TlsOptions"/> when Kestrel is configured (a
/// missing or unreadable file stops the start with a message naming the setting), and serves every API on it.
/// </summary>
internal sealed class TlsListener
{
    private ListenOptions? _listen;

    /// <summary>The bound HTTPS URL (its real port once Kestrel has bound it), or null when HTTPS is off.</summary>
    public string? Url => _listen?.IPEndPoint is { } endpoint ? $"https://{endpoint}" : null;

    /// <summary>The certificate served; null when HTTPS is off.</summary>
    public X509Certificate2? Certificate { get; private set; }

    public void Configure(KestrelServerOptions kestrel, IConfiguration configuration)
    {
        var options = configuration.GetSection(TlsOptions.SectionName).Get<TlsOptions>() ?? new TlsOptions();
        if (string.IsNullOrEmpty(options.CertificatePath))
        {
            if (!string.IsNullOrEmpty(options.KeyPath))
            {
                throw new Hosting.StartupException("Nimbus:Tls:KeyPath (--tls-key) is set without a certificate: pass --tls-cert (NIMBUS_TLS_CERT) as well, or neither.");
            }

            return;
        }

        if (!Uri.TryCreate(options.Listen, UriKind.Absolute, out var url) || url.Scheme != Uri.UriSchemeHttps
            || (url.Host != "localhost" && !IPAddress.TryParse(url.Host, out _)))
        {
            throw new Hosting.StartupException(
                $"Nimbus:Tls:Listen (--tls-listen) '{options.Listen}' must be an https:// URL with an IP address or localhost, such as {TlsOptions.DefaultListen} or https://0.0.0.0:4567.");
        }

        Certificate = Load(options);
        var address = url.Host == "localhost" ? IPAddress.Loopback : IPAddress.Parse(url.Host);
        kestrel.Listen(address, url.Port, listen =>
        {
            listen.UseHttps(Certificate);
            _listen = listen;
        });
    }

    private static X509Certificate2 Load(TlsOptions options)
    {
        var path = options.CertificatePath!;
        if (!File.Exists(path))
        {
            throw new Hosting.StartupException(
                $"Nimbus:Tls:CertificatePath (--tls-cert) '{path}' does not exist. Give the path of a PEM certificate (with --tls-key for its key) or of a PFX file (with NIMBUS_TLS_PASSWORD), or unset it to serve plain HTTP only.");
        }

        if (options.KeyPath is { Length: > 0 } key && !File.Exists(key))
        {
            throw new Hosting.StartupException($"Nimbus:Tls:KeyPath (--tls-key) '{key}' does not exist. Give the PEM private key of the certificate {path}.");
        }

        X509Certificate2 certificate;
        try
        {
            var extension = Path.GetExtension(path);
            if (extension.Equals(".pfx", StringComparison.OrdinalIgnoreCase) || extension.Equals(".p12", StringComparison.OrdinalIgnoreCase))
            {
                certificate = X509CertificateLoader.LoadPkcs12FromFile(path, options.Password);
            }
            else
            {
                var keyPath = options.KeyPath is { Length: > 0 } k ? k : path;
                certificate = string.IsNullOrEmpty(options.Password)
                    ? X509Certificate2.CreateFromPemFile(path, keyPath)
                    : X509Certificate2.CreateFromEncryptedPemFile(path, options.Password, keyPath);
            }
        }
        catch (Exception e) when (e is CryptographicException or ArgumentException or IOException or UnauthorizedAccessException)
        {
            throw new Hosting.StartupException(
                $"The HTTPS certificate '{path}'{(options.KeyPath is { Length: > 0 } ? $" with key '{options.KeyPath}'" : "")} could not be loaded: {e.Message} "
                + "Give a PEM certificate and its PEM private key (--tls-cert, --tls-key), or a PFX file (.pfx/.p12) and its password (NIMBUS_TLS_PASSWORD).", e);
        }

        if (!certificate.HasPrivateKey)
        {
            throw new Hosting.StartupException($"The HTTPS certificate '{path}' has no private key: give its key with --tls-key (NIMBUS_TLS_KEY), or use a PFX file that includes it.");
        }

        return certificate;
    }
}
