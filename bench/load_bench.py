"""Warm-invoke load benchmark: wrk against Nimbus's Invoke API and the bare Kestrel floor, at 1 and 32 callers.

Run through bench/run.sh (after bench/invoke_bench.py, on the same servers), or by hand against running servers:

    python3 bench/load_bench.py --nimbus http://127.0.0.1:4566 --floor http://127.0.0.1:PORT

The Python client of invoke_bench.py costs about 0.37 ms per round trip by itself and cannot drive more than a
few thousand requests per second from threads under the GIL, so it can show neither a 350 us p50 nor 5,000
invokes/s. wrk (C, epoll, keep-alive connections; Debian's `wrk` package) can: a bare Kestrel round trip
measures about 50 us with it here. Each caller is one wrk connection, sending the next request as soon as the
answer is in (closed loop); bench/wrk_invoke.lua POSTs the event and checks every answer (200, no
X-Amz-Function-Error, "ok": true). Runs of all targets are interleaved and repeated (--repeat) so that every
figure is the median of runs taken minutes apart at most, under the same outside load; every run is printed too, with
the range. Before the measured runs each runtime is loaded at the most callers for at least --settle-min seconds (20),
until its CPU per invoke stops falling and its instance set stops growing (see settle), so the figures are the steady
state rather than the server's first minute of tier-up or a runtime's first burst. With --nimbus-pid every run at the
most callers is printed with what the server did in it (CPU per invoke of nimbusd and of the runtimes, the function's
instances and scale-outs, runtime processes, garbage collections and their pause), so a slow run says why.
Latencies are wrk's (HdrHistogram), in microseconds; rates in requests per second.
"""

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
import urllib.request
from urllib.parse import urlsplit

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import invoke_bench  # noqa: E402  (function zips, handlers and the control-plane client)
import sigv4  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.join(HERE, "wrk_invoke.lua")
WRK_BODY = '{"hello":"world","n":42}'  # what wrk_invoke.lua posts
TARGETS = {"node": "Nimbus warm invoke, node", "python": "Nimbus warm invoke, python"}
FLOOR = "floor: bare Kestrel POST echo"
GATEWAY = "floor: gateway (bench/FloorGateway), one %s process"
GATEWAY_MANY = "floor: gateway (bench/FloorGateway), %d %s processes (Nimbus's instances)"
# Issue 3's targets on this 2-core machine.
TARGET_P50_US = 350
TARGET_RATE = 5000


def run_wrk(wrk, url, callers, seconds, check):
    threads = 1 if callers == 1 else min(2, callers)
    command = [wrk, "-t%d" % threads, "-c%d" % callers, "-d%gs" % seconds, "--timeout", "5s", "--latency",
               "-s", SCRIPT, url]
    environment = dict(os.environ, WRK_CHECK=check)
    if check == "invoke":
        # Nimbus refuses unsigned requests: one signature, made now, holds for the whole run (the server accepts a
        # request dated within 15 minutes, as AWS does). The body is the one wrk_invoke.lua sends.
        parts = urlsplit(url)
        signed = sigv4.sign("POST", parts.netloc, parts.path, WRK_BODY, {"Content-Type": "application/json"})
        environment["WRK_HEADERS"] = "\n".join("%s: %s" % (k, v) for k, v in signed.items() if k != "Host")
    done = subprocess.run(command, capture_output=True, text=True, env=environment, timeout=seconds + 30)
    match = re.search(r"^WRK_JSON (\{.*\})$", done.stdout, re.MULTILINE)
    if done.returncode != 0 or match is None:
        raise RuntimeError("wrk failed (%d): %s %s" % (done.returncode, done.stdout[-500:], done.stderr[-500:]))
    return json.loads(match.group(1))


def log(message):
    print("load: " + message, file=sys.stderr, flush=True)


