using System.Globalization;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Nimbus.Security;

/// <summary>Says, once the node accepts requests, where it serves HTTPS and with which certificate.</summary>
internal sealed partial class TlsBanner(IHostApplicationLifetime lifetime, TlsListener tls, ILogger<TlsBanner> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        lifetime.ApplicationStarted.Register(() =>
        {
            if (tls.Url is not { } url || tls.Certificate is not { } certificate)
            {
                return;
            }

            var expires = certificate.NotAfter.ToUniversalTime().ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
            Log.ServingHttps(logger, url, certificate.Subject, expires);
            Console.Out.Write($"""
                Nimbus serves HTTPS on {url} (certificate {certificate.Subject}, expires {expires})
                  aws --endpoint-url {url} --ca-bundle <your CA or certificate file> lambda list-functions

                """);
            Console.Out.Flush();
        });
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    // Security/ event ids of issue 10's second branch: 1150-1179. Next free id: 1151.
    private static partial class Log
    {
        [LoggerMessage(EventId = 1150, EventName = "ServingHttps", Level = LogLevel.Information,
            Message = "Serving HTTPS on {Url} with certificate {Subject} (expires {Expires})")]
        public static partial void ServingHttps(ILogger logger, string url, string subject, string expires);
    }
}
