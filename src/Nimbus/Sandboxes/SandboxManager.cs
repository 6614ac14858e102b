using System.Collections.Concurrent;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Nimbus.Functions;
using Nimbus.Storage;

namespace Nimbus.Sandboxes;

/// <summary>
/// Owns every instance on this node: starts them in the configured sandbox, keeps one pool per function version,
/// retires pools when a function changes, stops idle instances, and kills everything when the server stops.
/// </summary>
internal sealed partial class SandboxManager(
    IOptions<NimbusOptions> options,
    RuntimeCatalog runtimes,
    CodeStore code,
    LogStore logs,
    RuntimePortPool ports,
    ISandboxFactory sandboxes,
    TimeProvider time,
    ILogger<SandboxManager> logger) : BackgroundService, IHostedLifecycleService, IFunctionLifecycleObserver
{
    /// <summary>Instances run as uid/gid 20000 + their Runtime API slot: a user of their own, not in any group.</summary>
    private const int FirstSandboxUserId = SandboxIdentities.FirstUserId;

    private const string ExecutionPath = "/var/lang/bin:/usr/local/bin:/usr/bin/:/bin:/opt/bin";
    private const string LibraryPath = "/var/lang/lib:/lib64:/usr/lib64:/var/runtime:/var/runtime/lib:/var/task:/var/task/lib:/opt/lib";

    private readonly ConcurrentDictionary<(string Name, string Version), SandboxPool> _pools = new();
    private readonly NimbusOptions _options = options.Value;
    private readonly long _memoryLimitMb = options.Value.InstanceMemoryLimitMb ?? DefaultMemoryLimitMb();
    private long _committedMb;
    private volatile bool _draining;

    public string SandboxKind => sandboxes.Kind;

    /// <summary>Memory (MB) the instances of this node may add up to.</summary>
    public long MemoryLimitMb => _memoryLimitMb;

    /// <summary>Memory (MB) committed to running instances: the sum of their MemorySize.</summary>
    public long CommittedMemoryMb => Interlocked.Read(ref _committedMb);

    /// <summary>How long an invocation may wait for a warm instance when the node is full.</summary>
    public TimeSpan AdmissionWait => _options.AdmissionWait;

    public TimeProvider Time => time;

    /// <summary>The pool serving this exact revision of a function version.</summary>
    public SandboxPool GetPool(FunctionRecord function)
    {
        var key = (function.Name, function.Version);
        while (true)
        {
            var pool = _pools.GetOrAdd(key, _ => new SandboxPool(function, this, logger));
            if (pool.Function.RevisionId == function.RevisionId)
            {
                return pool;
            }

            var replacement = new SandboxPool(function, this, logger);
            if (_pools.TryUpdate(key, replacement, pool))
            {
                pool.Retire();
                return replacement;
            }
        }
    }

    public void OnFunctionChanged(string functionName, string? version)
    {
        foreach (var (key, pool) in _pools)
        {
            if (key.Name == functionName && (version is null || key.Version == version) && _pools.TryRemove(new KeyValuePair<(string, string), SandboxPool>(key, pool)))
            {
                pool.Retire();
            }
        }
    }

    /// <summary>Starts a new instance of a function; (null, null) means the node is at capacity.</summary>
    public async Task<(SandboxInstance? Instance, byte[]? StartError)> StartInstanceAsync(FunctionRecord function, CancellationToken cancellationToken)
    {
        var (launch, error) = await runtimes.ResolveAsync(function.Runtime).ConfigureAwait(false);
        if (launch is null)
        {
            return (null, SandboxInstance.ErrorBody("Runtime.InvalidRuntime", error?.Message ?? $"Runtime {function.Runtime} is not available."));
        }

        var codeDirectory = await code.GetDirectoryAsync(function.CodeSha256Hex).WaitAsync(cancellationToken).ConfigureAwait(false);
        var optDirectory = function.Layers is { Count: > 0 } layers
            ? await code.GetLayersDirectoryAsync([.. layers.Select(l => l.CodeSha256Hex)]).WaitAsync(cancellationToken).ConfigureAwait(false)
            : null;
        var paths = sandboxes.PathsFor(codeDirectory, runtimes.RuntimesDirectory);
        string executable;
        List<string> arguments = [];
        List<string> hostPaths = [];
        switch (launch.Family)
        {
            case RuntimeFamily.Provided:
                var bootstrap = Path.Combine(codeDirectory, "bootstrap");
                if (!File.Exists(bootstrap) || (File.GetUnixFileMode(bootstrap) & UnixFileMode.UserExecute) == 0)
                {
                    var reason = File.Exists(bootstrap) ? "is not executable (chmod 755 bootstrap before zipping)" : "was not found in the deployment package";
                    return (null, SandboxInstance.ErrorBody("Runtime.InvalidEntrypoint",
                        $"Couldn't find valid bootstrap(s): [{paths.TaskRoot}/bootstrap]: the file {reason}."));
                }

                executable = $"{paths.TaskRoot}/bootstrap";
                break;
            default:
                var interpreter = launch.Interpreter!;
                executable = interpreter.Executable;
                hostPaths.AddRange(interpreter.Roots.Where(root => !IsSystemPath(root)));
                if (launch.Family == RuntimeFamily.Node)
                {
                    arguments.Add($"--max-old-space-size={Math.Max(64, function.MemorySize * 85 / 100)}");
                }
                else
                {
                    arguments.Add("-s");
                }

                arguments.Add($"{paths.RuntimeDirectory}/{Path.GetRelativePath(runtimes.RuntimesDirectory, launch.BootstrapScript!)}");
                break;
        }

        if (_draining)
        {
            // Shutting down: a new instance would only be killed again.
            return (null, null);
        }

        // Admission: the instance's memory and a Runtime API port, making room by stopping idle instances of
        // any function (least recently used first) when the node is full.
        while (!TryCommitMemory(function.MemorySize))
        {
            if (!await TryEvictIdleAsync().ConfigureAwait(false))
            {
                Log.NoMemory(logger, function.Name, function.MemorySize, CommittedMemoryMb, _memoryLimitMb);
                return (null, null);
            }
        }

        var rented = ports.TryRent(out var port);
        while (!rented && await TryEvictIdleAsync().ConfigureAwait(false))
        {
            rented = ports.TryRent(out port);
        }

        if (!rented)
        {
            Interlocked.Add(ref _committedMb, -function.MemorySize);
            Log.NoInstanceCapacity(logger, function.Name, ports.Capacity);
            return (null, null);
        }

        var instance = new SandboxInstance(function, port, logs, time);
        var environment = BuildEnvironment(function, launch, paths, port, instance.LogStreamName);
        ports.Bind(port, instance);
        try
        {
            var spec = new SandboxSpec(instance.Id, FirstSandboxUserId + ports.SlotOf(port), codeDirectory, runtimes.RuntimesDirectory, hostPaths, executable, arguments, environment, function.MemorySize, function.EphemeralStorageSize, optDirectory);
            await instance.OnOutputLineAsync(PlatformLog.InitStart(function.Runtime)).ConfigureAwait(false);
            instance.Attach(await sandboxes.StartAsync(spec, instance.OnOutputLineAsync).ConfigureAwait(false));
            return (instance, null);
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or IOException or InvalidOperationException)
        {
            ports.Return(port);
            Interlocked.Add(ref _committedMb, -function.MemorySize);
            Log.InstanceStartFailed(logger, function.Name, e);
            return (null, SandboxInstance.ErrorBody("Runtime.Unknown", $"The instance could not be started: {e.Message}"));
        }
    }

    /// <summary>Makes room by stopping the least recently used idle instance of any function.</summary>
    private async Task<bool> TryEvictIdleAsync()
    {
        foreach (var pool in _pools.Values.OrderBy(p => p.OldestIdleUse ?? DateTimeOffset.MaxValue))
        {
            if (pool.TryTakeOldestIdle() is { } victim)
            {
                await StopInstanceAsync(victim).ConfigureAwait(false);
                return true;
            }
        }

        return false;
    }

    public async Task StopInstanceAsync(SandboxInstance instance)
    {
        // Several paths may stop the same instance (retire, reap, shutdown); the port goes back once.
        if (!instance.TryBeginStop())
        {
            return;
        }

        instance.MarkDead();
        if (instance.Sandbox is { } sandbox)
        {
            await sandbox.DisposeAsync().ConfigureAwait(false);
        }

        ports.Return(instance.RuntimeApiPort);
        Interlocked.Add(ref _committedMb, -instance.Function.MemorySize);
    }

    private bool TryCommitMemory(int memoryMb)
    {
        while (true)
        {
            var committed = Interlocked.Read(ref _committedMb);
            if (committed + memoryMb > _memoryLimitMb)
            {
                return false;
            }

            if (Interlocked.CompareExchange(ref _committedMb, committed + memoryMb, committed) == committed)
            {
                return true;
            }
        }
    }

    /// <summary>75% of the memory this process may use (.NET reads the container's cgroup limit too).</summary>
    private static long DefaultMemoryLimitMb() => Math.Max(128, GC.GetGCMemoryInfo().TotalAvailableMemoryBytes * 3 / 4 / (1024 * 1024));

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var period = TimeSpan.FromSeconds(Math.Clamp(_options.IdleInstanceTimeout.TotalSeconds / 4, 1, 30));
        using var timer = new PeriodicTimer(period, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                var cutoff = time.GetUtcNow() - _options.IdleInstanceTimeout;
                foreach (var pool in _pools.Values)
                {
                    pool.ReapIdle(cutoff);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>True once the server is stopping: no new invocations should start.</summary>
    public bool IsDraining => _draining;

    /// <summary>
    /// Graceful shutdown. Runs before any hosted service stops, Kestrel included, so the Runtime API still serves
    /// the invocations in flight; each is bounded by its function's timeout, and the host's shutdown timeout
    /// cuts the wait short. Then every instance is stopped, which also ends the runtimes' pending /next
    /// requests that Kestrel would otherwise wait for.
    /// </summary>
    public async Task StoppingAsync(CancellationToken cancellationToken)
    {
        _draining = true;
        var busy = BusyCount();
        if (busy > 0)
        {
            Log.Draining(logger, busy);
        }

        while (BusyCount() > 0 && !cancellationToken.IsCancellationRequested)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(20), time, CancellationToken.None).ConfigureAwait(false);
        }

        await StopAllInstancesAsync().ConfigureAwait(false);
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        _draining = true;
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
        await StopAllInstancesAsync().ConfigureAwait(false);
    }

    private async Task StopAllInstancesAsync()
    {
        var all = _pools.Values.SelectMany(p => p.Snapshot()).ToList();
        foreach (var pool in _pools.Values)
        {
            pool.Retire();
        }

        await Task.WhenAll(all.Select(StopInstanceAsync)).WaitAsync(TimeSpan.FromSeconds(10), CancellationToken.None).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private int BusyCount() => _pools.Values.Sum(p => p.BusyCount);

    private Dictionary<string, string> BuildEnvironment(FunctionRecord function, RuntimeLaunch launch, SandboxPaths paths, int port, string logStream)
    {
        var environment = new Dictionary<string, string>(StringComparer.Ordinal);
        if (function.Environment is { } user)
        {
            foreach (var (key, value) in user)
            {
                environment[key] = value;
            }
        }

        environment["PATH"] = ExecutionPath;
        environment["LANG"] = "en_US.UTF-8";
        environment["TZ"] = ":UTC";
        environment["LD_LIBRARY_PATH"] = LibraryPath;
        environment["_HANDLER"] = function.Handler;
        environment["LAMBDA_TASK_ROOT"] = paths.TaskRoot;
        environment["LAMBDA_RUNTIME_DIR"] = paths.RuntimeDirectory;
        environment["AWS_LAMBDA_RUNTIME_API"] = $"127.0.0.1:{port}";
        environment["AWS_LAMBDA_FUNCTION_NAME"] = function.Name;
        environment["AWS_LAMBDA_FUNCTION_VERSION"] = function.Version;
        environment["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] = function.MemorySize.ToString(System.Globalization.CultureInfo.InvariantCulture);
        environment["AWS_LAMBDA_LOG_GROUP_NAME"] = function.EffectiveLogGroup;
        environment["AWS_LAMBDA_LOG_STREAM_NAME"] = logStream;
        environment["AWS_LAMBDA_INITIALIZATION_TYPE"] = "on-demand";
        environment["AWS_REGION"] = _options.Region;
        environment["AWS_DEFAULT_REGION"] = _options.Region;
        environment["AWS_XRAY_CONTEXT_MISSING"] = "LOG_ERROR";
        if (launch.ExecutionEnvironment is { } executionEnvironment)
        {
            environment["AWS_EXECUTION_ENV"] = executionEnvironment;
        }

        // Layers' Python packages, where Lambda's Python runtimes look for them.
        if (launch.Family == RuntimeFamily.Python && !environment.ContainsKey("PYTHONPATH"))
        {
            environment["PYTHONPATH"] = $"/opt/python/lib/{function.Runtime}/site-packages:/opt/python";
        }

        if (launch.Family == RuntimeFamily.Node && !environment.ContainsKey("NODE_PATH"))
        {
            environment["NODE_PATH"] = $"/opt/nodejs/node20/node_modules:/opt/nodejs/node_modules:{paths.RuntimeDirectory}/node_modules:{paths.RuntimeDirectory}:{paths.TaskRoot}";
        }

        return environment;
    }

    private static bool IsSystemPath(string path) =>
        path is "/usr" or "/" || path.StartsWith("/usr/", StringComparison.Ordinal);
}