def server_cpu_seconds(pid):
    """utime + stime of the server so far, or None when it cannot be read (then only --settle-min counts)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


METRIC_LINE = re.compile(r'^(nimbus_[a-z0-9_]+)(?:\{([^}]*)\})? (\S+)$')
# The /metrics series a run's server state is read from: per function (instances, scale-outs, held-back callers) and
# the server's garbage collections.
PER_FUNCTION = {"nimbus_lambda_instances": "instances", "nimbus_lambda_cold_starts_total": "scale_outs",
                "nimbus_lambda_scale_out_waits_total": "held_back"}
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def metrics(base_url):
    """The server's /metrics (unsigned), as {series: value} for the families server_state reads; {} when unreadable."""
    try:
        with urllib.request.urlopen(base_url.rstrip("/") + "/metrics", timeout=5) as response:
            text = response.read().decode("utf-8", "replace")
    except OSError:
        return {}
    values = {}
    for line in text.splitlines():
        match = METRIC_LINE.match(line)
        if not match:
            continue
        name, labels, value = match.groups()
        labels = dict(re.findall(r'(\w+)="([^"]*)"', labels or ""))
        if name in PER_FUNCTION:
            values[(PER_FUNCTION[name], labels.get("function"))] = float(value)
        elif name == "nimbus_dotnet_gc_collections_total":
            values[("gc", "gen%s" % labels.get("generation"))] = float(value)
        elif name == "nimbus_dotnet_gc_pause_seconds_total":
            values[("gc", "pause_ms")] = 1000 * float(value)
    return values


def runtime_processes(server_pid):
    """The server's descendant runtime processes (node, python*), {pid: (comm, CPU seconds)}: the instances and
    pre-started runtimes it holds now and what they have used."""
    kids = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open("/proc/%s/stat" % entry) as f:
                    text = f.read()
            except OSError:
                continue
            fields = text.rsplit(")", 1)[1].split()
            kids.setdefault(int(fields[1]), []).append(
                (int(entry), text[text.index("(") + 1:text.rindex(")")], (int(fields[11]) + int(fields[12])) / CLOCK_TICKS))
    found, stack = {}, [server_pid]
    while stack:
        for pid, comm, cpu in kids.get(stack.pop(), []):
            stack.append(pid)
            if comm == "node" or comm.startswith("python"):
                found[pid] = ("python" if comm.startswith("python") else comm, cpu)
    return found


def server_state(args):
    """What the server holds and has done so far (None without --nimbus-pid): its CPU seconds, runtime processes and
    /metrics figures. Read before and after every measured run, so each run says what the server did meanwhile."""
    if not args.nimbus_pid:
        return None
    return {"cpu": server_cpu_seconds(args.nimbus_pid), "processes": runtime_processes(args.nimbus_pid),
            "metrics": metrics(args.nimbus)}


def run_state(before, after, function, requests):
    """The server side of one measured run of function: nimbusd CPU per invoke, the function's instances at the end,
    scale-outs and held-back callers during it, runtime processes held, garbage collections and their pause."""
    if before is None or after is None:
        return None
    m0, m1 = before["metrics"], after["metrics"]

    def delta(key):
        return None if key not in m1 else m1[key] - m0.get(key, 0)

    processes = {}
    for comm, _cpu in after["processes"].values():
        processes[comm] = processes.get(comm, 0) + 1
    state = {"processes": processes}
    if before["cpu"] is not None and after["cpu"] is not None:
        state["nimbusd_us_per_invoke"] = round(1e6 * (after["cpu"] - before["cpu"]) / max(1, requests), 1)
        # Processes started during the run count from zero.
        runtimes = sum(cpu - before["processes"].get(pid, (comm, 0))[1] for pid, (comm, cpu) in after["processes"].items())
        state["runtimes_us_per_invoke"] = round(1e6 * runtimes / max(1, requests), 1)
    if function is not None:
        state["instances"] = m1.get(("instances", function))
        state["scale_outs"] = delta(("scale_outs", function))
        state["held_back"] = delta(("held_back", function))
        # Other functions' instances still held while this one runs (they are frozen, but take memory and a slot).
        state["other_instances"] = {f: v for (kind, f), v in m1.items() if kind == "instances" and f != function and v}
    for generation in ("gen0", "gen1", "gen2"):
        state["gc_" + generation] = delta(("gc", generation))
    state["gc_pause_ms"] = None if delta(("gc", "pause_ms")) is None else round(delta(("gc", "pause_ms")), 1)
    return state


