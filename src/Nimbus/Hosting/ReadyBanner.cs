using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Nimbus.Sandboxes;
using Nimbus.Security;

namespace Nimbus.Hosting;

/// <summary>Prints, once the node accepts requests, where it listens and a command to paste.</summary>
internal sealed class ReadyBanner(
    IHostApplicationLifetime lifetime,
    NimbusEndpoints endpoints,
    DataDirectory data,
    SandboxManager sandboxes,
    RuntimeCatalog runtimes,
    RootCredentials root,
    SandboxNetworkSelector network,
    IOptions<NimbusOptions> options) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        runtimes.Warm();
        lifetime.ApplicationStarted.Register(() =>
        {
            var url = endpoints.MainUrl;
            var region = options.Value.Region;
            Console.Out.Write($"""

                Nimbus is ready on {url}
                  data: {data.Path}   sandbox: {sandboxes.SandboxKind}   region: {region}   account: {options.Value.AccountId}
                  network: {network.Describe()}

                  Try it:
                    {(root.Source.StartsWith('/') ? $"export AWS_SHARED_CREDENTIALS_FILE={root.Source}" : $"export AWS_ACCESS_KEY_ID={root.AccessKeyId} AWS_SECRET_ACCESS_KEY=$NIMBUS_ROOT_SECRET_ACCESS_KEY")} AWS_DEFAULT_REGION={region}
                    aws --endpoint-url {url} lambda list-functions


                """);
            Console.Out.Flush();
        });
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
