"""One caller's warm invoke, A/B: wrk at 1 connection against several servers started side by side, runs alternated.

Issue 3's one-caller target (p50 <= 350 us) is a latency, which a shared machine's load moves by more than most changes
do. This starts one server per variant (a build's nimbusd.dll plus server environment variables), creates the trivial
node and python functions on each, and then runs wrk (1 connection, closed loop, every request SigV4-signed) for
--seconds against each variant in turn, rotating the order every round, for --rounds rounds. Each run records the load
average; the summary gives each variant's median p50 and p99 over its runs and, against the first variant, the median
of the per-round differences (a pair is two runs of the same round, seconds apart).

    python3 bench/onecaller_ab.py --variant base=/tmp/nimbus-base/nimbusd.dll \\
        --variant new=artifacts/bin/Nimbus.Server/release/nimbusd.dll \\
        --variant new+inline=artifacts/bin/Nimbus.Server/release/nimbusd.dll,NIMBUS_AWS_API_INLINE_SCHEDULING=true
"""

import argparse
import os
import shutil
import statistics
import sys
import time
import types

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cpu_per_invoke  # noqa: E402  (server, function creation, signing, wrk)


def log(message):
    print("ab: " + message, file=sys.stderr, flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variant", action="append", required=True,
                        help="LABEL=DLL[,NAME=VALUE...]: a server to measure (repeatable; the first is the baseline)")
    parser.add_argument("--runtimes", default="node,python")
    parser.add_argument("--seconds", type=float, default=2)
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--warmup", type=float, default=3, help="seconds of unmeasured load per variant and runtime first")
    parser.add_argument("--wrk", default=shutil.which("wrk") or "wrk")
    args = parser.parse_args()

    variants = []
    for spec in args.variant:
        label, _, rest = spec.partition("=")
        parts = rest.split(",")
        variants.append((label, types.SimpleNamespace(server=parts[0], env=parts[1:])))
    families = [f for f in args.runtimes.split(",") if f]
    body = '{"hello":"world","n":42}'  # what wrk_invoke.lua posts

    servers = {}
    try:
        targets = {}
        for label, options in variants:
            server = servers[label] = cpu_per_invoke.Server(options)
            for family in families:
                name = "ab-%s" % family
                cpu_per_invoke.create_function(server.url, name, family)
                url = "%s/2015-03-31/functions/%s/invocations" % (server.url, name)
                targets[(label, family)] = (url, None)
            log("%s on %s (%s)" % (label, server.url, " ".join(options.env) or "defaults"))

        def run(label, family, seconds):
            url, _ = targets[(label, family)]
            # A signature holds for the server's 15-minute window: signed again for every run.
            return cpu_per_invoke.run_wrk(args.wrk, url, 1, seconds, cpu_per_invoke.signed_headers(url, body))

        for label, _ in variants:
            for family in families:
                run(label, family, args.warmup)

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
                    log("round %d %s %s: p50 %d us, p99 %d us, %.0f/s, load %.1f, %d errors" % (
                        round_number + 1, family, label, result["p50_us"], result["p99_us"], result["rate"], result["load"],
                        result["errors"]))
    finally:
        for server in servers.values():
            server.stop()

    loads = [r["load"] for v in runs.values() for r in v]
    print("One caller, wrk 1 connection, %d rounds of %g s per variant and runtime, load average %.1f-%.1f (%s UTC)" % (
        args.rounds, args.seconds, min(loads), max(loads), time.strftime("%H:%M", time.gmtime())))
    print()
    print("| variant | runtime | p50 µs (median of runs) | p50 range | p99 µs (median) | p50 minus %s's, median of pairs | errors |" % labels[0])
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: |")
    for family in families:
        base = {r["round"]: r for r in runs[(labels[0], family)]}
        for label in labels:
            mine = runs[(label, family)]
            p50s = [r["p50_us"] for r in mine]
            pairs = [r["p50_us"] - base[r["round"]]["p50_us"] for r in mine if r["round"] in base]
            print("| %s | %s | %d | %d-%d | %d | %+d | %d |" % (
                label, family, statistics.median(p50s), min(p50s), max(p50s), statistics.median(r["p99_us"] for r in mine),
                statistics.median(pairs), sum(r["errors"] for r in mine)))
    return 1 if any(r["errors"] for v in runs.values() for r in v) else 0


if __name__ == "__main__":
    sys.exit(main())