def describe(state):
    if not state:
        return ""
    parts = []
    if "nimbusd_us_per_invoke" in state:
        parts.append("CPU/invoke nimbusd %.0f us, runtimes %.0f us" % (
            state["nimbusd_us_per_invoke"], state["runtimes_us_per_invoke"]))
    if state.get("instances") is not None:
        parts.append("%d instances (%d scale-outs, %d held back)" % (
            state["instances"], state["scale_outs"] or 0, state["held_back"] or 0))
    if state.get("other_instances"):
        parts.append("others hold %s" % ", ".join("%s %d" % kv for kv in sorted(state["other_instances"].items())))
    parts.append("processes %s" % (", ".join("%s %d" % kv for kv in sorted(state["processes"].items())) or "none"))
    if state.get("gc_gen0") is not None:
        parts.append("GCs %d/%d/%d (gen0/1/2), pause %.1f ms" % (
            state["gc_gen0"], state["gc_gen1"], state["gc_gen2"], state["gc_pause_ms"] or 0))
    return ", ".join(parts)


def settle(args, target, callers, minimum):
    """Loads one Nimbus target at the most callers in 5 s chunks until it is steady, at least `minimum` seconds, at most
    --settle-max: the chunk's CPU per invoke (nimbusd + the runtimes, with --nimbus-pid) is no more than 10% below the
    chunk before (the tiered JIT is done recompiling the invoke path: a fresh server needs 20-40 s of load) and the
    function's instance set did not change in it (no scale-out: the runs that follow use the instances they will keep).
    Every runtime gets its own: the first one's pays for the server's JIT, the others' for their first burst's
    scale-out and their own warm-up (python's CPU per invoke fell for 15-20 s after it, nimbusd's and the runtimes').
    Returns what it did, for the output and the JSON."""
    key, _label, url, check = target
    started = time.time()
    previous = None
    chunks = []
    while True:
        before = server_state(args)
        result = run_wrk(args.wrk, url, callers, 5, check)
        elapsed = time.time() - started
        state = run_state(before, server_state(args), args.functions.get(key), result["requests"])
        us = None if not state or "nimbusd_us_per_invoke" not in state else \
            state["nimbusd_us_per_invoke"] + state["runtimes_us_per_invoke"]
        chunks.append({"seconds": round(elapsed, 1), "rate": result["rate"], "errors": result["errors"], "server": state})
        log("settling %s, %d callers, %.0f s: %.0f req/s%s" % (
            key, callers, elapsed, result["rate"], "" if not state else "; " + describe(state)))
        steady = us is None or (previous is not None and us >= previous * 0.9 and not state.get("scale_outs"))
        if (elapsed >= minimum and steady) or elapsed >= args.settle_max:
            log("%s settled after %.0f s%s" % (key, elapsed, "" if steady else " (--settle-max reached: NOT steady)"))
            return {"target": key, "seconds": round(elapsed, 1), "steady": steady, "chunks": chunks}
        previous = us


def many_workers(args, families, settled):
    """Runtime processes behind each runtime's second gateway: --gateway-workers, or with 'auto' the instances Nimbus
    held for that runtime at the end of its settling at the most callers (from /metrics, else the runtime processes of
    that kind under the server, else 1: then there is no second gateway)."""
    if args.gateway_workers != "auto":
        return {family: int(args.gateway_workers) for family in families}
    found = {}
    for family in families:
        count = None
        for s in settled:
            if s["target"] == family and s["chunks"]:
                state = s["chunks"][-1]["server"] or {}
                count = state.get("instances")
                if count is None:
                    count = state.get("processes", {}).get(family)
        found[family] = int(count or 1)
        log("gateway for %s: %d runtime processes, as many as Nimbus's instances at %d callers" % (
            family, found[family], max(int(c) for c in args.callers.split(",") if c)))
    return found


