namespace Nimbus.Hosting;

/// <summary>One setting: its configuration key, environment variable, command-line switch and meaning.</summary>
internal sealed record NimbusSetting(string Key, string EnvironmentVariable, string? Switch, string Default, string Description);

/// <summary>
/// Every setting of a node, in one table: the README's configuration table mirrors it. Precedence, lowest
/// first: defaults, appsettings.json (section "Nimbus"), NIMBUS_* environment variables, command-line switches.
/// </summary>
internal static class NimbusSettings
{
    public static readonly IReadOnlyList<NimbusSetting> All =
    [
        new("Nimbus:Listen", "NIMBUS_LISTEN", "--listen", "http://127.0.0.1:4566", "URL the AWS-compatible APIs listen on; port 0 picks a free port."),
        new("Nimbus:DataDirectory", "NIMBUS_DATA", "--data", "./.nimbus", "Directory for metadata.db, events.db, logs.db and code."),
        new("Nimbus:Region", "NIMBUS_REGION", "--region", "us-east-1", "Region in ARNs and in the sandbox environment."),
        new("Nimbus:AccountId", "NIMBUS_ACCOUNT_ID", "--account-id", "000000000000", "12-digit account id in ARNs."),
        new("Nimbus:MaxInstances", "NIMBUS_MAX_INSTANCES", "--max-instances", "256", "Most function instances running at once on this node, pre-started runtimes included."),
        new("Nimbus:ConcurrencyLimit", "NIMBUS_CONCURRENCY_LIMIT", "--concurrency-limit", "instance memory / 128 MB, at most 1000", "Account concurrency limit: most invocations running at once; reserved concurrency is carved out of it."),
        new("Nimbus:InstanceMemoryLimitMb", "NIMBUS_INSTANCE_MEMORY_LIMIT_MB", "--instance-memory-limit-mb", "75% of RAM", "Instances' MemorySize may add up to this; beyond it an invoke waits for a warm instance, then gets 429."),
        new("Nimbus:AdmissionWait", "NIMBUS_ADMISSION_WAIT", null, "00:00:10", "How long an invoke waits for a warm instance when the node is full."),
        new("Nimbus:ScaleOutWait", "NIMBUS_SCALE_OUT_WAIT", null, "00:00:00.050", "Zero turns it off. Callers of a function whose invocations average no longer than this (or none ended yet and none ran longer), with 3 busy or starting instances per core on a node at least 85% busy, wait (at most about a cold start) for one to come back instead of taking an idle one or starting another."),
        new("Nimbus:RuntimeApiInlineScheduling", "NIMBUS_RUNTIME_API_INLINE_SCHEDULING", null, "false", "Serve the Runtime API's connections with inline scheduling (with inline receives, on the socket engine's thread): no thread-pool work item per runtime request, but every invoke then runs on that one thread (fewer invokes/s at 32 callers under load); false = Kestrel's default transport."),
        new("Nimbus:InlineSends", "NIMBUS_INLINE_SENDS", null, "true", "Responses of the AWS API listener and the Runtime API are sent by the thread that wrote them, not through Kestrel's I/O queues: three fewer thread-pool hand-offs per invoke; false = Kestrel's default transport."),
        new("Nimbus:InlineReceives", "NIMBUS_INLINE_RECEIVES", null, "true", "With inline sends: the AWS API listener's and the Runtime API's connections receive on the socket engine's thread instead of a thread-pool work item (one hand-off fewer per request, 14% less server CPU per one-caller invoke; requests are still served on the thread pool); false = Kestrel's default."),
        new("Nimbus:AwsApiInlineScheduling", "NIMBUS_AWS_API_INLINE_SCHEDULING", null, "false", "Serve the AWS API listener's connections with inline scheduling: a small synchronous Invoke runs on the thread that received it (with inline receives, the socket engine's: no thread-pool work item), every other request on the thread pool; false = Kestrel's default scheduling."),
        new("Nimbus:IdleInstanceTimeout", "NIMBUS_IDLE_INSTANCE_TIMEOUT", null, "00:10:00", "An instance idle this long is stopped (scale to zero)."),
        new("Nimbus:UseBubblewrap", "NIMBUS_USE_BUBBLEWRAP", null, "true", "Sandbox instances with bubblewrap when it is installed."),
        new("Nimbus:SandboxNetwork", "NIMBUS_SANDBOX_NETWORK", null, "isolated", "isolated: a network namespace per instance slot reaching its Runtime API, this node's AWS APIs (AWS_ENDPOINT_URL) and, through slirp4netns, other hosts and the internet, but not the host's loopback or another instance (needs root: left unset, a non-root server falls back to host with a warning; set explicitly, the start fails, naming host); host: instances share the host's network, its loopback services and each other's ports included."),
        new("Nimbus:Slirp4netns", "NIMBUS_SLIRP4NETNS", null, "slirp4netns (on PATH)", "The slirp4netns giving isolated instances egress. Missing or not working: instances stay isolated, without egress, and a warning at start says so."),
        new("Nimbus:UseCgroups", "NIMBUS_USE_CGROUPS", null, "true", "Give each instance a cgroup: memory limit, CPU weight, 1024 processes, freezer."),
        new("Nimbus:PrestartPool", "NIMBUS_PRESTART_POOL", null, "1 per 512 MB of instance memory, 1-32", "Runtimes kept started per runtime shape (node and python at Lambda's default sizes; .NET's and other shapes keep 1 until drained), waiting for a function's first invoke; 0 = off."),
        new("Nimbus:PrestartPoolMax", "NIMBUS_PRESTART_POOL_MAX", null, "64", "Most runtimes kept started per runtime shape: new functions' first cold starts that find none waiting double a shape's pool up to this (a function scaling out does not); it returns to NIMBUS_PRESTART_POOL after a minute without (or the idle timeout, if longer). Never below NIMBUS_PRESTART_POOL."),
        new("Nimbus:AsyncRetryDelay", "NIMBUS_ASYNC_RETRY_DELAY", null, "00:01:00", "Base delay of async function-error retries: retry n waits n × this (Lambda: ~1 min, then ~2 min)."),
        new("Nimbus:PollerPermissionCache", "NIMBUS_POLLER_PERMISSION_CACHE", null, "00:00:02", "How long a queue poller reuses its check that the function's execution role may receive from the queue; a revoked permission stops its receives within this. 00:00:00 = before every receive."),
        new("Nimbus:LogRetentionSweepInterval", "NIMBUS_LOG_RETENTION_SWEEP_INTERVAL", null, "01:00:00", "How often log groups' retention policies are enforced: events older than the retention are deleted."),
        new("Nimbus:Dev", "NIMBUS_DEV", "--dev", "false", "Dev mode: accept any well-formed SigV4 signature as root. Local play only; announced loudly at start."),
        new("Nimbus:RootAccessKeyId", "NIMBUS_ROOT_ACCESS_KEY_ID", null, "(generated)", "Root access key id; with the secret below replaces the key generated into <data>/root-credentials."),
        new("Nimbus:RootSecretAccessKey", "NIMBUS_ROOT_SECRET_ACCESS_KEY", null, "(generated)", "Root secret access key. Never logged."),
        new("Nimbus:RequestsPerSecondPerKey", "NIMBUS_REQUESTS_PER_SECOND_PER_KEY", null, "0", "Rate limit per access key (bursts of twice that); over it: ThrottlingException / Throttling / SlowDown. 0 = off."),
        new("Nimbus:Tls:CertificatePath", "NIMBUS_TLS_CERT", "--tls-cert", "(none: HTTP only)", "Serve HTTPS too, with this certificate: PEM (key in --tls-key or the same file) or PFX/PKCS#12 (.pfx, .p12). Missing or unreadable: the start fails."),
        new("Nimbus:Tls:KeyPath", "NIMBUS_TLS_KEY", "--tls-key", "(none)", "The PEM private key of --tls-cert, when it is in a file of its own."),
        new("Nimbus:Tls:Password", "NIMBUS_TLS_PASSWORD", null, "(none)", "Password of the PFX file or of an encrypted PEM key. Never logged."),
        new("Nimbus:Tls:Listen", "NIMBUS_TLS_LISTEN", "--tls-listen", "https://127.0.0.1:4567", "URL of the HTTPS listener (same APIs as --listen, which stays plain HTTP for functions' SDK calls); port 0 picks a free port."),
        new("Nimbus:InstanceCredentialLifetime", "NIMBUS_INSTANCE_CREDENTIAL_LIFETIME", null, "12:00:00", "Lifetime of a function instance's execution-role credentials; an instance is retired (a fresh one takes over) before they expire. Short values are for tests."),
        new("Nimbus:Metering", "NIMBUS_METERING", null, "true", "Record every invocation in metrics.db (usage report, CloudWatch API data); false turns the meter off."),
        new("Nimbus:BenchDisableFunctionLogs", "NIMBUS_BENCH_DISABLE_FUNCTION_LOGS", null, "false", "Benchmarks only (bench/metering_bench.py): true drops functions' log lines instead of storing them. Never in production."),
        new("Nimbus:MeteringRetentionDays", "NIMBUS_METERING_RETENTION_DAYS", null, "400", "Days metrics.db keeps each invocation's row and the per-minute rollups; older rows are deleted."),
        new("Nimbus:MetricSampleRetentionDays", "NIMBUS_METRIC_SAMPLE_RETENTION_DAYS", null, "15", "Days metrics.db keeps each AsyncEventAge sample (its percentiles); older samples are deleted."),
        new("Nimbus:PricePerMillionRequests", "NIMBUS_PRICE_PER_MILLION_REQUESTS", null, "0.20", "Usage report price of 1M requests, USD (AWS's x86 price)."),
        new("Nimbus:PricePerGbSecond", "NIMBUS_PRICE_PER_GB_SECOND", null, "0.0000166667", "Usage report price of one GB-second, USD (AWS's x86 price)."),
        new("Nimbus:OtlpEndpoint", "NIMBUS_OTLP_ENDPOINT", null, "(none; else OTEL_EXPORTER_OTLP_ENDPOINT)", "OTLP/HTTP base URL traces are exported to (spans go to <url>/v1/traces); unset: no export."),
        new("Nimbus:Debug", "NIMBUS_DEBUG", null, "false", "1 or true: a start that fails prints its stack trace too (as does a Debug default log level); otherwise one line per problem."),
        new("Nimbus:Python", "NIMBUS_PYTHON", null, "python3 (on PATH)", "The default Python: a path or a name on PATH. The python3.x identifier of its version runs on it, and the others when this node has no interpreter of their version (with a warning). Its site-packages are its functions' (after their code and layers), so they import its boto3, which interpreters without one share; the version is logged at start, with a warning when it has none or one too old for AWS_ENDPOINT_URL."),
        new("Nimbus:RuntimeInterpreters", "NIMBUS_RUNTIME_INTERPRETERS", null, "(none: found on this node)", "Interpreters per runtime identifier, runtime=path comma-separated (python3.13=/usr/local/bin/python3.13,java21=/usr/lib/jvm/jdk-21/bin/java), ahead of those found on PATH, in pyenv's and nvm's versions and /usr/lib/jvm."),
        new("Nimbus:RuntimesDirectory", "NIMBUS_RUNTIMES_DIRECTORY", null, "(next to the server)", "Where the runtime clients (runtimes/) are."),
    ];

    public static Dictionary<string, string> SwitchMappings() =>
        All.Where(s => s.Switch is not null).ToDictionary(s => s.Switch!, s => s.Key, StringComparer.Ordinal);

    /// <summary>The NIMBUS_* variables that are set, as configuration keys.</summary>
    public static IEnumerable<KeyValuePair<string, string?>> FromEnvironment()
    {
        foreach (var setting in All)
        {
            if (Environment.GetEnvironmentVariable(setting.EnvironmentVariable) is { Length: > 0 } value)
            {
                yield return new(setting.Key, value);
            }
        }
    }
}
