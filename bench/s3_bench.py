#!/usr/bin/env python3
"""PUT and GET throughput of Nimbus's S3-compatible object store, for 4 KB and 8 MB objects.

Usage: bench/s3_bench.py [--threads 4] [--small 2000] [--large 40]
Starts a fresh `./nimbus serve` on a temporary data directory, drives it over raw HTTP signed by bench/sigv4.py (keep-alive
http.client connections, one per thread, path-style /bucket/key) and prints a Markdown table. Standard library
only; the server is stopped by its pid at the end.
"""
import argparse
import http.client
import os
import re
import shutil
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
    server = subprocess.Popen([os.path.join(ROOT, "nimbus"), "serve", "--listen", "http://127.0.0.1:0", "--data", data],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    deadline = time.time() + 300
    for line in server.stdout:
        match = re.search(r"Nimbus is ready on http://127\.0\.0\.1:(\d+)", line)
        if match:
            threading.Thread(target=lambda: [None for _ in server.stdout], daemon=True).start()
            return server, int(match.group(1))
        if time.time() > deadline:
            break
    server.kill()
    sys.exit("nimbus did not start")


def percentile(values, p):
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, int(round(p / 100 * len(ordered) + 0.5)) - 1))]


def run(port, method, bucket, size, count, threads, payload):
    latencies = []
    lock = threading.Lock()
    next_id = [0]
    errors = []

    def worker():
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        mine = []
        while True:
            with lock:
                i = next_id[0]
                next_id[0] += 1
            if i >= count:
                break
            path = f"/{bucket}/s{size}/{i % max(1, count)}"
            started = time.perf_counter()
            if method == "PUT":
                connection.request("PUT", path, body=payload, headers={"Content-Length": str(len(payload))})
            else:
                connection.request("GET", path)
            response = connection.getresponse()
            body = response.read()
            mine.append(time.perf_counter() - started)
            if response.status != 200 or (method == "GET" and len(body) != size):
                errors.append(f"{method} {path}: {response.status}")
        connection.close()
        with lock:
            latencies.extend(mine)

    started = time.perf_counter()
    workers = [threading.Thread(target=worker) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    elapsed = time.perf_counter() - started
    if errors:
        sys.exit(f"{len(errors)} failed requests, first: {errors[0]}")
    return {
        "ops": count / elapsed,
        "mbps": count * size / elapsed / 1e6,
        "p50": percentile(latencies, 50) * 1000,
        "p99": percentile(latencies, 99) * 1000,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--small", type=int, default=2000, help="number of 4 KB objects")
    parser.add_argument("--large", type=int, default=40, help="number of 8 MB objects")
    args = parser.parse_args()
    data = tempfile.mkdtemp(prefix="nimbus-s3-bench-")
    server, port = start_server(data)
    try:
        connection = http.client.HTTPConnection("127.0.0.1", port)
        connection.request("PUT", "/bench")
        assert connection.getresponse().status == 200
        rows = []
        for size, count in ((4 * 1024, args.small), (8 * 1024 * 1024, args.large)):
            payload = os.urandom(size)
            for method in ("PUT", "GET"):
                result = run(port, method, "bench", size, count, args.threads, payload)
                rows.append((method, size, count, result))
                print(f"{method} {size} B x {count}: {result['ops']:.0f} ops/s", file=sys.stderr)
        print(f"| Operation | Object | Requests | Threads | ops/s | MB/s | p50 ms | p99 ms |")
        print(f"| --- | --- | --- | --- | --- | --- | --- | --- |")
        for method, size, count, r in rows:
            label = "4 KB" if size < 1024 * 1024 else "8 MB"
            print(f"| {method} | {label} | {count} | {args.threads} | {r['ops']:.0f} | {r['mbps']:.1f} | {r['p50']:.1f} | {r['p99']:.1f} |")
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
        shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    main()
