"""Cost of the logging and metering path: warm invokes with both on, and with both off, side by side.

Starts two fresh servers (the build in artifacts/, or --server; temporary data directories) that differ only in
the monitoring path: "on" is the default configuration, "off" sets NIMBUS_METERING=false (no metrics.db rows or
rollups) and NIMBUS_BENCH_DISABLE_FUNCTION_LOGS=true (function log lines, START/END/REPORT included, are dropped
instead of stored in logs.db; a benchmark-only switch). /metrics counters stay on in both. It creates the same
node function on each, warms both up until their CPU per invoke settles (20-60 s each), then runs wrk (bench/wrk_invoke.lua, every request SigV4-signed, every answer
checked) against them in alternation at each caller count, so machine noise falls on both alike, and reads the
CPU time nimbusd and the runtime processes spent per invoke during each run (/proc, as bench/cpu_per_invoke.py).
Each repeat is one pair (on then off, or off then on, alternating) run back to back; prints, per caller count, the
median of the per-pair throughput ratios with their spread, the median throughput of each, and the CPU per invoke of
each (nimbusd alone, and with the runtimes). --env NAME=VALUE (repeatable) goes to both servers:

    python3 bench/metering_bench.py                       # --callers 1,32 --seconds 5 --repeat 4
    python3 bench/metering_bench.py --callers 32 --seconds 3 --repeat 10 \
        --env NIMBUS_INSTANCE_MEMORY_LIMIT_MB=768 --env NIMBUS_CONCURRENCY_LIMIT=1000

Many short pairs beat few long runs: a pair's two runs share the minute's machine noise, and the median of the pair
ratios does not move with one slow pair. The throughput ratio only means something on a quiet machine (load average
well under the core count); the CPU per invoke is the figure to read on a shared one.
"""

import argparse
import os
import shutil
import statistics
import sys
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
    before = cpu.snapshot(server.pid, COMMS)
    result = cpu.wrk_cpu(args.wrk, url, callers, seconds, headers)
    after = cpu.snapshot(server.pid, COMMS)
    n = max(1, result["requests"])
    runtime = sum(after["runtimes"][p][1] - before["runtimes"].get(p, (None, 0, 0))[1] for p in after["runtimes"])
    return {
        "requests": result["requests"], "errors": result["errors"], "rate": result["rate"],
        "server_us": 1e6 * (after["server_cpu"] - before["server_cpu"]) / n, "runtime_us": 1e6 * runtime / n,
        "load": os.getloadavg()[0],
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", default=os.path.join(cpu.ROOT, "artifacts/bin/Nimbus.Server/release/nimbusd.dll"))
    parser.add_argument("--wrk", default=shutil.which("wrk") or "wrk")
    parser.add_argument("--callers", default="1,32")
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--warmup", type=float, default=4, help="seconds of each warm-up run")
    parser.add_argument("--min-warmup", type=float, default=20, help="least seconds of warm-up load per server")
    parser.add_argument("--max-warmup", type=float, default=60, help="most seconds of warm-up load per server")
    parser.add_argument("--repeat", type=int, default=4, help="on/off pairs per caller count")
    parser.add_argument("--env", action="append", default=[], help="NAME=VALUE for both servers (repeatable)")
    args = parser.parse_args()
    callers = [int(c) for c in args.callers.split(",") if c]

    servers = {}
    try:
        for key, env in CONFIGS.items():
            server = cpu.Server(SimpleNamespace(server=args.server, env=list(args.env) + list(env)))
            servers[key] = server
            cpu.create_function(server.url, "bench-metering", "node")
            log("%s: %s (pid %d) %s" % (key, server.url, server.pid, " ".join(env)))
        urls = {key: "%s/2015-03-31/functions/bench-metering/invocations" % s.url for key, s in servers.items()}

        # Warm up until every instance the largest caller count needs is started and each server's CPU per invoke has
        # settled (at least --min-warmup seconds: the tiered JIT recompiles the invoke path over the first tens of
        # seconds of load; see cpu_per_invoke.warm_up), bounded by --max-warmup.
        warm_args = SimpleNamespace(wrk=args.wrk, callers=max(callers), warmup=args.warmup, min_warmup=args.min_warmup,
                                    max_warmup=args.max_warmup, settle=0.10, settle_jit=50)
        for key, server in servers.items():
            cpu.warm_up(warm_args, server, "node, monitoring " + key, urls[key], COMMS, None)

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
                    log("run %d/%d, monitoring %s, %d callers: %.0f req/s, CPU us/invoke nimbusd %.0f runtime %.0f, load %.1f" % (
                        repeat + 1, args.repeat, key, count, row["rate"], row["server_us"], row["runtime_us"], row["load"]))
    finally:
        for server in servers.values():
            server.stop()

    def median(key, count, field):
        return statistics.median(r[field] for r in runs[(key, count)])

    def pairs(count, field):
        # The i-th run of each server belongs to the i-th pair (run back to back in the same repeat).
        return [on[field] / max(off[field], 1e-9) for on, off in zip(runs[("on", count)], runs[("off", count)])]

    def spread(values):
        ordered = sorted(values)
        q1, _, q3 = statistics.quantiles(ordered, n=4) if len(ordered) > 1 else (ordered[0],) * 3
        return "%.3f (pairs %.3f-%.3f, middle half %.3f-%.3f)" % (statistics.median(ordered), ordered[0], ordered[-1], q1, q3)

    loads = [r["load"] for rows in runs.values() for r in rows]
    print("load average during the runs: %.1f-%.1f on %d cores; env: %s" % (min(loads), max(loads), os.cpu_count(), " ".join(args.env) or "-"))
    print("| callers | pairs | throughput on/off, median of pairs | on (req/s) | off (req/s) | nimbusd CPU µs/invoke on / off "
          "| nimbusd CPU on/off, median of pairs | nimbusd + runtime CPU µs/invoke on / off | failed invokes on/off |")
    print("| ---: | ---: | --- | ---: | ---: | ---: | --- | ---: | ---: |")
    for count in callers:
        on_rate, off_rate = median("on", count, "rate"), median("off", count, "rate")
        on_srv, off_srv = median("on", count, "server_us"), median("off", count, "server_us")
        on_all = on_srv + median("on", count, "runtime_us")
        off_all = off_srv + median("off", count, "runtime_us")
        errors = ["%d" % sum(r["errors"] for r in runs[(key, count)]) for key in ("on", "off")]
        print("| %d | %d | %s | %.0f | %.0f | %.0f / %.0f | %s | %.0f / %.0f | %s |" % (
            count, len(runs[("on", count)]), spread(pairs(count, "rate")), on_rate, off_rate, on_srv, off_srv,
            spread(pairs(count, "server_us")), on_all, off_all, "/".join(errors)))
    return 1 if any(r["errors"] for rows in runs.values() for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
