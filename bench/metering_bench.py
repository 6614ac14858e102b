"""Metering overhead benchmark: warm-invoke throughput with the meter on and off (NIMBUS_METERING=false).

Starts two fresh Nimbus servers (same build, temporary data directories) that differ only in Metering, creates
the same node function on each, and runs wrk (bench/wrk_invoke.lua, every answer checked) against them in
alternation, so machine noise falls on both alike. Prints the median rate of each and the overhead:

    python3 bench/metering_bench.py [--callers 1,16] [--seconds 5] [--repeat 5]

Both servers log every invocation (START/END/REPORT to logs.db) either way: the A/B isolates the meter (the
observer call, the channel write and metrics.db's batched commits); /metrics counters are on in both.
"""

import argparse
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import invoke_bench  # noqa: E402
from load_bench import run_wrk  # noqa: E402

import sigv4  # noqa: E402  (Nimbus refuses unsigned requests: every request to it is signed)
sigv4.sign_all_requests()

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
READY = re.compile(r"ready on (http://[0-9.:]+)")


def start(metering, data):
    env = dict(os.environ, NIMBUS_METERING="true" if metering else "false")
    process = subprocess.Popen([os.path.join(ROOT, "nimbus"), "serve", "--listen", "http://127.0.0.1:0", "--data", data],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
                               start_new_session=True)
    deadline = time.time() + 300
    for line in process.stdout:
        match = READY.search(line)
        if match:
            # Keep draining the server's output so it never blocks on a full pipe.
            subprocess.Popen(["cat"], stdin=process.stdout, stdout=subprocess.DEVNULL)
            return process, match.group(1)
        if time.time() > deadline:
            break
    os.killpg(process.pid, signal.SIGKILL)
    raise RuntimeError("nimbus serve did not become ready")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wrk", default=shutil.which("wrk") or "wrk")
    parser.add_argument("--callers", default="1,16")
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    callers = [int(c) for c in args.callers.split(",") if c]

    servers = {}
    temp = tempfile.mkdtemp(prefix="nimbus-metering-bench-")
    try:
        for key, metering in (("on", True), ("off", False)):
            process, url = start(metering, os.path.join(temp, key))
            servers[key] = (process, url)
            nimbus = invoke_bench.Nimbus(url)
            nimbus.create("bench-metering", "node")
        urls = {key: "%s/2015-03-31/functions/bench-metering/invocations" % url for key, (_, url) in servers.items()}
        for key in servers:
            for count in callers:
                run_wrk(args.wrk, urls[key], count, 3, "invoke")
        rates = {}
        for repeat in range(args.repeat):
            for count in callers:
                order = ("on", "off") if repeat % 2 == 0 else ("off", "on")
                for key in order:
                    result = run_wrk(args.wrk, urls[key], count, args.seconds, "invoke")
                    if result["errors"]:
                        raise RuntimeError("%d failed invokes with metering %s" % (result["errors"], key))
                    rates.setdefault((key, count), []).append(result["rate"])
                    print("run %d/%d, metering %s, %d callers: %.0f req/s" % (repeat + 1, args.repeat, key, count, result["rate"]),
                          file=sys.stderr)
        print("| callers | metering on (req/s) | metering off (req/s) | overhead |")
        print("| --- | --- | --- | --- |")
        for count in callers:
            on = statistics.median(rates[("on", count)])
            off = statistics.median(rates[("off", count)])
            print("| %d | %.0f | %.0f | %.1f%% |" % (count, on, off, (off - on) / off * 100))
    finally:
        # The launcher's process group holds the server (and unshare, when it forks): stop the whole group.
        for process, _ in servers.values():
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
        shutil.rmtree(temp, ignore_errors=True)


if __name__ == "__main__":
    main()
