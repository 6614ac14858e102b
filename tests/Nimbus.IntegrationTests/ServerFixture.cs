// Nimbus integration tests: how they run
//
// Every test drives a real server: `<repo>/nimbus serve --listen http://127.0.0.1:0 --data <temp dir>`
// (the launcher may build nimbusd first, so start-up may take up to two minutes). The server prints
// "Nimbus is ready on http://127.0.0.1:<port>"; tests talk to that URL with the real AWS CLIs (v1 = the
// first `aws` on PATH that is not /usr/bin/aws, v2 = /usr/bin/aws) and with a raw HttpClient where the
// exact status, headers and body matter.
//
// - Tests marked [Collection("server")] share one server (ServerFixture) and run one after another.
//   Each test owns its data: unique function names, deleted again when the test ends.
// - RestartTests start their own servers on a data directory they keep across a restart.
// - A failing test's message ends with the tail of the server's stdout/stderr.
// - Parallelism across collections is off: machines have two cores and several tests assert timings
//   (a 1 s timeout cutting a 5 s sleep, overlapping invokes scaling out).
//
// Run: cd <repo> && dotnet test tests/Nimbus.IntegrationTests -c Release

[assembly: CollectionBehavior(DisableTestParallelization = true)]

namespace Nimbus.IntegrationTests;

/// <summary>One Nimbus server for the tests of the "server" collection, on a fresh data directory.</summary>
public sealed class ServerFixture : IAsyncLifetime
{
    private TempDirectory? _data;
    private NimbusServer? _server;

    internal NimbusServer Server =>
        _server ?? throw new InvalidOperationException("The shared Nimbus server has not been started.");

    public async Task InitializeAsync()
    {
        _data = new TempDirectory("nimbus-it-data");
        _server = await NimbusServer.StartAsync(_data.Path);
    }

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }

        _data?.Dispose();
    }

    /// <summary>
    /// Runs one test body against the shared server: gives it a scope that deletes the functions it
    /// created, and appends the server's output tail to any failure.
    /// </summary>
    internal Task RunAsync(Func<TestScope, Task> test) =>
        Failures.WithContextAsync(
            async () =>
            {
                await using var scope = new TestScope(Server);
                await test(scope);
            },
            () => Server.DescribeOutput());
}

/// <summary>The collection whose tests share <see cref="ServerFixture"/>.</summary>
[CollectionDefinition(Name)]
public sealed class ServerCollectionDefinition : ICollectionFixture<ServerFixture>
{
    public const string Name = "server";
}
