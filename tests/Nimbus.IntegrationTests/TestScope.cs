namespace Nimbus.IntegrationTests;

/// <summary>
/// What one test owns on a server: the functions it named (deleted when it ends, best effort) and a
/// scratch directory for zips, payloads and invoke output files.
/// </summary>
internal sealed class TestScope : IAsyncDisposable
{
    private readonly List<string> _functionNames = [];
    private readonly TempDirectory _scratch = new("nimbus-it-scratch");

    public TestScope(NimbusServer server)
    {
        Server = server;
        Lambda = new LambdaHttp(server.Http);
    }

    public NimbusServer Server { get; }

    /// <summary>Raw, unsigned Lambda API requests.</summary>
    public LambdaHttp Lambda { get; }

    public string ScratchDirectory => _scratch.Path;

    /// <summary>A function name no other test uses; the function is deleted when the test ends.</summary>
    public string NewFunctionName()
    {
        var name = $"t-{Guid.NewGuid():N}"[..20];
        _functionNames.Add(name);
        return name;
    }

    public AwsCli Cli(string version) => new(version, Server.Endpoint, ScratchDirectory);

    public async ValueTask DisposeAsync()
    {
        foreach (var name in _functionNames)
        {
            try
            {
                using var cleanup = new CancellationTokenSource(TimeSpan.FromSeconds(10));
                await Lambda.DeleteFunctionAsync(name, cleanup.Token);
            }
            catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException)
            {
                // Best effort: a dead server already fails the test with a clearer message.
            }
        }

        _scratch.Dispose();
    }
}
