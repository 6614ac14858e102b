using Microsoft.Extensions.Options;

namespace Nimbus;

/// <summary>Settings of one Nimbus node. Every property has a row in the README's configuration table.</summary>
public sealed record NimbusOptions
{
    /// <summary>Configuration section the options bind from.</summary>
    public const string SectionName = "Nimbus";

    /// <summary>URL the AWS-compatible APIs listen on.</summary>
    public string Listen { get; init; } = "http://127.0.0.1:4566";

    /// <summary>Directory holding the metadata database, code and logs.</summary>
    public string DataDirectory { get; init; } = ".nimbus";

    /// <summary>AWS region this node answers as.</summary>
    public string Region { get; init; } = "us-east-1";

    /// <summary>12-digit account id used in ARNs.</summary>
    public string AccountId { get; init; } = "000000000000";

    /// <summary>
    /// Most instances that may run at once on this node, pre-started runtimes included (also the number of Runtime API
    /// ports reserved). A slot costs two held loopback ports until its first use, then a network namespace.
    /// </summary>
    public int MaxInstances { get; init; } = 256;

    /// <summary>
    /// The account's concurrency limit: most invocations running at once over all functions. Reserved concurrency
    /// is carved out of it; functions without a reservation share the rest. Null: sized to the node's memory (see
    /// <see cref="DefaultConcurrencyLimit"/>).
    /// </summary>
    public int? ConcurrencyLimit { get; init; }

