"""Metering overhead benchmark: warm-invoke throughput with the meter on and off (NIMBUS_METERING=false).

Starts two fresh Nimbus servers (same build, temporary data directories) that differ only in Metering, creates
the same node function on each, and runs wrk (bench/wrk_invoke.lua, every answer checked) against them in
alternation, so machine noise falls on both alike. Prints the median rate of each, their ratio and the overhead:

    python3 bench/metering_bench.py [--callers 1,16] [--seconds 5] [--repeat 5]

Both servers log every invocation (START/END/REPORT to logs.db) either way: the A/B isolates the meter (the
observer call, the channel write and metrics.db's batched commits); /metrics counters are on in both. Logging
itself cannot be turned off, so it is not part of the A/B.

Both servers run in dev mode (NIMBUS_DEV=true: any well-formed SigV4 header is root's, no HMAC is checked), so
wrk can repeat one fixed request; the Authorization and X-Amz-Date headers are made fresh before each run.
"""

import argparse
import json
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
from load_bench import SCRIPT  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
READY = re.compile(r"ready on (http://[0-9.:]+)")


def dev_auth():
    """A well-formed SigV4 header for an unknown key: root's in dev mode, valid for SigV4's 15-minute window."""
    now = time.gmtime()
    return {
        "X-Amz-Date": time.strftime("%Y%m%dT%H%M%SZ", now),
        "Authorization": "AWS4-HMAC-SHA256 Credential=bench/%s/us-east-1/lambda/aws4_request, SignedHeaders=host;x-amz-date, "
                         "Signature=%s" % (time.strftime("%Y%m%d", now), "0" * 64),
    }


class DevSigned:
    """invoke_bench's control-plane client with the dev-mode headers on every request."""

    def __init__(self, client):
        self._client = client

    def request(self, method, path, body=None, headers=None):
        return self._client.request(method, path, body, dict(headers or {}, **dev_auth()))


def run_wrk(wrk, url, callers, seconds, check):
    """load_bench.run_wrk with the dev-mode headers (wrk sends the same request each time)."""
    threads = 1 if callers == 1 else min(2, callers)
    command = [wrk, "-t%d" % threads, "-c%d" % callers, "-d%gs" % seconds, "--timeout", "5s", "--latency"]
    for name, value in dev_auth().items():
        command += ["-H", "%s: %s" % (name, value)]
    command += ["-s", SCRIPT, url]
    done = subprocess.run(command, capture_output=True, text=True, env=dict(os.environ, WRK_CHECK=check), timeout=seconds + 30)
    match = re.search(r"^WRK_JSON (\{.*\})$", done.stdout, re.MULTILINE)
    if done.returncode != 0 or match is None:
        raise RuntimeError("wrk failed (%d): %s %s" % (done.returncode, done.stdout[-500:], done.stderr[-500:]))
    return json.loads(match.group(1))


def start(metering, data):
    env = dict(os.environ, NIMBUS_METERING="true" if metering else "false", NIMBUS_DEV="true")
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
            nimbus.client = DevSigned(nimbus.client)
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
        print("| callers | metering on (req/s) | metering off (req/s) | ratio on/off | overhead |")
        print("| --- | --- | --- | --- | --- |")
        for count in callers:
            on = statistics.median(rates[("on", count)])
            off = statistics.median(rates[("off", count)])
            print("| %d | %.0f | %.0f | %.3f | %.1f%% |" % (count, on, off, on / off, (off - on) / off * 100))
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
