"""Cost of the logging and metering path: warm invokes with both on, and with both off, side by side.

Starts two fresh servers (the build in artifacts/, or --server; temporary data directories) that differ only in
the monitoring path: "on" is the default configuration, "off" sets NIMBUS_METERING=false (no metrics.db rows or
rollups: the meter's channel write and its writer) and NIMBUS_BENCH_DISABLE_FUNCTION_LOGS=true (function log lines,
START/END/REPORT included, are still formatted and kept for X-Amz-Log-Result, then dropped at LogStore's door
instead of queued and stored in logs.db; a benchmark-only switch). /metrics counters stay on in both. It creates the
same node function on each, warms both up, then runs wrk (bench/wrk_invoke.lua, every request SigV4-signed, every
answer checked) against them in alternation, so machine noise falls on both alike, and reads the CPU time nimbusd
and the runtime processes spent per invoke during each run (/proc, as bench/cpu_per_invoke.py). Each repeat is one
pair (on then off, or off then on, alternating) run back to back; prints, per caller count, the median of the
per-pair ratios (throughput, and nimbusd's CPU per invoke) with their spread, the median throughput of each, and
the CPU per invoke of each (nimbusd alone, and with the runtimes).

Two things made earlier pairs swing by +-20%, and the defaults take both out:

- warm-up: a fresh server's CPU per invoke falls for ~40 s of 32-caller load (the JIT's tiering: the first
  seconds cost nimbusd 390-660 us per invoke, later ones 226-310). Both servers are warmed in alternating chunks
  (--warmup seconds each) for at least --min-warmup seconds of load each, and on until a server's CPU per invoke
  stops falling (a chunk no more than 3% under the best of the chunks before it), at most --max-warmup seconds;
- instances: with the defaults the node's instance set drifts from 6 to 11-16 over minutes of 32 callers and
  throughput falls with it, differently on each server. Both servers get NIMBUS_INSTANCE_MEMORY_LIMIT_MB=768 and
  NIMBUS_CONCURRENCY_LIMIT=1000, which hold the function at 6 instances; --default-settings drops them (a second,
  separately documented figure). --env NAME=VALUE (repeatable) adds settings to both servers.

    python3 bench/metering_bench.py                       # 32 callers, 24 pairs of 3 s, forced 6 instances
    python3 bench/metering_bench.py --callers 1,32 --default-settings

Many short pairs beat few long runs: a pair's two runs share the minute's machine noise, and the median of the pair
ratios does not move with one slow pair. The throughput ratio only means something on a quiet machine (load average
well under the core count); the CPU per invoke is the figure to read on a shared one.

What it prints, per caller count: the median of the per-pair ratios on/off (throughput; nimbusd's CPU per invoke;
nimbusd + runtimes' CPU per invoke), each with its range and middle half; the medians of each server; the median of
the per-pair differences on - off of nimbusd's CPU per invoke in microseconds, and that as a share of the "off"
server's nimbusd + runtimes CPU per invoke (the cost of storing logs and metering as a share of a warm invoke's CPU:
issue 9's budget is 5%); and the same medians over the first and the second half of the pairs, so one run shows
whether its own halves agree (two runs in a row should agree as well as its halves do).
"""

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from types import SimpleNamespace

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cpu_per_invoke as cpu  # noqa: E402  (server start, signed wrk runs, /proc CPU readings)
import invoke_bench  # noqa: E402

CONFIGS = {
    "on": [],
    "off": ["NIMBUS_METERING=false", "NIMBUS_BENCH_DISABLE_FUNCTION_LOGS=true"],
}
COMMS = {"node"}


def log(message):
    print("metering: " + message, file=sys.stderr, flush=True)


def measure(args, server, url, callers, seconds):
    headers = cpu.signed_headers(url, invoke_bench.PAYLOAD)
    probe = getattr(server, "probe_file", None)
    before = cpu.snapshot(server.pid, COMMS, probe)
    result = cpu.wrk_cpu(args.wrk, url, callers, seconds, headers)
    after = cpu.snapshot(server.pid, COMMS, probe)
    n = max(1, result["requests"])
    runtime = sum(after["runtimes"][p][1] - before["runtimes"].get(p, (None, 0, 0))[1] for p in after["runtimes"])
    pool = None
    if after["pool"] is not None and before["pool"] is not None:
        # Thread-pool work items and bytes allocated per invoke (bench/ThreadPoolProbe): counts, load-independent.
        pool = ((after["pool"][0] - before["pool"][0]) / n, (after["pool"][1] - before["pool"][1]) / n)
    return {
        "requests": result["requests"], "errors": result["errors"], "rate": result["rate"],
        "instances": len(after["runtimes"]),
        "server_us": 1e6 * (after["server_cpu"] - before["server_cpu"]) / n, "runtime_us": 1e6 * runtime / n,
        "load": os.getloadavg()[0], "pool": pool,
    }


