"""Nimbus log store benchmark: CloudWatch Logs queries over a million events.

    python3 bench/logs_bench.py [--events 1000000] [--samples 20]

Starts `./nimbus serve` on a temporary data directory (killed by its pid at the end), loads N events through
PutLogEvents (10,000 per call, 20 streams, timestamps spread over the last 10 days) and times the queries a user
runs: FilterLogEvents over a one-minute window (with and without a filter pattern), the newest events of the
group as `aws logs tail` asks for them, GetLogEvents from the head and the tail of a stream, DescribeLogStreams
by last event time. Standard library only (raw HTTP, SigV4-signed by bench/sigv4.py). Prints
Markdown; percentiles are nearest-rank.
"""

import argparse
import http.client
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import sigv4  # noqa: E402  (Nimbus refuses unsigned requests: every request to it is signed)
sigv4.sign_all_requests()

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GROUP = "/bench/app"
STREAMS = 20
BATCH = 10_000
DAY_MS = 86_400_000


def call(conn, op, body):
    data = json.dumps(body).encode()
    conn.request("POST", "/", data, {"X-Amz-Target": "Logs_20140328." + op, "Content-Type": "application/x-amz-json-1.1"})
    response = conn.getresponse()
    payload = response.read()
    if response.status != 200:
        raise RuntimeError(f"{op} answered {response.status}: {payload[:300]!r}")
    return json.loads(payload)


def percentile(samples, p):
    ordered = sorted(samples)
    return ordered[max(0, min(len(ordered) - 1, -(-len(ordered) * p // 100) - 1))]


def start_server(data):
    process = subprocess.Popen([os.path.join(ROOT, "nimbus"), "serve", "--listen", "http://127.0.0.1:0", "--data", data],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    deadline = time.time() + 300
    for line in process.stdout:
        match = re.search(r"Nimbus is ready on http://127\.0\.0\.1:(\d+)", line)
        if match:
            return process, int(match.group(1))
        if time.time() > deadline:
            break
    raise RuntimeError("nimbus serve did not become ready")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--samples", type=int, default=20)
    args = parser.parse_args()

    data = tempfile.mkdtemp(prefix="nimbus-logs-bench.")
    process, port = start_server(data)
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        call(conn, "CreateLogGroup", {"logGroupName": GROUP})
        for s in range(STREAMS):
            call(conn, "CreateLogStream", {"logGroupName": GROUP, "logStreamName": f"stream-{s:02d}"})

        now = int(time.time() * 1000)
        start = now - 10 * DAY_MS
        step = max(1, (10 * DAY_MS) // args.events)
        levels = ["INFO", "INFO", "INFO", "WARN", "ERROR"]
        loaded = 0
        load_started = time.perf_counter()
        while loaded < args.events:
            count = min(BATCH, args.events - loaded)
            events = []
            for i in range(count):
                n = loaded + i
                level = levels[n % len(levels)]
                events.append({"timestamp": start + n * step,
                               "message": json.dumps({"level": level, "latency": n % 500, "n": n, "msg": f"request {n} done"})})
            call(conn, "PutLogEvents", {"logGroupName": GROUP, "logStreamName": f"stream-{(loaded // BATCH) % STREAMS:02d}", "logEvents": events})
            loaded += count
        load_seconds = time.perf_counter() - load_started

        middle = start + (args.events // 2) * step
        queries = {
            "FilterLogEvents, 1-minute window, no pattern": ("FilterLogEvents", {"logGroupName": GROUP, "startTime": middle, "endTime": middle + 60_000}),
            "FilterLogEvents, 1-minute window, `{ $.level = \"ERROR\" }`": ("FilterLogEvents", {"logGroupName": GROUP, "startTime": middle, "endTime": middle + 60_000, "filterPattern": '{ $.level = "ERROR" }'}),
            "FilterLogEvents, last 10 minutes (what `logs tail` asks)": ("FilterLogEvents", {"logGroupName": GROUP, "startTime": now - 600_000, "interleaved": True}),
            "FilterLogEvents, whole group, term `ERROR`, limit 100": ("FilterLogEvents", {"logGroupName": GROUP, "filterPattern": "ERROR", "limit": 100}),
            "GetLogEvents, stream head, limit 100": ("GetLogEvents", {"logGroupName": GROUP, "logStreamName": "stream-07", "startFromHead": True, "limit": 100}),
            "GetLogEvents, stream tail, default limit (10,000)": ("GetLogEvents", {"logGroupName": GROUP, "logStreamName": "stream-07"}),
            "DescribeLogStreams by LastEventTime": ("DescribeLogStreams", {"logGroupName": GROUP, "orderBy": "LastEventTime", "descending": True}),
        }
        print(f"Loaded {loaded:,} events ({STREAMS} streams, 10 days) through PutLogEvents in {load_seconds:.1f} s "
              f"({loaded / load_seconds:,.0f} events/s).\n")
        print("| Query | events returned | p50 ms | p90 ms | max ms |")
        print("| --- | ---: | ---: | ---: | ---: |")
        for label, (op, body) in queries.items():
            samples = []
            returned = 0
            for _ in range(args.samples):
                began = time.perf_counter()
                answer = call(conn, op, body)
                samples.append((time.perf_counter() - began) * 1000)
                returned = len(answer.get("events", answer.get("logStreams", [])))
            print(f"| {label} | {returned:,} | {percentile(samples, 50):.1f} | {percentile(samples, 90):.1f} | {max(samples):.1f} |")
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
        shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
