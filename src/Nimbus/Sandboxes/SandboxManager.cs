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
    Hosting.NimbusEndpoints endpoints,
    ISandboxCredentials credentials,
    TimeProvider time,
    ILogger<SandboxManager> logger) : BackgroundService, IHostedLifecycleService, IFunctionLifecycleObserver, IProvisionedConcurrency
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

    // Callers waiting for room retry every 20 ms: a full node is logged once per function and kind per
    // NoRoomLogInterval (with the count of refusals since), not on every retry.
    private readonly ConcurrentDictionary<(string Function, int EventId), NoRoomLogState> _noRoomLogged = new();

    // Created once the Runtime API ports are bound (OnServerStarted); null when pre-starting is off or impossible.
    private PrestartPool? _prestart;

    public string SandboxKind => sandboxes.Kind;

    /// <summary>Memory (MB) the instances of this node may add up to.</summary>
    public long MemoryLimitMb => _memoryLimitMb;

    /// <summary>Memory (MB) committed to running instances: the sum of their MemorySize.</summary>
    public long CommittedMemoryMb => Interlocked.Read(ref _committedMb);

    // Instance starts in flight at once, until each one's init is over. Two per core: enough to overlap a start's
    // waits, few enough that a burst does not starve each start of CPU.
    private readonly SemaphoreSlim _starts = new(Math.Max(2, Environment.ProcessorCount * 2));

    /// <summary>Takes a start slot, waiting at most <paramref name="timeout"/>; the caller gives it back with <see cref="ExitStart"/>.</summary>
    public Task<bool> TryEnterStartAsync(TimeSpan timeout, CancellationToken cancellationToken) => _starts.WaitAsync(timeout, cancellationToken);

    public void ExitStart() => _starts.Release();

    /// <summary>How long an invocation may wait for a warm instance when the node is full.</summary>
    public TimeSpan AdmissionWait => _options.AdmissionWait;

    /// <summary>How long a caller of a busy pool of short invocations waits for one to come back before starting another; zero: off.</summary>
    public TimeSpan ScaleOutWait => _options.ScaleOutWait;

    /// <summary>
    /// Busy and starting instances per core past which a pool of short invocations on a saturated node makes its callers
    /// wait for one to come back (<see cref="NimbusOptions.ScaleOutWait"/>): each then stays busy with its next event
    /// already waiting, instead of sleeping between invocations and waking with cold caches. 2 and 3 measured alike at
    /// 32 callers (docs/benchmarks.md); 3 leaves room for short functions that also wait on I/O.
    /// </summary>
    internal const int ScaleOutInstancesPerCore = 3;

    /// <summary>The busy and starting instances a pool of short invocations keeps on a saturated node: <see cref="ScaleOutInstancesPerCore"/> per core.</summary>
    public int ScaleOutTarget { get; } = ScaleOutInstancesPerCore * Environment.ProcessorCount;

    // Sampled only when the scale-out wait is on; every tick also rechecks the callers held back (RecheckHeldBack).
    private NodeCpu? _cpu;

    private NodeCpu Cpu => _cpu ?? InitCpu();

    private NodeCpu InitCpu()
    {
        var cpu = new NodeCpu(time, _options.ScaleOutWait > TimeSpan.Zero, RecheckHeldBack);
        if (Interlocked.CompareExchange(ref _cpu, cpu, null) is { } other)
        {
            cpu.Dispose();
            return other;
        }

        return cpu;
    }

    /// <summary>True when the node's CPUs were at least 85% busy over the last ~200 ms (false when unknown).</summary>
    public bool CpuSaturated => Cpu.Saturated;

    /// <summary><see cref="NodeCpu.FreeSince"/>: since when the node's CPUs have been free without a break (0: saturated now).</summary>
    public long CpuFreeSince => Cpu.FreeSince;

    // Held-back callers wait without a timer of their own: every CPU sample wakes those whose pool no longer holds them
    // back (the CPUs freed up, the durations show a slow function) or who waited past their bound.
    private void RecheckHeldBack()
    {
        foreach (var (_, pool) in _pools)
        {
            pool.RecheckHeldBack();
        }
    }

    /// <summary>The node's busy CPU share over the last ~200 ms, as scale-out sees it; NaN when unknown or the option is off.</summary>
    public double CpuBusyRatio => Cpu.BusyRatio;

    /// <summary>Most callers waiting for instances of one function version: four per instance slot of the node.</summary>
    public int MaxWaitingPerFunction => _options.MaxInstances * 4;

    public TimeProvider Time => time;

    /// <summary>Every pool, for /metrics: a snapshot, safe to enumerate while pools come and go.</summary>
    public ICollection<SandboxPool> Pools => _pools.Values;

    /// <summary>The pool serving this exact revision of a function version.</summary>
    public SandboxPool GetPool(FunctionRecord function)
    {
        var key = (function.Name, function.Version);
        while (true)
        {
            // A static factory with its state as an argument: a capturing lambda would allocate a closure on every invoke.
            var pool = _pools.GetOrAdd(key, static (_, state) => new SandboxPool(state.Function, state.Manager, state.Logger), (Function: function, Manager: this, Logger: logger));
            if (pool.Function.RevisionId == function.RevisionId)
            {
                return WithProvisioning(pool, key);
            }

            var replacement = new SandboxPool(function, this, logger);
            if (_pools.TryUpdate(key, replacement, pool))
            {
                pool.Retire();
                return WithProvisioning(replacement, key);
            }
        }
    }

    // Provisioned concurrency per function version, kept here so that a new pool of the version (after a
    // retirement) is filled too. The control plane persists it and sets it again at start-up; filling waits for
    // the Runtime API ports (OnServerStarted).
    private readonly ConcurrentDictionary<(string Name, string Version), (int Count, FunctionRecord Version)> _provisionedTargets = new();
    private volatile bool _serverStarted;

    private SandboxPool WithProvisioning(SandboxPool pool, (string Name, string Version) key)
    {
        if (_serverStarted && !_provisionedTargets.IsEmpty && _provisionedTargets.TryGetValue(key, out var target) && pool.ProvisionedStatus.Requested != target.Count)
        {
            pool.Provision(target.Count);
        }

        return pool;
    }

    public void SetProvisionedConcurrency(FunctionRecord version, int count)
    {
        var key = (version.Name, version.Version);
        if (count > 0)
        {
            _provisionedTargets[key] = (count, version);
        }
        else
        {
            _provisionedTargets.TryRemove(key, out _);
        }

        if (_serverStarted || count == 0)
        {
            GetPool(version).Provision(count);
        }
    }

    public (int Requested, int Ready, string? Failure) ProvisionedStatus(FunctionRecord version) =>
        _pools.TryGetValue((version.Name, version.Version), out var pool) && pool.Function.RevisionId == version.RevisionId
            ? pool.ProvisionedStatus
            : (_provisionedTargets.TryGetValue((version.Name, version.Version), out var target) ? target.Count : 0, 0, null);

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

    /// <summary>
    /// True when a function version holding <paramref name="instances"/> instances may stop other functions' idle
    /// instances to make room for one more: a version without any always may; others only below half the node's
    /// instance slots and half its instance memory. Past that share, an overloaded function waits for its own
    /// instances (or free room) and leaves the idle instances of other functions warm.
    /// </summary>
    public bool MayEvictForAnother(FunctionRecord function, int instances) =>
        instances == 0 || (instances < _options.MaxInstances / 2 && (long)instances * function.MemorySize < _memoryLimitMb / 2);

    /// <summary>
    /// Starts a new instance of a function; (null, null) means the node is at capacity. <paramref name="firstInstance"/>: the
    /// function version has no other instance (a new function's cold start, or the first after its instances were reaped):
    /// only such starts deepen the pre-start pool when they find it drained.
    /// </summary>
    public async Task<(SandboxInstance? Instance, byte[]? StartError)> StartInstanceAsync(FunctionRecord function, bool provisioned, CancellationToken cancellationToken, bool mayEvict = true, bool firstInstance = false)
    {
        // A start unpacks code, writes cgroup files and forks: never on the socket engine's thread (an inline-served Invoke).
        await Http.SocketThread.Leave();
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
        IReadOnlyList<string> arguments = [];
        IReadOnlyList<string> hostPaths = [];
        if (launch.Family == RuntimeFamily.Provided)
        {
            var bootstrap = Path.Combine(codeDirectory, "bootstrap");
            if (!File.Exists(bootstrap) || (File.GetUnixFileMode(bootstrap) & UnixFileMode.UserExecute) == 0)
            {
                var reason = File.Exists(bootstrap) ? "is not executable (chmod 755 bootstrap before zipping)" : "was not found in the deployment package";
                return (null, SandboxInstance.ErrorBody("Runtime.InvalidEntrypoint",
                    $"Couldn't find valid bootstrap(s): [{paths.TaskRoot}/bootstrap]: the file {reason}."));
            }

            executable = $"{paths.TaskRoot}/bootstrap";
        }
        else
        {
            (executable, arguments, hostPaths) = InterpreterCommand(launch, paths, function.MemorySize);
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
            if (!mayEvict || !await TryEvictIdleAsync().ConfigureAwait(false))
            {
                if (ShouldLogNoRoom(function.Name, 4023, out var refusals))
                {
                    Log.NoMemory(logger, function.Name, function.MemorySize, CommittedMemoryMb, _memoryLimitMb, refusals);
                }

                return (null, null);
            }
        }

        if (_prestart is { } prestart && PrestartKeyFor(launch, function) is { } key && prestart.TryTake(key, firstInstance) is { } prestarted)
        {
            if (await SpecializeAsync(prestarted, function, launch, codeDirectory, paths, provisioned).ConfigureAwait(false) is { } specialized)
            {
                return (specialized, null);
            }
        }

        var rented = ports.TryRent(out var port);
        while (!rented && (await TryEvictPrestartedAsync().ConfigureAwait(false) || (mayEvict && await TryEvictIdleAsync().ConfigureAwait(false))))
        {
            rented = ports.TryRent(out port);
        }

        if (!rented)
        {
            Interlocked.Add(ref _committedMb, -function.MemorySize);
            if (ShouldLogNoRoom(function.Name, 4020, out var refusals))
            {
                Log.NoInstanceCapacity(logger, function.Name, ports.Capacity, refusals);
            }

            return (null, null);
        }

        var extensions = optDirectory is null ? null : ExtensionExecutables(optDirectory);
        var exitMarker = Guid.NewGuid().ToString("N");
        if (extensions is not null)
        {
            // Extensions start beside the runtime, in its sandbox, from a shell that then becomes the runtime.
            arguments = ["-c", ExtensionLauncherScript, "nimbus-extensions", exitMarker, executable, .. arguments];
            executable = "/bin/sh";
        }

        var instance = new SandboxInstance(function, port, logs, time, extensions is null ? null : new InstanceExtensions(extensions, exitMarker));
        var environment = BuildEnvironment(function, launch, paths, port, instance, provisioned);
        ports.Bind(port, instance);
        try
        {
            var spec = new SandboxSpec(instance.Id, FirstSandboxUserId + ports.SlotOf(port), codeDirectory, runtimes.RuntimesDirectory, hostPaths, executable, arguments, environment, function.MemorySize, function.EphemeralStorageSize, optDirectory, await ports.NetworkOfAsync(port).ConfigureAwait(false));
            await instance.WritePlatformAsync(PlatformLog.InitStartLine(function, time.GetUtcNow(), provisioned)).ConfigureAwait(false);
            await instance.WritePlatformAsync(PlatformLog.VersionWarningLine(function, time.GetUtcNow(), launch.VersionWarning)).ConfigureAwait(false);
            instance.Attach(await sandboxes.StartAsync(spec, instance.OnOutputLineAsync).ConfigureAwait(false));
            return (instance, null);
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or IOException or InvalidOperationException or UnauthorizedAccessException)
        {
            ports.Return(port);
            Interlocked.Add(ref _committedMb, -function.MemorySize);
            Log.InstanceStartFailed(logger, function.Name, e);
            return (null, SandboxInstance.ErrorBody("Runtime.Unknown", $"The instance could not be started: {e.Message}"));
        }
    }

    /// <summary>
    /// Starts every executable of /opt/extensions in the background, each under a watcher subshell that prints the
    /// instance's exit marker (its nonce is $1) with the extension's status and file name when it exits, then execs
    /// the runtime (the remaining arguments).
    /// </summary>
    private const string ExtensionLauncherScript =
        "n=\"$1\"; shift; for e in /opt/extensions/*; do if [ -f \"$e\" ] && [ -x \"$e\" ]; then ( \"$e\"; echo \"" + InstanceExtensions.ExitMarkerPrefix + "$n $? ${e##*/}\" ) & fi; done; exec \"$@\"";

    /// <summary>The executables a function's layers put in /opt/extensions (sorted), or null when there are none.</summary>
    private static List<string>? ExtensionExecutables(string optDirectory)
    {
        var directory = Path.Combine(optDirectory, "extensions");
        if (!Directory.Exists(directory))
        {
            return null;
        }

        var names = Directory.EnumerateFiles(directory)
            .Where(file => (File.GetUnixFileMode(file) & UnixFileMode.UserExecute) != 0)
            .Select(Path.GetFileName)
            .OfType<string>()
            .Order(StringComparer.Ordinal)
            .ToList();
        return names.Count > 0 ? names : null;
    }

    /// <summary>The interpreter, its arguments (sandbox paths) and the host directories it needs, for node, python and dotnet.</summary>
    private (string Executable, IReadOnlyList<string> Arguments, IReadOnlyList<string> HostPaths) InterpreterCommand(RuntimeLaunch launch, SandboxPaths paths, int memoryMb)
    {
        var interpreter = launch.Interpreter!;
        List<string> arguments = [];
        if (launch.Family == RuntimeFamily.Node)
        {
            arguments.Add($"--max-old-space-size={NodeHeapMb(memoryMb)}");
        }
        else if (launch.Family == RuntimeFamily.Python)
        {
            arguments.Add("-s");
        }
        else if (launch.Family == RuntimeFamily.Java)
        {
            // Lambda's own cold-start flags: C1 only, the serial GC, class-data sharing; the heap from MemorySize.
            // java.util is opened to the runtime client so a pre-started JVM can take on its function's environment.
            arguments.AddRange(["-XX:+TieredCompilation", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-Xshare:auto", "-XX:-UsePerfData", "-Djava.net.preferIPv4Stack=true",
                "--add-opens=java.base/java.util=ALL-UNNAMED", $"-Xmx{JavaHeapMb(memoryMb)}m", "-cp", $"{paths.RuntimeDirectory}/{Path.GetRelativePath(runtimes.RuntimesDirectory, launch.BootstrapScript!)}", "nimbus.runtime.Bootstrap"]);
            return (interpreter.Executable, arguments, [.. interpreter.Roots.Where(root => !IsSystemPath(root))]);
        }

        arguments.Add($"{paths.RuntimeDirectory}/{Path.GetRelativePath(runtimes.RuntimesDirectory, launch.BootstrapScript!)}");
        return (interpreter.Executable, arguments, [.. interpreter.Roots.Where(root => !IsSystemPath(root))]);
    }

    private static int NodeHeapMb(int memoryMb) => Math.Max(64, memoryMb * 85 / 100);

    private static int JavaHeapMb(int memoryMb) => Math.Max(48, memoryMb * 70 / 100);

    /// <summary>
    /// .NET's GC heap limit, read once at start. The sandbox has no /sys, so .NET cannot see its cgroup's limit
    /// and would size its heap for the whole machine; it gets the same share of MemorySize as Node's heap.
    /// </summary>
    private const string DotnetHeapLimitVariable = "DOTNET_GCHeapHardLimit";

    private static string DotnetHeapLimit(int heapMb) => ((long)heapMb * 1024 * 1024).ToString("x", System.Globalization.CultureInfo.InvariantCulture);

    // ---- Pre-started runtimes ----

    /// <summary>Sizes the environments of the pre-started runtimes kept from the start are made for: Lambda's defaults.</summary>
    private const int DefaultMemoryMb = 128;
    private const int DefaultEphemeralStorageMb = 512;

    /// <summary>
    /// Variables an interpreter reads only when it starts (or the dynamic loader reads at exec): a function that
    /// sets one gets a fresh process, since a pre-started one has started already.
    /// </summary>
    private static bool NeedsFreshProcess(RuntimeFamily family, string variable) =>
        variable.StartsWith("LD_", StringComparison.Ordinal) || variable.StartsWith("MALLOC_", StringComparison.Ordinal)
        || variable is "GLIBC_TUNABLES" or "AWS_LAMBDA_EXEC_WRAPPER"
        || (family == RuntimeFamily.Node && variable.StartsWith("NODE_", StringComparison.Ordinal) && variable != "NODE_PATH")
        || (family == RuntimeFamily.Python && variable.StartsWith("PYTHON", StringComparison.Ordinal))
        || (family == RuntimeFamily.Dotnet && (variable.StartsWith("DOTNET_", StringComparison.Ordinal) || variable.StartsWith("COMPlus_", StringComparison.Ordinal)))
        || (family == RuntimeFamily.Java && variable is "JAVA_TOOL_OPTIONS" or "_JAVA_OPTIONS" or "JDK_JAVA_OPTIONS");

    /// <summary>The shape of pre-started runtime this function can use, or null when it needs a fresh process.</summary>
    private static PrestartKey? PrestartKeyFor(RuntimeLaunch launch, FunctionRecord function)
    {
        // Layers are mounted at /opt when the sandbox is made, and their paths join the interpreter's at start.
        if (launch.Family is RuntimeFamily.Provided || launch.Interpreter is null || function.Layers is { Count: > 0 }
            || (function.Environment?.Keys.Any(name => NeedsFreshProcess(launch.Family, name)) ?? false))
        {
            return null;
        }

        return KeyFor(launch, function.MemorySize, function.EphemeralStorageSize);
    }

    private static PrestartKey KeyFor(RuntimeLaunch launch, int memoryMb, int ephemeralStorageMb) =>
        new(launch.Family, launch.Interpreter!.Executable, launch.Family switch
        {
            RuntimeFamily.Node or RuntimeFamily.Dotnet => NodeHeapMb(memoryMb),
            RuntimeFamily.Java => JavaHeapMb(memoryMb),
            _ => 0,
        }, ephemeralStorageMb);

    /// <summary>Called once the Runtime API ports are bound: starts keeping pre-started runtimes, when enabled.</summary>
    public void OnServerStarted()
    {
        _serverStarted = true;
        foreach (var (count, version) in _provisionedTargets.Values)
        {
            GetPool(version).Provision(count);
        }

        if (_options.PrestartPoolSize() <= 0 || !sandboxes.CanPrestart)
        {
            return;
        }

        var reserved = Math.Max(1, ports.Capacity / PrestartReservedShare);
        var floor = _options.PrestartPoolSize();
        var pool = new PrestartPool(floor, Math.Max(floor, _options.PrestartPoolMax), Environment.ProcessorCount,
            _options.IdleInstanceTimeout > PrestartShrinkAfter ? _options.IdleInstanceTimeout : PrestartShrinkAfter,
            StartPrestartedAsync, StopPrestartedAsync, () => !_draining && ports.FreeCount > reserved, time, logger);
        _prestart = pool;
        _ = Task.Run(async () =>
        {
            foreach (var runtime in (string[])["nodejs20.x", "python3.12", "dotnet8"])
            {
                if ((await runtimes.ResolveAsync(runtime).ConfigureAwait(false)).Launch is { Interpreter: not null } launch)
                {
                    // .NET's host costs ~130 ms of CPU to pre-start, node's and python's runtimes ~30 ms: .NET's shape
                    // starts at one runtime and grows only when .NET cold starts drain it.
                    pool.Keep(KeyFor(launch, DefaultMemoryMb, DefaultEphemeralStorageMb), deep: launch.Family != RuntimeFamily.Dotnet);
                }
            }
        });
    }

    /// <summary>
    /// Pre-started runtimes leave this share of the Runtime API ports (at least one) free, so instances can start without
    /// evicting one first; past it an instance start stops a pre-started runtime to take its port.
    /// </summary>
    private const int PrestartReservedShare = 8;

    /// <summary>A grown pre-start pool returns to its floor after this long without a shortfall (or the idle timeout, when longer).</summary>
    internal static readonly TimeSpan PrestartShrinkAfter = TimeSpan.FromMinutes(1);

    /// <summary>The pre-start pool, for tests and status: null when pre-starting is off or impossible.</summary>
    internal PrestartPool? Prestart => _prestart;

    private readonly Dictionary<PrestartKey, RuntimeLaunch> _prestartLaunches = [];

    private async Task<PrestartedRuntime?> StartPrestartedAsync(PrestartKey key)
    {
        if (_draining || !ports.TryRent(out var port))
        {
            return null;
        }

        var launch = await PrestartLaunchAsync(key).ConfigureAwait(false);
        if (launch is null)
        {
            ports.Return(port);
            return null;
        }

        var runtime = new PrestartedRuntime(key, Guid.NewGuid().ToString("N"), port, FirstSandboxUserId + ports.SlotOf(port));
        ports.Bind(port, runtime);
        try
        {
            var paths = sandboxes.PathsFor("", runtimes.RuntimesDirectory);
            var (executable, arguments, hostPaths) = InterpreterCommand(launch, paths, DefaultMemoryMb);
            if (key.Family == RuntimeFamily.Node)
            {
                arguments = [$"--max-old-space-size={key.HeapMb}", .. arguments.Skip(1)];
            }
            else if (key.Family == RuntimeFamily.Java)
            {
                // The JVM's heap is fixed at start: a shape per heap size, as Node's.
                arguments = [.. arguments.Select(argument => argument.StartsWith("-Xmx", StringComparison.Ordinal) ? $"-Xmx{key.HeapMb}m" : argument)];
            }

            var environment = BaseEnvironment(launch, paths, port);
            environment[PrestartedVariable] = "1";
            if (key.Family == RuntimeFamily.Dotnet)
            {
                environment[DotnetHeapLimitVariable] = DotnetHeapLimit(key.HeapMb);
            }

            var spec = new SandboxSpec(runtime.Id, runtime.UserId, null, runtimes.RuntimesDirectory, hostPaths, executable, arguments, environment, DefaultMemoryMb, key.EphemeralStorageMb, Network: await ports.NetworkOfAsync(port).ConfigureAwait(false), Background: true);
            runtime.Attach(await sandboxes.StartAsync(spec, runtime.OnOutputLineAsync).ConfigureAwait(false));
            return runtime;
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or IOException or InvalidOperationException or UnauthorizedAccessException)
        {
            ports.Return(port);
            Log.PrestartFailed(logger, key.Family, e);
            return null;
        }
    }

    private async Task<RuntimeLaunch?> PrestartLaunchAsync(PrestartKey key)
    {
        lock (_prestartLaunches)
        {
            if (_prestartLaunches.TryGetValue(key, out var known))
            {
                return known;
            }
        }

        foreach (var name in RuntimeCatalog.Supported)
        {
            if ((await runtimes.ResolveAsync(name).ConfigureAwait(false)).Launch is { Interpreter: not null } launch
                && launch.Family == key.Family && launch.Interpreter.Executable == key.Executable)
            {
                lock (_prestartLaunches)
                {
                    _prestartLaunches[key] = launch;
                }

                return launch;
            }
        }

        return null;
    }

    private async Task StopPrestartedAsync(PrestartedRuntime runtime)
    {
        if (!runtime.TryBeginStop())
        {
            return;
        }

        if (runtime.Sandbox is { } sandbox)
        {
            await sandbox.DisposeAsync().ConfigureAwait(false);
        }

        ports.Return(runtime.Port);
    }

    /// <summary>
    /// Turns a pre-started runtime into an instance of <paramref name="function"/>: its code at /var/task, its
    /// limits, its environment. Null when the runtime could not take it (it is stopped; the caller starts a
    /// fresh process). The function's memory is already committed.
    /// </summary>
    private async Task<SandboxInstance?> SpecializeAsync(PrestartedRuntime runtime, FunctionRecord function, RuntimeLaunch launch, string codeDirectory, SandboxPaths paths, bool provisioned)
    {
        var sandbox = runtime.Sandbox!;
        var instance = new SandboxInstance(function, runtime.Port, logs, time);
        try
        {
            sandbox.Specialize(codeDirectory, function.MemorySize);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Log.SpecializeFailed(logger, function.Name, e);
            await StopPrestartedAsync(runtime).ConfigureAwait(false);
            return null;
        }

        var environment = BuildEnvironment(function, launch, paths, runtime.Port, instance, provisioned);
        ports.Bind(runtime.Port, instance);
        await instance.WritePlatformAsync(PlatformLog.InitStartLine(function, time.GetUtcNow(), provisioned)).ConfigureAwait(false);
        await instance.WritePlatformAsync(PlatformLog.VersionWarningLine(function, time.GetUtcNow(), launch.VersionWarning)).ConfigureAwait(false);
        instance.Attach(sandbox);
        runtime.Assign(environment, instance.OnOutputLineAsync);
        return instance;
    }

    /// <summary>Set in a pre-started runtime's environment: its client asks for its function before loading one.</summary>
    private const string PrestartedVariable = "_NIMBUS_PRESTARTED";

    private async Task<bool> TryEvictPrestartedAsync()
    {
        if (_prestart?.TryTakeAny() is not { } victim)
        {
            return false;
        }

        await StopPrestartedAsync(victim).ConfigureAwait(false);
        return true;
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
        await instance.ShutdownExtensionsAsync().ConfigureAwait(false);
        if (instance.Sandbox is { } sandbox)
        {
            await sandbox.DisposeAsync().ConfigureAwait(false);
        }

        ports.Return(instance.RuntimeApiPort);
        Interlocked.Add(ref _committedMb, -instance.Function.MemorySize);

        // A pool drained while instances held every slot refills as they are reaped, not at the next cold start.
        _prestart?.Refill();
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

    /// <summary>How often a node without room for a function's instance is logged for that function (events 4020, 4023).</summary>
    internal static readonly TimeSpan NoRoomLogInterval = TimeSpan.FromSeconds(10);

    /// <summary>
    /// True for the first refusal of a function (of one kind) in each <see cref="NoRoomLogInterval"/>;
    /// <paramref name="refusals"/> counts the refusals since the last line, this one included.
    /// </summary>
    private bool ShouldLogNoRoom(string functionName, int eventId, out long refusals)
    {
        var state = _noRoomLogged.GetOrAdd((functionName, eventId), _ => new NoRoomLogState());
        lock (state)
        {
            state.Refusals++;
            var now = time.GetTimestamp();
            if (state.LastLogged != 0 && time.GetElapsedTime(state.LastLogged, now) < NoRoomLogInterval)
            {
                refusals = 0;
                return false;
            }

            refusals = state.Refusals;
            state.Refusals = 0;
            state.LastLogged = now;
            return true;
        }
    }

    private sealed class NoRoomLogState
    {
        public long LastLogged;
        public long Refusals;
    }

    /// <summary>75% of the memory this process may use (.NET reads the container's cgroup limit too).</summary>
    internal static long DefaultMemoryLimitMb() => Math.Max(128, GC.GetGCMemoryInfo().TotalAvailableMemoryBytes * 3 / 4 / (1024 * 1024));

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

                _prestart?.ReapUnused(cutoff);
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

    public override void Dispose()
    {
        _cpu?.Dispose();
        base.Dispose();
    }

    private async Task StopAllInstancesAsync()
    {
        if (_prestart is { } prestart)
        {
            await prestart.StopAllAsync().WaitAsync(TimeSpan.FromSeconds(10), CancellationToken.None).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }

        var all = _pools.Values.SelectMany(p => p.Snapshot()).ToList();
        foreach (var pool in _pools.Values)
        {
            pool.Retire();
        }

        await Task.WhenAll(all.Select(StopInstanceAsync)).WaitAsync(TimeSpan.FromSeconds(10), CancellationToken.None).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }

    public Task StartingAsync(CancellationToken cancellationToken)
    {
        // Sampling from the start: a first burst finds the CPU signal known.
        _ = Cpu;
        return Task.CompletedTask;
    }

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private int BusyCount() => _pools.Values.Sum(p => p.BusyCount);

    /// <summary>What every runtime of this family sees, whatever its function: paths and the Runtime API address.</summary>
    private static Dictionary<string, string> BaseEnvironment(RuntimeLaunch launch, SandboxPaths paths, int port)
    {
        var environment = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["PATH"] = ExecutionPath,
            ["LANG"] = "en_US.UTF-8",
            ["TZ"] = ":UTC",
            ["LD_LIBRARY_PATH"] = LibraryPath,
            ["LAMBDA_TASK_ROOT"] = paths.TaskRoot,
            ["LAMBDA_RUNTIME_DIR"] = paths.RuntimeDirectory,
            ["AWS_LAMBDA_RUNTIME_API"] = $"127.0.0.1:{port}",
        };
        if (launch.Family == RuntimeFamily.Node)
        {
            environment["NODE_PATH"] = NodePath(paths);
        }
        else if (launch.Interpreter?.SharedSdk is { } sdk)
        {
            // The default Python's boto3 for an interpreter without one: after the task root, which the runtime puts first.
            environment["PYTHONPATH"] = sdk;
        }

        return environment;
    }

    private static string NodePath(SandboxPaths paths) =>
        $"/opt/nodejs/node20/node_modules:/opt/nodejs/node_modules:{paths.RuntimeDirectory}/node_modules:{paths.RuntimeDirectory}:{paths.TaskRoot}";

    private Dictionary<string, string> BuildEnvironment(FunctionRecord function, RuntimeLaunch launch, SandboxPaths paths, int port, SandboxInstance instance, bool provisioned)
    {
        var environment = new Dictionary<string, string>(StringComparer.Ordinal);
        if (function.Environment is { } user)
        {
            foreach (var (key, value) in user)
            {
                environment[key] = value;
            }
        }

        foreach (var (key, value) in BaseEnvironment(launch, paths, port))
        {
            // NODE_PATH and PYTHONPATH are the user's to set; the rest is the platform's.
            if (key is not ("NODE_PATH" or "PYTHONPATH") || !environment.ContainsKey(key))
            {
                environment[key] = value;
            }
        }

        if (launch.Family == RuntimeFamily.Dotnet)
        {
            environment.TryAdd(DotnetHeapLimitVariable, DotnetHeapLimit(NodeHeapMb(function.MemorySize)));
        }

        environment["_HANDLER"] = function.Handler;
        environment["AWS_LAMBDA_FUNCTION_NAME"] = function.Name;
        environment["AWS_LAMBDA_FUNCTION_VERSION"] = function.Version;
        environment["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] = function.MemorySize.ToString(System.Globalization.CultureInfo.InvariantCulture);
        environment["AWS_LAMBDA_LOG_GROUP_NAME"] = function.EffectiveLogGroup;
        environment["AWS_LAMBDA_LOG_STREAM_NAME"] = instance.LogStreamName;
        environment["AWS_LAMBDA_LOG_FORMAT"] = function.LogFormat;
        if (function.ApplicationLogLevel is { } logLevel)
        {
            environment["AWS_LAMBDA_LOG_LEVEL"] = logLevel;
        }

        environment["AWS_LAMBDA_INITIALIZATION_TYPE"] = provisioned ? "provisioned-concurrency" : "on-demand";
        environment["AWS_REGION"] = _options.Region;
        environment["AWS_DEFAULT_REGION"] = _options.Region;
        environment["AWS_XRAY_CONTEXT_MISSING"] = "LOG_ERROR";

        // AWS SDKs in the function reach this node's S3 (and other) APIs unchanged, signing with temporary credentials
        // of the function's execution role; a function's own settings win. An instance in a network namespace of its
        // own reaches them on its slot's listener.
        environment.TryAdd("AWS_ENDPOINT_URL", ports.EndpointUrlOf(port) ?? endpoints.MainUrl);
        if (!environment.ContainsKey("AWS_ACCESS_KEY_ID"))
        {
            var credential = credentials.For(function.Name, function.Role);
            environment["AWS_ACCESS_KEY_ID"] = credential.AccessKeyId;
            environment["AWS_SECRET_ACCESS_KEY"] = credential.SecretAccessKey;
            environment["AWS_SESSION_TOKEN"] = credential.SessionToken;
            instance.CredentialsRenewAt = credential.RenewAt;
        }
        if (launch.ExecutionEnvironment is { } executionEnvironment)
        {
            environment["AWS_EXECUTION_ENV"] = executionEnvironment;
        }

        // Layers' Python packages, where Lambda's Python runtimes look for them; a shared boto3 after them and after the
        // function's own PYTHONPATH, as AWS's runtimes keep theirs in site-packages.
        if (launch.Family == RuntimeFamily.Python)
        {
            var sdk = launch.Interpreter?.SharedSdk is { } shared ? ":" + shared : "";
            environment["PYTHONPATH"] = function.Environment?.TryGetValue("PYTHONPATH", out var own) == true
                ? own + sdk
                : $"/opt/python/lib/{function.Runtime}/site-packages:/opt/python{sdk}";
        }

        return environment;
    }

    private static bool IsSystemPath(string path) =>
        path is "/usr" or "/" || path.StartsWith("/usr/", StringComparison.Ordinal);
}
