"""One caller's warm invoke, A/B: wrk at 1 connection against several servers started side by side, runs alternated.

Issue 3's one-caller target (p50 <= 350 us) is a latency, which a shared machine's load moves by more than most changes
do. This starts one server per variant (a build's nimbusd.dll plus server environment variables), creates the trivial
node and python functions on each, and then runs wrk (1 connection, closed loop, every request SigV4-signed) for
--seconds against each variant in turn, rotating the order every round, for --rounds rounds. Each run records the load
average; the summary gives each variant's median p50 and p99 over its runs and, against the first variant, the median
of the per-round differences (a pair is two runs of the same round, seconds apart).

    python3 bench/onecaller_ab.py --variant base=/tmp/nimbus-base/nimbusd.dll \\
        --variant new=artifacts/bin/Nimbus.Server/release/nimbusd.dll \\
        --variant new+inline=artifacts/bin/Nimbus.Server/release/nimbusd.dll,NIMBUS_AWS_API_INLINE_SCHEDULING=true \\
        --variant gateway=artifacts/bin/FloorGateway/release/FloorGateway.dll

A variant whose DLL is FloorGateway.dll (bench/FloorGateway, issue 3's gateway floor) starts one gateway per runtime, each
driving that runtime's Nimbus client as plain processes, and wrk posts to its /invoke unsigned. Items of such a variant
that start with "--" are the gateway's own arguments, e.g. `--variant gateway6=.../FloorGateway.dll,--workers=6` (six
runtime processes behind it: with `--callers 32`, the like-for-like floor of a Nimbus holding six instances) or
`--variant gateway-unix=.../FloorGateway.dll,--unix` (its Runtime API on a Unix socket, docs/benchmarks.md "uds"). Each run
also records the CPU time the server's process tree (server and runtimes) spent per invoke, a figure the machine's load moves less.

Like for like: a gateway's runtime runs on the interpreter and the client files of the first Nimbus variant (read from
that server's own runtime process once its functions have run: the interpreter it resolved for nodejs20.x / python3.12,
and its build's lambda-runtimes), with nimbusd's arguments; `--python=PATH`, `--node=PATH` and `--clients=DIR` items
of a gateway variant name others. The output lists the command every variant's runtimes ran as.
"""

import argparse
import os
import shutil
import re
import signal
import statistics
import subprocess
import sys
import threading
import time
import types

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cpu_per_invoke  # noqa: E402  (server, function creation, signing, wrk)


def log(message):
    print("ab: " + message, file=sys.stderr, flush=True)


REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class Gateway:
    """bench/FloorGateway with `workers` runtime processes of `family` behind it (its --workers)."""

    def __init__(self, dll, family, env, workers=1, arguments=(), interpreter=None, clients=None):
        environment = dict(os.environ)
        for item in env:
            name, _, value = item.partition("=")
            environment[name] = value
        command = ["dotnet", dll, "--runtime", family, "--repo", REPO]
        if workers != 1:
            command += ["--workers", str(workers)]
        if interpreter:
            command += ["--interpreter", interpreter]
        if clients:
            command += ["--clients", clients]
        command += list(arguments)
        self.workers = workers
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE,
                                        stderr=subprocess.STDOUT, text=True, env=environment, start_new_session=True)
        seen = []
        while True:
            line = self.process.stdout.readline()
            match = re.search(r"listening on (http://127\.0\.0\.1:[0-9]+)", line)
            if match is not None:
                break
            seen.append(line)
            if not line or len(seen) > 200:
                self.stop()
                raise RuntimeError("FloorGateway did not start: " + "".join(seen[-20:]))
        self.url = match.group(1)
        command = re.search(r"command: (.*)\)$", line.rstrip())
        self.command = command.group(1).split(" ") if command else None
        # The runtime's own output goes to the same pipe: drained, so that it never blocks.
        threading.Thread(target=self.process.stdout.read, daemon=True).start()

    @property
    def pid(self):
        return self.process.pid

    def stop(self):
        cpu_per_invoke.stop_process(self.process)