FORCED_SIX = ["NIMBUS_INSTANCE_MEMORY_LIMIT_MB=768", "NIMBUS_CONCURRENCY_LIMIT=1000"]


def warm_up(args, servers, urls, callers):
    """Alternating chunks of load on each server until each has had --min-warmup seconds and its CPU per invoke has
    stopped falling (a chunk no more than 3% under the best chunk before it), at most --max-warmup seconds each."""
    history = {key: [] for key in servers}
    loaded = {key: 0.0 for key in servers}
    settled = set()
    while len(settled) < len(servers):
        for key, server in servers.items():
            if key in settled:
                continue
            row = measure(args, server, urls[key], callers, args.warmup)
            loaded[key] += args.warmup
            count = len(cpu.runtime_processes(server.pid, COMMS))
            previous = history[key]
            falling = bool(previous) and row["server_us"] < 0.97 * min(previous)
            history[key].append(row["server_us"])
            log("warm-up %s: %d invokes, %d errors, nimbusd %.0f us/invoke, %d runtime processes, %.0f s of load" % (
                key, row["requests"], row["errors"], row["server_us"], count, loaded[key]))
            if loaded[key] >= args.max_warmup or (loaded[key] >= args.min_warmup and not falling and row["errors"] == 0):
                settled.add(key)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--server", default=os.path.join(cpu.ROOT, "artifacts/bin/Nimbus.Server/release/nimbusd.dll"))
    parser.add_argument("--wrk", default=shutil.which("wrk") or "wrk")
    parser.add_argument("--callers", default="32")
    parser.add_argument("--seconds", type=float, default=3, help="seconds of each measured run")
    parser.add_argument("--warmup", type=float, default=5, help="seconds of each warm-up chunk")
    parser.add_argument("--min-warmup", type=float, default=45, help="least seconds of warm-up load per server")
    parser.add_argument("--max-warmup", type=float, default=120, help="most seconds of warm-up load per server")
    parser.add_argument("--repeat", type=int, default=24, help="on/off pairs per caller count")
    parser.add_argument("--default-settings", action="store_true",
                        help="leave the instance count to the defaults (no " + " ".join(FORCED_SIX) + ")")
    parser.add_argument("--env", action="append", default=[], help="NAME=VALUE for both servers (repeatable)")
    parser.add_argument("--pool-probe", help="bench/ThreadPoolProbe's built DLL (dotnet build bench/ThreadPoolProbe -c Release): "
                        "also print thread-pool work items and bytes allocated per invoke of each server")
    args = parser.parse_args()
    callers = [int(c) for c in args.callers.split(",") if c]
    if not args.default_settings:
        args.env = FORCED_SIX + list(args.env)

    servers = {}
    try:
        for key, env in CONFIGS.items():
            probe_env, probe_file = [], None
            if args.pool_probe:
                probe_file = os.path.join(tempfile.mkdtemp(prefix="nimbus-metering-probe-"), "items")
                probe_env = ["DOTNET_STARTUP_HOOKS=" + os.path.abspath(args.pool_probe), "NIMBUS_POOL_PROBE_FILE=" + probe_file]
            server = cpu.Server(SimpleNamespace(server=args.server, env=list(args.env) + list(env) + probe_env))
            server.probe_file = probe_file
            servers[key] = server
            cpu.create_function(server.url, "bench-metering", "node")
            log("%s: %s (pid %d) %s" % (key, server.url, server.pid, " ".join(args.env + env)))
        urls = {key: "%s/2015-03-31/functions/bench-metering/invocations" % s.url for key, s in servers.items()}
        warm_up(args, servers, urls, max(callers))

        runs = {}
        for repeat in range(args.repeat):
            for count in callers:
                order = ("on", "off") if repeat % 2 == 0 else ("off", "on")
                for key in order:
                    row = measure(args, servers[key], urls[key], count, args.seconds)
                    if row["errors"]:
                        # Counted and printed, not fatal: on an overloaded machine wrk's 5 s timeout fires now and then.
                        log("%d failed invokes with monitoring %s: read this run's figures with care" % (row["errors"], key))
                    runs.setdefault((key, count), []).append(row)
                    log("run %d/%d, monitoring %s, %d callers: %.0f req/s, CPU us/invoke nimbusd %.0f runtime %.0f, %d runtime processes, load %.1f" % (
                        repeat + 1, args.repeat, key, count, row["rate"], row["server_us"], row["runtime_us"], row["instances"], row["load"]))
    finally:
        for server in servers.values():
            server.stop()

    def median(key, count, field):
        return statistics.median(r[field] for r in runs[(key, count)])

    def total(row):
        return row["server_us"] + row["runtime_us"]

    def pairs(count, value):
        # The i-th run of each server belongs to the i-th pair (run back to back in the same repeat).
        return [value(on, off) for on, off in zip(runs[("on", count)], runs[("off", count)])]

    def ratio(field):
        return lambda on, off: on[field] / max(off[field], 1e-9)

    def spread(values):
        ordered = sorted(values)
        q1, _, q3 = statistics.quantiles(ordered, n=4) if len(ordered) > 1 else (ordered[0],) * 3
        return "%.3f (pairs %.3f-%.3f, middle half %.3f-%.3f)" % (statistics.median(ordered), ordered[0], ordered[-1], q1, q3)

    def halves(values, form):
        half = len(values) // 2
        if half == 0:
            return "-"
        return (form + " / " + form) % (statistics.median(values[:half]), statistics.median(values[half:]))

    loads = [r["load"] for rows in runs.values() for r in rows]
    instances = sorted({r["instances"] for rows in runs.values() for r in rows})
    print("load average during the runs: %.1f-%.1f on %d cores; runtime processes per server: %s; env: %s" % (
        min(loads), max(loads), os.cpu_count(), ",".join(str(i) for i in instances), " ".join(args.env) or "-"))
    print("| callers | pairs | throughput on/off, median of pairs | on (req/s) | off (req/s) | nimbusd CPU µs/invoke on / off "
          "| nimbusd CPU on/off, median of pairs | nimbusd + runtimes CPU µs/invoke on / off | nimbusd + runtimes CPU on/off, median of pairs "
          "| nimbusd CPU on − off, median of pairs (µs; share of off's nimbusd + runtimes) | failed invokes on/off |")
    print("| ---: | ---: | --- | ---: | ---: | ---: | --- | ---: | --- | --- | ---: |")
    for count in callers:
        on_rate, off_rate = median("on", count, "rate"), median("off", count, "rate")
        on_srv, off_srv = median("on", count, "server_us"), median("off", count, "server_us")
        on_all = statistics.median(total(r) for r in runs[("on", count)])
        off_all = statistics.median(total(r) for r in runs[("off", count)])
        extra = pairs(count, lambda on, off: on["server_us"] - off["server_us"])
        share = pairs(count, lambda on, off: (on["server_us"] - off["server_us"]) / max(total(off), 1e-9))
        errors = ["%d" % sum(r["errors"] for r in runs[(key, count)]) for key in ("on", "off")]
        print("| %d | %d | %s | %.0f | %.0f | %.0f / %.0f | %s | %.0f / %.0f | %s | %+.1f (%+.1f%%) | %s |" % (
            count, len(runs[("on", count)]), spread(pairs(count, ratio("rate"))), on_rate, off_rate, on_srv, off_srv,
            spread(pairs(count, ratio("server_us"))), on_all, off_all,
            spread(pairs(count, lambda on, off: total(on) / max(total(off), 1e-9))),
            statistics.median(extra), 100 * statistics.median(share), "/".join(errors)))
    print()
    print("| callers | halves of the pairs: throughput on/off | nimbusd CPU on/off | nimbusd CPU on − off (µs) |")
    print("| ---: | --- | --- | --- |")
    for count in callers:
        print("| %d | %s | %s | %s |" % (
            count, halves(pairs(count, ratio("rate")), "%.3f"), halves(pairs(count, ratio("server_us")), "%.3f"),
            halves(pairs(count, lambda on, off: on["server_us"] - off["server_us"]), "%+.1f")))
    if args.pool_probe:
        print()
        print("| callers | nimbusd thread-pool work items / invoke on / off | nimbusd allocated B / invoke on / off |")
        print("| ---: | --- | --- |")
        for count in callers:
            cells = []
            for index in (0, 1):
                values = {key: [r["pool"][index] for r in runs[(key, count)] if r["pool"] is not None] for key in ("on", "off")}
                cells.append(" / ".join("%.2f" % statistics.median(values[key]) if values[key] else "-" for key in ("on", "off")))
            print("| %d | %s | %s |" % (count, cells[0], cells[1]))
    return 1 if any(r["errors"] for rows in runs.values() for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