    /// <summary>An idle instance is stopped after this long without an invocation.</summary>
    public TimeSpan IdleInstanceTimeout { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>Run instances inside bubblewrap when it is installed.</summary>
    public bool UseBubblewrap { get; init; } = true;

    /// <summary>
    /// Memory (MB) the instances of this node may add up to, by their MemorySize; null = 75% of the machine's
    /// memory (or of this server's own cgroup limit, when lower).
    /// </summary>
    public int? InstanceMemoryLimitMb { get; init; }

    /// <summary>How long an invocation waits for a warm instance when the node has no room for a new one.</summary>
    public TimeSpan AdmissionWait { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Scale-out that fits the node: when a function version's invocations average no longer than this (or none has
    /// ended yet), it already has 3 busy or starting instances per core and the node's CPUs are at least 85% busy, a
    /// caller waits for one of its instances to come back (handed over as it is released) instead of taking an idle one
    /// or starting another, at most about one of its cold starts. Zero turns it off.
    /// </summary>
    public TimeSpan ScaleOutWait { get; init; } = TimeSpan.FromMilliseconds(50);

    /// <summary>
    /// Runtime API connections served with inline scheduling (<see cref="Sandboxes.RuntimeApiTransport"/>), and with
    /// <see cref="InlineReceives"/> received on the socket engine's thread: a runtime's request takes no thread-pool work
    /// item. Off by default: with <see cref="AwsApiInlineScheduling"/> too a one-caller invoke takes no work item and
    /// less CPU, but every invoke then runs on the engine's one thread, and under load 32 callers were served 0.65-0.70x
    /// the default's invokes/s (docs/benchmarks.md, "2026-12-07 (pool)"); false serves them with Kestrel's default transport.
    /// </summary>
    public bool RuntimeApiInlineScheduling { get; init; }

    /// <summary>
    /// Responses on the main listener and on the Runtime API (when it is not inline-scheduled already) are sent by the
    /// thread that flushed them (<see cref="Http.InlineSends"/>) instead of through Kestrel's I/O queues: three fewer
    /// thread-pool hand-offs per warm invocation. False: Kestrel's default transport for both.
    /// </summary>
    public bool InlineSends { get; init; } = true;

    /// <summary>
    /// With <see cref="InlineSends"/>: the connections of the main listener and of the Runtime API receive on the socket
    /// engine's thread (the socket's completions inline), one thread-pool hand-off fewer per request; requests are still
    /// parsed and served on the thread pool. False: receives are queued to the thread pool, as Kestrel's default. On by
    /// default: on a quiet 2-core node it cut nimbusd's CPU per one-caller invoke by 35-39 µs (14%) at the same p50
    /// (docs/benchmarks.md, "2026-12-07 (back)").
    /// </summary>
    public bool InlineReceives { get; init; } = true;

    /// <summary>
    /// The AWS API listener (plain HTTP and TLS) served with Kestrel's inline scheduling. On the plain listener, with
    /// <see cref="InlineReceives"/>, a small synchronous Invoke is received, parsed and served on the socket engine's
    /// thread (no thread-pool work item) and every other request is handed to the thread pool before it runs
    /// (<see cref="Http.InlineInvokes"/>), so nothing that blocks runs on that thread. Safe because no handler reads a
    /// request body synchronously (<see cref="Buckets.AwsChunkedStream"/> refuses to). Off by default (see
    /// <see cref="RuntimeApiInlineScheduling"/>). False: Kestrel's default scheduling.
    /// </summary>
    public bool AwsApiInlineScheduling { get; init; }

    /// <summary>
    /// How instances reach the network: <see cref="Sandboxes.SandboxNetwork.Isolated"/> (the default) gives each instance
    /// a network namespace of its own with its Runtime API and this node's AWS APIs, and egress through slirp4netns that
    /// keeps the host's loopback out (needs root; without slirp4netns, no egress); <see cref="Sandboxes.SandboxNetwork.Host"/>
    /// shares the host's network.
    /// </summary>
    public Sandboxes.SandboxNetwork SandboxNetwork { get; init; } = Sandboxes.SandboxNetwork.Isolated;

    /// <summary>The slirp4netns that gives isolated instance networks egress: a path, or a name looked up on PATH.</summary>
    public string Slirp4netns { get; init; } = Sandboxes.SandboxEgress.DefaultProgram;

    /// <summary>Give each instance a cgroup (memory limit, CPU weight, pids limit, freezer) when the host allows.</summary>
    public bool UseCgroups { get; init; } = true;

    /// <summary>
    /// Runtimes kept started and waiting for a function, per runtime shape (runtime, Node heap size, /tmp size),
    /// so a cold start only hands one its code; 0 turns pre-starting off. Needs bubblewrap and root. The node and python
    /// shapes of Lambda's default sizes keep this many from the start; .NET's and shapes that join on demand keep one,
    /// and every shape grows up to <see cref="PrestartPoolMax"/> when cold starts drain it. Unset: one per 512 MB of the
    /// instance memory budget, 1 to 32 (<see cref="PrestartPoolSize"/>): ~8 MB of cgroup memory each, so about 3% of
    /// the budget for node's and python's together. 32: a 50-function back-to-back run of cold starts finds most of
    /// its runtimes waiting on a 2-core node, which cannot refill faster than one per ~30-50 ms (docs/benchmarks.md).
    /// </summary>
    public int? PrestartPool { get; init; }

    /// <summary>
    /// Most runtimes kept pre-started per runtime shape: a shape whose cold starts find no runtime waiting (drained faster
    /// than it refills) doubles its pool up to this, and returns to <see cref="PrestartPool"/> after a minute without such a
    /// shortfall (or <see cref="IdleInstanceTimeout"/>, when longer). Equal to <see cref="PrestartPool"/>: a fixed pool.
    /// </summary>
    public int PrestartPoolMax { get; init; } = 64;

    /// <summary>The pre-start pool's floor: <see cref="PrestartPool"/>, or one per 512 MB of the instance memory budget (1 to 32).</summary>
    internal int PrestartPoolSize() => PrestartPool ?? (int)Math.Clamp(InstanceMemoryBudgetMb() / 512, 1, 32);

    /// <summary>
    /// The base delay of an asynchronous event's function-error retries: the n-th retry waits n times this (Lambda:
    /// about 1 min, then 2 min). Short values let tests see retries in seconds.
    /// </summary>
    public TimeSpan AsyncRetryDelay { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// How long a queue poller reuses its check that the function's execution role may receive from its queue: a
    /// revoked permission stops its receives within this. Zero checks before every receive.
    /// </summary>
    public TimeSpan PollerPermissionCache { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>How often log groups' retention policies are enforced (expired events deleted).</summary>
    public TimeSpan LogRetentionSweepInterval { get; init; } = TimeSpan.FromHours(1);

    /// <summary>
    /// The interpreter python3.x functions run on: a path, or a name looked up on PATH (null: python3 on PATH). Its
    /// own site-packages are the functions', so the boto3 they import is that interpreter's.
    /// </summary>
    public string? Python { get; init; }

    /// <summary>
    /// Interpreters named per runtime identifier (<c>python3.13=/usr/local/bin/python3.13,java21=/usr/lib/jvm/jdk-21/bin/java</c>),
    /// ahead of the ones found on this node; null: only those found.
    /// </summary>
    public string? RuntimeInterpreters { get; init; }

    /// <summary>Directory with the runtime interface clients; defaults to the one shipped next to the server.</summary>
    public string? RuntimesDirectory { get; init; }

    /// <summary>Memory (MB) the instances of this node may add up to: <see cref="InstanceMemoryLimitMb"/> or its default.</summary>
    internal long InstanceMemoryBudgetMb() => InstanceMemoryLimitMb ?? Sandboxes.SandboxManager.DefaultMemoryLimitMb();

    /// <summary>The account concurrency limit in force: <see cref="ConcurrencyLimit"/>, or its default for this node's memory.</summary>
    internal int AccountConcurrencyLimit() => ConcurrencyLimit ?? DefaultConcurrencyLimit(InstanceMemoryBudgetMb());

    /// <summary>
    /// As many invocations as instances of the smallest size (128 MB) fit in the node's instance memory, at most
    /// AWS's default of 1,000: every admitted invocation could then get an instance, and GetAccountSettings reports a
    /// limit the node can honour. Memory admission still applies to larger functions.
    /// </summary>
    internal static int DefaultConcurrencyLimit(long memoryBudgetMb) =>
        (int)Math.Clamp(memoryBudgetMb / Functions.LambdaLimits.MinMemorySize, 1, Functions.LambdaLimits.AccountConcurrency);
}

internal sealed class NimbusOptionsValidator : IValidateOptions<NimbusOptions>
{
    public ValidateOptionsResult Validate(string? name, NimbusOptions options)
    {
        var errors = new List<string>();
        if (!Uri.TryCreate(options.Listen, UriKind.Absolute, out var listen) || listen.Scheme != Uri.UriSchemeHttp)
        {
            errors.Add($"Listen '{options.Listen}' must be an absolute http:// URL such as http://127.0.0.1:4566.");
        }
        else if (listen.Host != "localhost" && !System.Net.IPAddress.TryParse(listen.Host, out _))
        {
            errors.Add($"Listen '{options.Listen}' must name an IP address or localhost, such as http://127.0.0.1:4566 or http://0.0.0.0:4566 (a host name is not resolved).");
        }

        Sandboxes.RuntimeCatalog.ParseInterpreters(options.RuntimeInterpreters, out var interpreterErrors);
        errors.AddRange(interpreterErrors);

        if (string.IsNullOrWhiteSpace(options.DataDirectory))
        {
            errors.Add("DataDirectory must name a directory, for example ./.nimbus.");
        }

        if (!Functions.LambdaLimits.RegionPattern().IsMatch(options.Region))
        {
            errors.Add($"Region '{options.Region}' is not an AWS region name such as us-east-1.");
        }

        if (options.AccountId.Length != 12 || !options.AccountId.All(char.IsAsciiDigit))
        {
            errors.Add($"AccountId '{options.AccountId}' must be exactly 12 digits.");
        }

        if (options.MaxInstances is < 1 or > 4096)
        {
            errors.Add($"MaxInstances {options.MaxInstances} must be between 1 and 4096.");
        }

        if (options.ConcurrencyLimit < 1)
        {
            errors.Add($"ConcurrencyLimit {options.ConcurrencyLimit} must be at least 1 (AWS's default is {Functions.LambdaLimits.AccountConcurrency}), or unset to size it to the node's memory.");
        }

        if (options.InstanceMemoryLimitMb is < 128)
        {
            errors.Add($"InstanceMemoryLimitMb {options.InstanceMemoryLimitMb} must be at least 128 (one instance of the smallest size).");
        }

        if (options.AdmissionWait < TimeSpan.Zero || options.AdmissionWait > TimeSpan.FromMinutes(1))
        {
            errors.Add($"AdmissionWait {options.AdmissionWait} must be between 00:00:00 and 00:01:00.");
        }

        if (options.ScaleOutWait < TimeSpan.Zero || options.ScaleOutWait > TimeSpan.FromSeconds(1))
        {
            errors.Add($"ScaleOutWait {options.ScaleOutWait} must be between 00:00:00 (off) and 00:00:01.");
        }

        if (options.PrestartPool is < 0 or > 64)
        {
            errors.Add($"PrestartPool {options.PrestartPool} must be between 0 (off) and 64.");
        }

        if (options.PrestartPoolMax is < 0 or > 64)
        {
            errors.Add($"PrestartPoolMax {options.PrestartPoolMax} must be between 0 and 64 (and is never below PrestartPool).");
        }

        if (options.IdleInstanceTimeout <= TimeSpan.Zero)
        {
            errors.Add("IdleInstanceTimeout must be positive, for example 00:10:00.");
        }

        if (options.AsyncRetryDelay < TimeSpan.Zero || options.AsyncRetryDelay > TimeSpan.FromHours(1))
        {
            errors.Add($"AsyncRetryDelay {options.AsyncRetryDelay} must be between 00:00:00 and 01:00:00 (Lambda's is 00:01:00).");
        }

        if (options.PollerPermissionCache < TimeSpan.Zero || options.PollerPermissionCache > TimeSpan.FromMinutes(5))
        {
            errors.Add($"PollerPermissionCache {options.PollerPermissionCache} must be between 00:00:00 and 00:05:00.");
        }

        if (options.LogRetentionSweepInterval < TimeSpan.FromMilliseconds(100) || options.LogRetentionSweepInterval > TimeSpan.FromDays(1))
        {
            errors.Add($"LogRetentionSweepInterval {options.LogRetentionSweepInterval} must be between 00:00:00.1 and 1.00:00:00.");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