def gateway_options(items, like=None):
    """A gateway variant's items: (NAME=VALUE environment items, --workers, the gateway's other arguments, {family:
    interpreter}, clients directory). An argument is "--name=value", or "--name" alone for a flag such as --unix;
    --python=PATH, --node=PATH and --clients=DIR override `like` ({"interpreters": {family: path}, "clients": dir}: the
    Nimbus variant the gateway is to match)."""
    env, workers, arguments = [], 1, []
    interpreters = dict((like or {}).get("interpreters") or {})
    clients = (like or {}).get("clients")
    for item in items:
        if item.startswith("--"):
            name, equals, value = item.partition("=")
            if name == "--workers":
                workers = int(value)
            elif name in ("--python", "--node"):
                interpreters[name[2:]] = value
            elif name == "--clients":
                clients = value
            elif equals:
                arguments += [name, value]
            else:
                arguments.append(name)
        else:
            env.append(item)
    return env, workers, arguments, interpreters, clients


def descendants(pid):
    found, pending = [], [pid]
    while pending:
        current = pending.pop()
        try:
            for tid in os.listdir("/proc/%d/task" % current):
                with open("/proc/%d/task/%s/children" % (current, tid)) as f:
                    children = [int(c) for c in f.read().split()]
                    found.extend(children)
                    pending.extend(children)
        except (OSError, ValueError):
            pass
    return found


PERF_EVENTS = "raw_syscalls:sys_enter,context-switches"


