"""Warm-invoke load benchmark: wrk against Nimbus's Invoke API and the bare Kestrel floor, at 1 and 32 callers.

Run through bench/run.sh (after bench/invoke_bench.py, on the same servers), or by hand against running servers:

    python3 bench/load_bench.py --nimbus http://127.0.0.1:4566 --floor http://127.0.0.1:PORT

The Python client of invoke_bench.py costs about 0.37 ms per round trip by itself and cannot drive more than a
few thousand requests per second from threads under the GIL, so it can show neither a 350 us p50 nor 5,000
invokes/s. wrk (C, epoll, keep-alive connections; Debian's `wrk` package) can: a bare Kestrel round trip
measures about 50 us with it here. Each caller is one wrk connection, sending the next request as soon as the
answer is in (closed loop); bench/wrk_invoke.lua POSTs the event and checks every answer (200, no
X-Amz-Function-Error, "ok": true). Runs of all targets are interleaved and repeated (--repeat) so that every
figure is the median of runs taken minutes apart at most, under the same outside load. Before any measured run the
server is loaded at the most callers for at least --settle-min seconds (20), until its CPU per invoke stops falling
(see settle), so the figures are its steady state rather than its first minute of tier-up.
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
from urllib.parse import urlsplit

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import invoke_bench  # noqa: E402  (function zips, handlers and the control-plane client)
import sigv4  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.join(HERE, "wrk_invoke.lua")
WRK_BODY = '{"hello":"world","n":42}'  # what wrk_invoke.lua posts
TARGETS = {"node": "Nimbus warm invoke, node", "python": "Nimbus warm invoke, python"}
FLOOR = "floor: bare Kestrel POST echo"
# Issue 3's targets on this 2-core machine.
TARGET_P50_US = 350
TARGET_RATE = 5000


def run_wrk(wrk, url, callers, seconds, check):
    threads = 1 if callers == 1 else min(2, callers)
    command = [wrk, "-t%d" % threads, "-c%d" % callers, "-d%gs" % seconds, "--timeout", "5s", "--latency",
               "-s", SCRIPT, url]
    environment = dict(os.environ, WRK_CHECK=check)
    if check != "status":
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


def settle(args, targets, callers):
    """Loads the first Nimbus target at the most callers, in 5 s chunks, for --settle-min seconds and until nimbusd's
    CPU per invoke stops falling (with --nimbus-pid), at most --settle-max: the server's JIT is then done recompiling
    the invoke path (shared by every runtime), so the measured runs see its steady state, not its first minute."""
    nimbus_targets = [t for t in targets if t[3] == "invoke"]
    if not nimbus_targets or args.settle_max <= 0:
        return None
    key, _label, url, check = nimbus_targets[0]
    started = time.time()
    previous = None
    while True:
        before = server_cpu_seconds(args.nimbus_pid) if args.nimbus_pid else None
        result = run_wrk(args.wrk, url, callers, 5, check)
        elapsed = time.time() - started
        after = server_cpu_seconds(args.nimbus_pid) if before is not None else None
        us = None if after is None else 1e6 * (after - before) / max(1, result["requests"])
        log("settling %s, %d callers, %.0f s: %.0f req/s%s" % (
            key, callers, elapsed, result["rate"], "" if us is None else ", nimbusd %.0f us CPU/invoke" % us))
        settled = us is None or (previous is not None and us >= previous * 0.9)
        if (elapsed >= args.settle_min and settled) or elapsed >= args.settle_max:
            log("settled after %.0f s%s" % (elapsed, "" if settled else " (--settle-max reached)"))
            return "%.0f s at %d callers%s" % (elapsed, callers, "" if settled else ", not settled")
        previous = us


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nimbus", required=True, help="base URL of the Nimbus server")
    parser.add_argument("--floor", required=True, help="base URL of the bare Kestrel floor app")
    parser.add_argument("--wrk", default=shutil.which("wrk") or "wrk")
    parser.add_argument("--runtimes", default="node,python", help="comma-separated: node, python")
    parser.add_argument("--callers", default="1,32", help="comma-separated concurrent callers (connections)")
    parser.add_argument("--seconds", type=float, default=3, help="length of each measured run")
    parser.add_argument("--warmup", type=float, default=5,
                        help="seconds of unmeasured load before the first run of each target at more than one "
                             "caller (1 s at one caller): starts the instances a caller count needs and lets "
                             "each runtime's JIT warm up (32 node instances need several seconds on 2 cores)")
    parser.add_argument("--settle-min", type=float, default=20,
                        help="seconds of load at the most callers before any measured run: a fresh server spends its "
                             "first tens of seconds of load recompiling its hot path (tiered JIT)")
    parser.add_argument("--settle-max", type=float, default=40, help="most seconds of that load (see --settle-min)")
    parser.add_argument("--nimbus-pid", type=int,
                        help="the server's pid: the settling load then also ends only once nimbusd's CPU per invoke "
                             "stops falling (under 10%% from one 5 s chunk to the next)")
    parser.add_argument("--repeat", type=int, default=3, help="measured runs per target and caller count")
    parser.add_argument("--json", help="write raw results here")
    args = parser.parse_args()

    callers = [int(c) for c in args.callers.split(",") if c]
    families = [f for f in args.runtimes.split(",") if f]
    nimbus = invoke_bench.Nimbus(args.nimbus)
    targets = [("floor", FLOOR, args.floor.rstrip("/") + "/", "status")]
    created = []
    for family in families:
        name = "bench-load-%s" % family
        nimbus.delete(name)
        nimbus.create(name, family)
        created.append(name)
        targets.append((family, TARGETS[family], "%s/2015-03-31/functions/%s/invocations" % (args.nimbus, name), "invoke"))

    runs = {}
    try:
        settled = settle(args, targets, max(callers))
        for key, _label, url, check in targets:
            for count in callers:
                log("warm-up %s, %d callers" % (key, count))
                run_wrk(args.wrk, url, count, args.warmup if count > 1 else min(1.0, args.warmup), check)
        for repeat in range(args.repeat):
            for key, _label, url, check in targets:
                for count in callers:
                    result = run_wrk(args.wrk, url, count, args.seconds, check)
                    result["load"] = os.getloadavg()[0]
                    runs.setdefault((key, count), []).append(result)
                    log("run %d/%d %s, %d callers: %.0f req/s, p50 %d us, p99 %d us, %d errors" % (
                        repeat + 1, args.repeat, key, count, result["rate"], result["p50_us"], result["p99_us"],
                        result["errors"]))
    finally:
        for name in created:
            nimbus.delete(name)

    def median(key, count, field):
        return statistics.median(r[field] for r in runs[(key, count)])

    print("### Warm invoke under load (wrk, %d runs of %g s each, medians of the runs%s)" % (
        args.repeat, args.seconds, "" if settled is None else "; server first loaded for " + settled + " until its CPU per invoke settled"))
    print()
    print("| measurement | callers | req/s | p50 | p90 | p99 | unit | errors |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | --- | ---: |")
    for key, label, _url, _check in targets:
        for count in callers:
            errors = sum(r["errors"] for r in runs[(key, count)])
            print("| %s | %d | %.0f | %d | %d | %d | us | %d |" % (
                label, count, median(key, count, "rate"), median(key, count, "p50_us"),
                median(key, count, "p90_us"), median(key, count, "p99_us"), errors))
    print()
    print("| against the floor and issue 3's targets | value |")
    print("| --- | ---: |")
    for family in families:
        for count in callers:
            print("| %s, %d callers: p50 Nimbus / floor | %.1fx |" % (
                family, count, median(family, count, "p50_us") / max(1, median("floor", count, "p50_us"))))
            print("| %s, %d callers: throughput Nimbus / floor | %.2fx |" % (
                family, count, median(family, count, "rate") / max(1, median("floor", count, "rate"))))
        if 1 in callers:
            p50 = median(family, 1, "p50_us")
            print("| %s, 1 caller: p50 %d us (target <= %d us) | %s |" % (
                family, p50, TARGET_P50_US, "met" if p50 <= TARGET_P50_US else "not met"))
        if 32 in callers:
            rate = median(family, 32, "rate")
            print("| %s, 32 callers: %.0f invokes/s (target >= %d) | %s |" % (
                family, rate, TARGET_RATE, "met" if rate >= TARGET_RATE else "not met"))
    print()

    if args.json:
        with open(args.json, "w") as out:
            json.dump({"seconds": args.seconds, "repeat": args.repeat, "time": time.time(),
                       "runs": [{"target": k, "callers": c, "results": v} for (k, c), v in runs.items()]},
                      out, indent=1)
    bad = sum(r["errors"] for v in runs.values() for r in v)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
