#!/usr/bin/env python3
"""Queue throughput of Nimbus's SQS-compatible service: SendMessage, SendMessageBatch, ReceiveMessage + DeleteMessage.

Starts its own `./nimbus serve` on a temporary data directory (queues.db with WAL + synchronous=FULL: every
answered send is fsync'd), drives it over keep-alive HTTP with the SQS JSON 1.0 protocol (Python standard
library only) from N client threads, prints a Markdown table and stops the server by its pid.

    bench/queue_bench.py                       # defaults: 4 callers, 4000 sends, ~1 minute
    bench/queue_bench.py --callers 16 --messages 10000
"""
import argparse
import http.client
import json
import os
import platform
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time

import sigv4  # noqa: E402  (Nimbus refuses unsigned requests: every request to it is signed)
sigv4.sign_all_requests()

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def start_server(data):
    proc = subprocess.Popen([os.path.join(ROOT, "nimbus"), "serve", "--listen", "http://127.0.0.1:0", "--data", data],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    deadline = time.time() + 300
    for line in proc.stdout:
        match = re.search(r"Nimbus is ready on (http://[\d.]+:\d+)", line)
        if match:
            threading.Thread(target=lambda: [None for _ in proc.stdout], daemon=True).start()
            return proc, match.group(1)
        if time.time() > deadline:
            break
    proc.kill()
    raise SystemExit("nimbus did not start")


class Sqs:
    def __init__(self, endpoint):
        host, port = endpoint.replace("http://", "").split(":")
        self.conn = http.client.HTTPConnection(host, int(port), timeout=60)

    def call(self, op, body):
        data = json.dumps(body).encode()
        self.conn.request("POST", "/", data, {"X-Amz-Target": "AmazonSQS." + op, "Content-Type": "application/x-amz-json-1.0"})
        response = self.conn.getresponse()
        payload = response.read()
        if response.status != 200:
            raise RuntimeError(f"{op}: {response.status} {payload[:300]!r}")
        return json.loads(payload) if payload else {}


def percentile(samples, p):
    ordered = sorted(samples)
    return ordered[max(0, min(len(ordered) - 1, int(round(p / 100 * len(ordered) + 0.5)) - 1))] if ordered else 0


def run_parallel(callers, work):
    """work(index, client, latencies) for each caller; returns (elapsed seconds, all latencies in ms)."""
    latencies = [[] for _ in range(callers)]
    errors = []

    def body(i):
        try:
            work(i, latencies[i])
        except Exception as e:  # noqa: BLE001 - reported after the run
            errors.append(e)

    threads = [threading.Thread(target=body, args=(i,)) for i in range(callers)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    if errors:
        raise errors[0]
    return elapsed, [x for part in latencies for x in part]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--callers", type=int, default=4)
    parser.add_argument("--messages", type=int, default=4000, help="messages sent one by one (and as many in batches)")
    args = parser.parse_args()

    data = tempfile.mkdtemp(prefix="nimbus-queue-bench-")
    proc, endpoint = start_server(data)
    rows = []
    try:
        setup = Sqs(endpoint)
        url = setup.call("CreateQueue", {"QueueName": "bench"})["QueueUrl"]
        per_caller = args.messages // args.callers
        body = "x" * 256

        def send(i, lat):
            client = Sqs(endpoint)
            for _ in range(per_caller):
                t = time.perf_counter()
                client.call("SendMessage", {"QueueUrl": url, "MessageBody": body})
                lat.append((time.perf_counter() - t) * 1000)

        elapsed, lat = run_parallel(args.callers, send)
        rows.append(("SendMessage (256 B)", per_caller * args.callers, elapsed, lat))

        batches = per_caller // 10

        def send_batch(i, lat):
            client = Sqs(endpoint)
            for _ in range(batches):
                t = time.perf_counter()
                client.call("SendMessageBatch", {"QueueUrl": url, "Entries": [{"Id": str(k), "MessageBody": body} for k in range(10)]})
                lat.append((time.perf_counter() - t) * 1000)

        elapsed, lat = run_parallel(args.callers, send_batch)
        rows.append(("SendMessageBatch (10 × 256 B), messages", batches * 10 * args.callers, elapsed, lat))

        single = min(per_caller, 1000) // args.callers * args.callers

        def receive_delete(i, lat):
            client = Sqs(endpoint)
            for _ in range(single // args.callers):
                t = time.perf_counter()
                messages = client.call("ReceiveMessage", {"QueueUrl": url, "MaxNumberOfMessages": 1}).get("Messages", [])
                for m in messages:
                    client.call("DeleteMessage", {"QueueUrl": url, "ReceiptHandle": m["ReceiptHandle"]})
                lat.append((time.perf_counter() - t) * 1000)

        elapsed, lat = run_parallel(args.callers, receive_delete)
        rows.append(("ReceiveMessage (1) + DeleteMessage, messages", single, elapsed, lat))

        received = [0] * args.callers

        def drain(i, lat):
            client = Sqs(endpoint)
            while True:
                t = time.perf_counter()
                messages = client.call("ReceiveMessage", {"QueueUrl": url, "MaxNumberOfMessages": 10}).get("Messages", [])
                if not messages:
                    return
                client.call("DeleteMessageBatch", {"QueueUrl": url, "Entries": [
                    {"Id": str(k), "ReceiptHandle": m["ReceiptHandle"]} for k, m in enumerate(messages)]})
                received[i] += len(messages)
                lat.append((time.perf_counter() - t) * 1000)

        elapsed, lat = run_parallel(args.callers, drain)
        rows.append(("ReceiveMessage (10) + DeleteMessageBatch, messages", sum(received), elapsed, lat))
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)

    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), platform.processor())
    print(f"Queue benchmark, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {os.cpu_count()} CPUs ({cpu}), "
          f"{args.callers} callers, `bench/queue_bench.py --callers {args.callers} --messages {args.messages}`\n")
    print("| operation | messages | messages/s | p50 ms (per request) | p99 ms |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for name, count, elapsed, lat in rows:
        print(f"| {name} | {count} | {count / elapsed:,.0f} | {percentile(lat, 50):.1f} | {percentile(lat, 99):.1f} |")


if __name__ == "__main__":
    sys.exit(main())