def perf_start(pids):
    """`perf stat` on these processes (all their threads) until perf_stop: syscalls and context switches."""
    return subprocess.Popen(["perf", "stat", "-x", ",", "-e", PERF_EVENTS, "-p", ",".join(str(p) for p in pids)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def perf_stop(child):
    child.send_signal(signal.SIGINT)
    _, err = child.communicate(timeout=30)
    counts = {}
    for line in err.splitlines():
        fields = line.split(",")
        if len(fields) > 2 and fields[0].strip().isdigit():
            counts[fields[2]] = int(fields[0])
    return counts.get("raw_syscalls:sys_enter", 0), counts.get("context-switches", 0)


def tree_cpu(pid):
    """CPU seconds of pid and its descendants (the runtimes), from /proc."""
    total, pending = 0.0, [pid]
    while pending:
        current = pending.pop()
        try:
            total += cpu_per_invoke.proc_cpu_seconds(current)
            for tid in os.listdir("/proc/%d/task" % current):
                with open("/proc/%d/task/%s/children" % (current, tid)) as f:
                    pending.extend(int(c) for c in f.read().split())
        except (OSError, ValueError):
            pass
    return total


RUNTIME_COMMS = {"node": {"node"}, "python": {"python", "python3", "python3.11", "python3.12", "python3.13"}}


def runtimes_cpu(pid, family):
    """{pid: (CPU seconds, voluntary context switches)} of the server's runtime processes of `family` (its instances and
    idle pre-started runtimes, which use none): the runtime's own CPU, without the other families' idle processes."""
    found = {}
    for runtime in cpu_per_invoke.runtime_processes(pid, RUNTIME_COMMS[family]):
        try:
            found[runtime] = (cpu_per_invoke.proc_cpu_seconds(runtime), cpu_per_invoke.proc_switches(runtime))
        except OSError:
            pass
    return found


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variant", action="append", required=True,
                        help="LABEL=DLL[,NAME=VALUE...]: a server to measure (repeatable; the first is the baseline)")
    parser.add_argument("--runtimes", default="node,python")
    parser.add_argument("--callers", type=int, default=1,
                        help="wrk connections per run (1: one caller's latency; 32: throughput A/B, e.g. instance counts)")
    parser.add_argument("--seconds", type=float, default=2)
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--warmup", type=float, default=3, help="seconds of unmeasured load per variant and runtime first")
    parser.add_argument("--wrk", default=shutil.which("wrk") or "wrk")
    parser.add_argument("--perf", action="store_true",
                        help="also count syscalls and context switches per invoke (perf stat), the server's and the runtimes'")
    args = parser.parse_args()

    variants = []
    for spec in args.variant:
        label, _, rest = spec.partition("=")
        parts = rest.split(",")
        variants.append((label, types.SimpleNamespace(server=parts[0], env=parts[1:])))
    families = [f for f in args.runtimes.split(",") if f]
    body = '{"hello":"world","n":42}'  # what wrk_invoke.lua posts

    servers = {}
    commands = {}  # (label, family): the runtime's command line
    try:
        targets = {}
        gateways = [(label, options) for label, options in variants if os.path.basename(options.server) == "FloorGateway.dll"]
        like = None
        for label, options in variants:
            if (label, options) in gateways:
                continue
            server = servers[label] = cpu_per_invoke.Server(options)
            for family in families:
                name = "ab-%s" % family
                cpu_per_invoke.create_function(server.url, name, family)
                url = "%s/2015-03-31/functions/%s/invocations" % (server.url, name)
                targets[(label, family)] = (url, server)
            log("%s on %s (%s)" % (label, server.url, " ".join(options.env) or "defaults"))

        def run(label, family, seconds):
            url, server = targets[(label, family)]
            # A signature holds for the server's 15-minute window: signed again for every run.
            headers = {} if isinstance(server, Gateway) else cpu_per_invoke.signed_headers(url, body)
            perfs = None
            if args.perf:
                perfs = [perf_start([server.pid]), perf_start(descendants(server.pid))]
                time.sleep(0.3)  # perf attaches to every thread before the run starts
            before, before_server = tree_cpu(server.pid), cpu_per_invoke.proc_cpu_seconds(server.pid)
            before_runtimes = runtimes_cpu(server.pid, family)
            result = cpu_per_invoke.run_wrk(args.wrk, url, args.callers, seconds, headers)
            invokes = max(1, result["requests"])
            result["cpu_us"] = 1e6 * (tree_cpu(server.pid) - before) / invokes
            result["server_cpu_us"] = 1e6 * (cpu_per_invoke.proc_cpu_seconds(server.pid) - before_server) / invokes
            after_runtimes = runtimes_cpu(server.pid, family)
            result["runtime_cpu_us"] = 1e6 * sum(after_runtimes[p][0] - before_runtimes.get(p, (0, 0))[0] for p in after_runtimes) / invokes
            result["runtime_switches"] = sum(after_runtimes[p][1] - before_runtimes.get(p, (0, 0))[1] for p in after_runtimes) / invokes
            if perfs is not None:
                # Counted over a little more than the run (perf's start and stop): per invoke, a slight overcount.
                invokes = max(1, result["requests"])
                (sys_s, cs_s), (sys_r, cs_r) = perf_stop(perfs[0]), perf_stop(perfs[1])
                result["perf"] = (sys_s / invokes, cs_s / invokes, sys_r / invokes, cs_r / invokes)
            return result

        # Nimbus first: its runtimes' commands are what the gateways then run.
        for label, options in variants:
            if (label, options) in gateways:
                continue
            for family in families:
                run(label, family, args.warmup)
                commands[(label, family)] = cpu_per_invoke.runtime_command(servers[label].pid, family)
            if like is None:
                like = {"interpreters": {f: commands[(label, f)][0] for f in families if commands[(label, f)]},
                        "clients": cpu_per_invoke.clients_directory(options.server, options.env)}
        for label, options in gateways:
            env, workers, arguments, interpreters, clients = gateway_options(options.env, like)
            for family in families:
                gateway = servers[(label, family)] = Gateway(options.server, family, env, workers, arguments,
                                                             interpreters.get(family), clients)
                targets[(label, family)] = (gateway.url + "/invoke", gateway)
                commands[(label, family)] = gateway.command
                run(label, family, args.warmup)
            log("%s: FloorGateway per runtime, %d runtime process%s each" % (label, workers, "" if workers == 1 else "es"))
        for (label, family), command in commands.items():
            log("%s %s runs as: %s" % (label, family, " ".join(command or ["?"])))

        runs = {}
        labels = [label for label, _ in variants]
        for round_number in range(args.rounds):
            shift = round_number % len(labels)
            order = labels[shift:] + labels[:shift]
            for family in families:
                for label in order:
                    result = run(label, family, args.seconds)
                    result["load"] = os.getloadavg()[0]
                    result["round"] = round_number
                    runs.setdefault((label, family), []).append(result)
                    log("round %d %s %s: p50 %d us, p99 %d us, %.0f/s, %.0f us CPU/invoke (server %.0f, runtime %.0f), load %.1f, %d errors" % (
                        round_number + 1, family, label, result["p50_us"], result["p99_us"], result["rate"],
                        result["cpu_us"], result["server_cpu_us"], result["runtime_cpu_us"], result["load"], result["errors"]))
                    if "perf" in result:
                        log("  per invoke: server %.1f syscalls, %.1f switches; runtime %.1f syscalls, %.1f switches" % result["perf"])
    finally:
        for server in servers.values():
            server.stop()

    loads = [r["load"] for v in runs.values() for r in v]
    print("%s, wrk %d connection%s, %d rounds of %g s per variant and runtime, load average %.1f-%.1f (%s UTC)" % (
        "One caller" if args.callers == 1 else "%d callers" % args.callers, args.callers, "" if args.callers == 1 else "s",
        args.rounds, args.seconds, min(loads), max(loads), time.strftime("%H:%M", time.gmtime())))
    print()
    print("| variant | runtime | p50 µs (median of runs) | p50 range | p99 µs (median) | p50 minus %s's, median of pairs "
          "| CPU µs/invoke, server + runtime (median) | CPU minus %s's, median of pairs | server CPU µs/invoke (median) "
          "| server CPU minus %s's, median of pairs | runtime CPU µs/invoke (median) | runtime switches/invoke | req/s (median) "
          "| req/s / %s's, median of pairs | errors |" % (labels[0], labels[0], labels[0], labels[0]))
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for family in families:
        base = {r["round"]: r for r in runs[(labels[0], family)]}
        for label in labels:
            mine = runs[(label, family)]
            p50s = [r["p50_us"] for r in mine]
            pairs = [r["p50_us"] - base[r["round"]]["p50_us"] for r in mine if r["round"] in base]
            cpu_pairs = [r["cpu_us"] - base[r["round"]]["cpu_us"] for r in mine if r["round"] in base]
            server_pairs = [r["server_cpu_us"] - base[r["round"]]["server_cpu_us"] for r in mine if r["round"] in base]
            rate_pairs = [r["rate"] / max(1, base[r["round"]]["rate"]) for r in mine if r["round"] in base]
            print("| %s | %s | %d | %d-%d | %d | %+d | %d | %+d | %d | %+d | %.1f | %.2f | %.0f | %.3f | %d |" % (
                label, family, statistics.median(p50s), min(p50s), max(p50s), statistics.median(r["p99_us"] for r in mine),
                statistics.median(pairs), statistics.median(r["cpu_us"] for r in mine), statistics.median(cpu_pairs),
                statistics.median(r["server_cpu_us"] for r in mine), statistics.median(server_pairs),
                statistics.median(r["runtime_cpu_us"] for r in mine), statistics.median(r["runtime_switches"] for r in mine),
                statistics.median(r["rate"] for r in mine), statistics.median(rate_pairs), sum(r["errors"] for r in mine)))
    print()
    print("The runtimes ran as (interpreter, arguments, client):")
    print()
    for family in families:
        for label in labels:
            print("- %s, %s: `%s`" % (label, family, " ".join(commands.get((label, family)) or ["?"])))
    if args.perf:
        print()
        print("| variant | runtime | server syscalls/invoke | server switches/invoke | runtime syscalls/invoke | runtime switches/invoke |")
        print("| --- | --- | ---: | ---: | ---: | ---: |")
        for family in families:
            for label in labels:
                mine = [r["perf"] for r in runs[(label, family)]]
                print("| %s | %s | %s |" % (label, family, " | ".join("%.1f" % statistics.median(m[i] for m in mine) for i in range(4))))
    return 1 if any(r["errors"] for v in runs.values() for r in v) else 0


if __name__ == "__main__":
    sys.exit(main())
