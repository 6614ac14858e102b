// Nimbus integration tests: how they run
//
// Every test drives a real server: `<repo>/nimbus serve --listen http://127.0.0.1:0 --data <temp dir>`
// (the launcher may build nimbusd first, so start-up may take up to two minutes). The server prints
// "Nimbus is ready on http://127.0.0.1:<port>"; tests talk to that URL with the real AWS CLIs (v1 = the
// first `aws` on PATH that is not /usr/bin/aws, v2 = /usr/bin/aws) and with a raw HttpClient where the
// exact status, headers and body matter.
//
// - Test classes run in PARALLEL, up to MaxParallelThreads classes at a time (xUnit's "conservative" algorithm:
//   that many tests started at once, the rest wait). A class is a collection of its own unless it says
//   [Collection(...)]; its tests run one after another. Most tests wait (for processes, timers, polls), so a
//   2-core machine runs several classes at once at a fraction of the serial wall time.
// - A class that needs a server takes `IClassFixture<ServerFixture>`: one server per class, on its own data
//   directory, shared by the class's tests. Each test owns its data: unique function names, deleted again when
//   the test ends.
// - Tests must be parallel-safe: no fixed ports, no shared paths (TempDirectory), no process-wide environment
//   changes, no counting processes/cgroups/files machine-wide (look only at your own server's data directory,
//   process tree and cgroups), no tight timing bounds. See docs/testing.md.
// - [Collection(SerialCollectionDefinition.Name)] is for the few classes that must run ALONE (after the parallel
//   ones): those that load or measure the machine (bursts, bombs, soak, kill -9 under 10,000 events).
// - RestartTests-style classes start their own servers on a data directory they keep across a restart.
// - A failing test's message ends with the tail of the server's stdout/stderr.
//
// Run: cd <repo> && dotnet test tests/Nimbus.IntegrationTests -c Release

[assembly: CollectionBehavior(MaxParallelThreads = 4)]

namespace Nimbus.IntegrationTests;

/// <summary>
/// One Nimbus server for the tests of the "server" collection, on a fresh data directory. Fixtures whose server
/// needs settings of its own derive from it and pass them in (<see cref="LogsServerFixture"/>).
/// </summary>
public class ServerFixture : IAsyncLifetime
{
    private readonly string _dataPrefix;
    private readonly IReadOnlyDictionary<string, string>? _environment;
    private TempDirectory? _data;
    private NimbusServer? _server;

    // xUnit wants one public constructor per fixture type: the derived fixtures use the protected one.
    public ServerFixture()
        : this("nimbus-it-data", null)
    {
    }

    protected ServerFixture(string dataPrefix, IReadOnlyDictionary<string, string>? environment)
    {
        _dataPrefix = dataPrefix;
        _environment = environment;
    }

    internal NimbusServer Server =>
        _server ?? throw new InvalidOperationException("The shared Nimbus server has not been started.");

    public async Task InitializeAsync()
    {
        _data = new TempDirectory(_dataPrefix);
        _server = await NimbusServer.StartAsync(_data.Path, _environment);
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

/// <summary>
/// A collection whose classes share one <see cref="ServerFixture"/> and therefore run one after another (in
/// parallel with every other collection). Prefer <c>IClassFixture&lt;ServerFixture&gt;</c>: a server per class.
/// </summary>
[CollectionDefinition(Name)]
public sealed class ServerCollectionDefinition : ICollectionFixture<ServerFixture>
{
    public const string Name = "server";
}

/// <summary>
/// The classes that must run alone: xUnit runs this collection after all parallel ones, with nothing beside it.
/// Only for tests that load or measure the whole machine; say why in a comment on the class. A class here that
/// needs a server takes <c>IClassFixture&lt;ServerFixture&gt;</c>.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class SerialCollectionDefinition
{
    public const string Name = "serial";
}
