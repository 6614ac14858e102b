using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Nimbus.Security;

/// <summary>
/// Says at start how clients authenticate: where the root key comes from (printing a generated one once, never to the
/// log), and, loudly, when --dev mode accepts any signature.
/// </summary>
internal sealed partial class SecurityBanner(
    RootCredentials root,
    IdentityStore identities,
    IOptions<SecurityOptions> options,
    SecretBox secrets,
    ILogger<SecurityBanner> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        _ = identities.Root;
        if (secrets.RotationPending)
        {
            Log.RotationPending(logger, secrets.KeyPath ?? SecretBox.FileName, SecretsKeyRotation.NextFileName);
        }

        if (root.Generated)
        {
            Console.Out.Write($"""

                Nimbus generated the root access key of this data directory. It is shown once; it is kept (mode 0600) in
                {root.Source} (an AWS shared credentials file):
                    export AWS_ACCESS_KEY_ID={root.AccessKeyId} AWS_SECRET_ACCESS_KEY={root.SecretAccessKey}

                """);
            Console.Out.Flush();
        }

        Log.RootKey(logger, root.AccessKeyId, root.Source);
        if (options.Value.Dev)
        {
            Log.DevMode(logger);
            Console.Out.Write("""

                ********************************************************************************
                *  DEV MODE: authentication is OFF. Any well-formed signature from any key is   *
                *  accepted as root. Never expose this server beyond your own machine.          *
                ********************************************************************************

                """);
            Console.Out.Flush();
        }

        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private static partial class Log
    {
        [LoggerMessage(EventId = 1103, EventName = "RootKey", Level = LogLevel.Information,
            Message = "Root access key {AccessKeyId} (from {Source}); its secret is never logged")]
        public static partial void RootKey(ILogger logger, string accessKeyId, string source);

        [LoggerMessage(EventId = 1104, EventName = "DevMode", Level = LogLevel.Warning,
            Message = "DEV MODE: any well-formed SigV4 signature is accepted as root (--dev / NIMBUS_DEV=true). Do not expose this server.")]
        public static partial void DevMode(ILogger logger);

        [LoggerMessage(EventId = 1231, EventName = "SecretsKeyRotationPending", Level = LogLevel.Warning,
            Message = "A rotation of {KeyPath} was interrupted: values sealed with {NextKey} are read too. Stop the server and run 'nimbus secrets rotate-key' again to finish it.")]
        public static partial void RotationPending(ILogger logger, string keyPath, string nextKey);
    }
}