def spread(values):
    return "%.0f-%.0f" % (min(values), max(values))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nimbus", required=True, help="base URL of the Nimbus server")
    parser.add_argument("--floor", required=True, help="base URL of the bare Kestrel floor app")
    parser.add_argument("--wrk", default=shutil.which("wrk") or "wrk")
    parser.add_argument("--runtimes", default="node,python", help="comma-separated: node, python")
    parser.add_argument("--callers", default="1,32", help="comma-separated concurrent callers (connections)")
    parser.add_argument("--seconds", type=float, default=5, help="length of each measured run")
    parser.add_argument("--warmup", type=float, default=5,
                        help="seconds of unmeasured load of the floor at more than one caller, and of every target at "
                             "one caller (1 s at most), before the runs; the Nimbus targets at the most callers "
                             "settle instead (--settle-min)")
    parser.add_argument("--settle-min", type=float, default=20,
                        help="least seconds of load of each runtime at the most callers before the measured runs (a "
                             "fresh server spends its first tens of seconds of load recompiling its hot path, the tiered "
                             "JIT; a runtime's first burst scales its pool out and its CPU per invoke falls for 15-20 s); "
                             "each then loads until it is steady")
    parser.add_argument("--settle-max", type=float, default=60, help="most seconds of that load per runtime")
    parser.add_argument("--nimbus-pid", type=int,
                        help="the server's pid: settling then also waits for a steady CPU per invoke and instance set, "
                             "and every run records the server's CPU per invoke, instances, scale-outs, runtime "
                             "processes and garbage collections (from /proc and /metrics)")
    parser.add_argument("--repeat", type=int, default=5, help="measured runs per target and caller count")
    parser.add_argument("--gateway", help="bench/FloorGateway's built DLL: also measure issue 3's gateway floor, one "
                                          "gateway per runtime with one plain runtime process behind it and, at the "
                                          "most callers, one with as many as --gateway-workers")
    parser.add_argument("--gateway-workers", default="auto",
                        help="runtime processes behind the second gateway of each runtime, measured at the most callers "
                             "only: a number, 'auto' (as many as the instances Nimbus held for that runtime once it "
                             "settled at the most callers; the issue quotes its gateway at 4-32 worker processes) or "
                             "'none' (only the one-process gateway)")
    parser.add_argument("--gateway-python", help="the gateways' python (default: the one Nimbus runs python3.12 on, read "
                                                 "from the server's runtime process with --nimbus-pid, else python3 on PATH)")
    parser.add_argument("--gateway-node", help="the gateways' node (default: as --gateway-python, for nodejs20.x)")
    parser.add_argument("--gateway-clients", help="the runtime clients the gateways run (the server build's lambda-runtimes; "
                                                  "default: this checkout's runtimes/)")
    parser.add_argument("--workdir", help="bench/run.sh's work directory: the gateways' pids go to its children.pids, so "
                                          "run.sh stops them even when a watchdog stopped this driver")
    parser.add_argument("--json", help="write raw results here")
    args = parser.parse_args()

    callers = [int(c) for c in args.callers.split(",") if c]
    most = max(callers)
    families = [f for f in args.runtimes.split(",") if f]
    nimbus = invoke_bench.Nimbus(args.nimbus)
    targets = [("floor", FLOOR, args.floor.rstrip("/") + "/", "status")]
    created = []
    args.functions = {}
    for family in families:
        name = "bench-load-%s" % family
        nimbus.delete(name)
        nimbus.create(name, family)
        created.append(name)
        args.functions[family] = name
        targets.append((family, TARGETS[family], "%s/2015-03-31/functions/%s/invocations" % (args.nimbus, name), "invoke"))
    gateways = []
    # Callers per target: every target at every count, but the many-process gateways at the most callers only.
    target_callers = {}

    # Like for like: each gateway's runtime runs on the interpreter Nimbus runs that runtime's functions on (read from the
    # server's runtime process once the function has answered) and on the server build's clients.
    interpreters = {"python": args.gateway_python, "node": args.gateway_node}
    commands = {}
    if args.nimbus_pid:
        import cpu_per_invoke  # noqa: E402  (the server's runtime processes)
        for family in families:
            run_wrk(args.wrk, targets[families.index(family) + 1][2], 1, 1, "invoke")
            commands[family] = cpu_per_invoke.runtime_command(args.nimbus_pid, family)
            log("Nimbus's %s runs: %s" % (family, " ".join(commands[family] or ["?"])))
            if interpreters.get(family) is None and commands[family]:
                interpreters[family] = commands[family][0]

    def start_gateway(family, workers):
        import onecaller_ab  # noqa: E402  (FloorGateway's start and stop)
        gateway = onecaller_ab.Gateway(args.gateway, family, [], workers, interpreter=interpreters.get(family),
                                       clients=args.gateway_clients)
        commands["gateway-" + family] = gateway.command
        log("gateway for %s (%d runtime process%s) runs: %s" % (family, workers, "" if workers == 1 else "es",
                                                               " ".join(gateway.command or ["?"])))
        gateways.append(gateway)
        if args.workdir:
            with open(os.path.join(args.workdir, "children.pids"), "a", encoding="ascii") as f:
                f.write("%d\n" % gateway.pid)
        return gateway

    if args.gateway:
        for family in families:
            gateway = start_gateway(family, 1)
            targets.append(("gateway-" + family, GATEWAY % family, gateway.url + "/invoke", "body"))

    runs = {}
    settled = []
    gateway_workers = {}
    try:
        # Each runtime settles at the most callers, then one caller's short warm-up; the floor warms up only. The
        # gateways come last: the many-process ones start once Nimbus has settled, with as many processes as it holds.
        index = 0
        while index < len(targets):  # the loop appends the many-process gateways
            key, _label, url, check = targets[index]
            index += 1
            if check == "body" and args.gateway and most > 1 and not gateway_workers and args.gateway_workers != "none":
                gateway_workers = many_workers(args, families, settled)
                for family, workers in gateway_workers.items():
                    if workers > 1:
                        gateway = start_gateway(family, workers)
                        many = "gateway-%s-many" % family
                        targets.append((many, GATEWAY_MANY % (workers, family), gateway.url + "/invoke", "body"))
                        target_callers[many] = [most]
            if check == "invoke" and most > 1 and args.settle_max > 0:
                settled.append(settle(args, (key, _label, url, check), most, args.settle_min))
            for count in target_callers.get(key, callers):
                if count > 1 and check == "invoke" and args.settle_max > 0:
                    continue
                log("warm-up %s, %d callers" % (key, count))
                # A gateway is a fresh .NET process too: twice the warm-up at the most callers.
                seconds = args.warmup * (2 if check == "body" else 1) if count > 1 else min(1.0, args.warmup)
                run_wrk(args.wrk, url, count, seconds, check)
        # Runs of all targets interleaved: every figure is a median of runs taken at most a minute or two apart, under the
        # same outside load.
        for repeat in range(args.repeat):
            for key, _label, url, check in targets:
                for count in target_callers.get(key, callers):
                    before = server_state(args) if check == "invoke" else None
                    result = run_wrk(args.wrk, url, count, args.seconds, check)
                    result["load"] = os.getloadavg()[0]
                    result["server"] = None if before is None else \
                        run_state(before, server_state(args), args.functions.get(key), result["requests"])
                    runs.setdefault((key, count), []).append(result)
                    log("run %d/%d %s, %d callers: %.0f req/s, p50 %d us, p99 %d us, %d errors; %s" % (
                        repeat + 1, args.repeat, key, count, result["rate"], result["p50_us"], result["p99_us"],
                        result["errors"], describe(result["server"])))
    finally:
        for name in created:
            nimbus.delete(name)
        for gateway in gateways:
            gateway.stop()

    def values(key, count, field):
        return [r[field] for r in runs[(key, count)]]

    def median(key, count, field):
        return statistics.median(values(key, count, field))

    settle_note = "; ".join("%s settled in %.0f s%s" % (s["target"], s["seconds"], "" if s["steady"] else " (NOT steady)")
                            for s in settled)
    print("### Warm invoke under load (wrk, %d interleaved runs of %g s per cell; medians, and the range of the runs%s)" % (
        args.repeat, args.seconds, "" if not settle_note else "; each runtime first loaded at %d callers until steady: %s"
        % (most, settle_note)))
    print()
    print("| measurement | callers | req/s (median) | req/s (range of the runs) | p50 | p90 | p99 | unit | errors |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: |")
    for key, label, _url, _check in targets:
        for count in target_callers.get(key, callers):
            errors = sum(r["errors"] for r in runs[(key, count)])
            print("| %s | %d | %.0f | %s | %d | %d | %d | us | %d |" % (
                label, count, median(key, count, "rate"), spread(values(key, count, "rate")),
                median(key, count, "p50_us"), median(key, count, "p90_us"), median(key, count, "p99_us"), errors))
    print()
    # Every run at the most callers, with what the server did during it: a slow run says why it was slow.
    if most > 1:
        print("Every run at %d callers (the floors' rates in the same round show the outside load; CPU per invoke from "
              "/proc, instances, scale-outs and garbage collections from the server's /metrics):" % most)
        print()
        print("| round | target | req/s | p99 (us) | nimbusd CPU/invoke (us) | runtimes CPU/invoke (us) | instances "
              "(scale-outs) | runtime processes | GCs gen0/1/2 | GC pause (ms) |")
        print("| ---: | --- | ---: | ---: | ---: | ---: | --- | --- | --- | ---: |")
        for repeat in range(args.repeat):
            for key, _label, _url, check in targets:
                r = runs[(key, most)][repeat]
                st = (r.get("server") or {}) if check == "invoke" else {}
                cpu = st.get("nimbusd_us_per_invoke") is not None
                print("| %d | %s | %.0f | %d | %s | %s | %s | %s | %s | %s |" % (
                    repeat + 1, key, r["rate"], r["p99_us"],
                    "%.0f" % st["nimbusd_us_per_invoke"] if cpu else "",
                    "%.0f" % st["runtimes_us_per_invoke"] if cpu else "",
                    "%d (%d)" % (st["instances"], st["scale_outs"] or 0) if st.get("instances") is not None else "",
                    ", ".join("%s %d" % kv for kv in sorted(st.get("processes", {}).items())),
                    "%d/%d/%d" % (st["gc_gen0"], st["gc_gen1"], st["gc_gen2"]) if st.get("gc_gen0") is not None else "",
                    "%.1f" % st["gc_pause_ms"] if st.get("gc_pause_ms") is not None else ""))
        print()
    if commands:
        print("The runtimes ran as (interpreter, arguments, client):")
        print()
        for family in families:
            if family in commands:
                print("- Nimbus, %s: `%s`" % (family, " ".join(commands[family] or ["?"])))
            if "gateway-" + family in commands:
                print("- gateway, %s: `%s`" % (family, " ".join(commands["gateway-" + family] or ["?"])))
        print()
    print("| against the floor and issue 3's targets | value |")
    print("| --- | ---: |")
    for family in families:
        for count in callers:
            print("| %s, %d callers: p50 Nimbus / floor | %.1fx |" % (
                family, count, median(family, count, "p50_us") / max(1, median("floor", count, "p50_us"))))
            print("| %s, %d callers: throughput Nimbus / floor | %.2fx |" % (
                family, count, median(family, count, "rate") / max(1, median("floor", count, "rate"))))
            if ("gateway-" + family, count) in runs:
                gateway = "gateway-" + family
                print("| %s, %d callers: p50 Nimbus / gateway floor | %.2fx |" % (
                    family, count, median(family, count, "p50_us") / max(1, median(gateway, count, "p50_us"))))
                print("| %s, %d callers: throughput Nimbus / gateway floor | %.2fx |" % (
                    family, count, median(family, count, "rate") / max(1, median(gateway, count, "rate"))))
            many = "gateway-%s-many" % family
            if (many, count) in runs:
                print("| %s, %d callers: p50 Nimbus / gateway floor with %d processes | %.2fx |" % (
                    family, count, gateway_workers[family],
                    median(family, count, "p50_us") / max(1, median(many, count, "p50_us"))))
                print("| %s, %d callers: throughput Nimbus / gateway floor with %d processes | %.2fx |" % (
                    family, count, gateway_workers[family],
                    median(family, count, "rate") / max(1, median(many, count, "rate"))))
        if 1 in callers:
            p50 = median(family, 1, "p50_us")
            print("| %s, 1 caller: p50 %d us (target <= %d us) | %s |" % (
                family, p50, TARGET_P50_US, "met" if p50 <= TARGET_P50_US else "not met"))
        if 32 in callers:
            rates = values(family, 32, "rate")
            rate = statistics.median(rates)
            print("| %s, 32 callers: %.0f invokes/s, median of %d runs (target >= %d) | %s, in %d of %d runs |" % (
                family, rate, len(rates), TARGET_RATE, "met" if rate >= TARGET_RATE else "not met",
                sum(1 for r in rates if r >= TARGET_RATE), len(rates)))
    print()

    if args.json:
        def workers(key):
            if key.startswith("gateway-"):
                return gateway_workers.get(key[len("gateway-"):-len("-many")], 1) if key.endswith("-many") else 1
            return None

        summary = [{"target": k, "callers": c, "rate_median": statistics.median(r["rate"] for r in v),
                    "rate_min": min(r["rate"] for r in v), "rate_max": max(r["rate"] for r in v),
                    "p50_us_median": statistics.median(r["p50_us"] for r in v), "workers": workers(k)}
                   for (k, c), v in runs.items()]
        with open(args.json, "w") as out:
            json.dump({"seconds": args.seconds, "repeat": args.repeat, "time": time.time(), "settled": settled,
                       "gateway_workers": gateway_workers, "runtime_commands": commands, "summary": summary,
                       "runs": [{"target": k, "callers": c, "results": v} for (k, c), v in runs.items()]},
                      out, indent=1)
    bad = sum(r["errors"] for v in runs.values() for r in v)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
