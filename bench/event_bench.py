#!/usr/bin/env python3
"""End-to-end event throughput of Nimbus: asynchronous invokes (Invoke with X-Amz-Invocation-Type: Event) and queue
messages delivered to a function through an SQS event source mapping.

Starts its own `./nimbus serve` on a temporary data directory, creates a Node.js function that reports, for every
event or record, the moment its handler started to a small HTTP collector in this process, then:

- async: N events from C callers; the 202 rate (accepted/s, each committed to events.db first), the end-to-end
  rate (N / first send to last handler start) and enqueue-to-start latency (202 sent -> handler start);
- queue: N messages sent with SendMessageBatch (10 per call) from C callers to a queue mapped to the function
  (BatchSize 10); the send rate, the end-to-end rate and enqueue-to-start latency (send -> handler start).

Python standard library only; prints a Markdown table and stops the server by its pid.

    bench/event_bench.py                      # defaults: 4 callers, 2000 events, 2000 messages, ~1 minute
    bench/event_bench.py --callers 8 --events 5000 --messages 5000
"""
import argparse
import base64
import http.client
import http.server
import io
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
import zipfile

import sigv4  # noqa: E402  (Nimbus refuses unsigned requests: every request to it is signed)
sigv4.sign_all_requests()

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

HANDLER = r"""
const http = require('node:http');
const agent = new http.Agent({ keepAlive: true });
function report(items) {
  return new Promise((resolve) => {
    const request = http.request(process.env.COLLECTOR_URL, { method: 'POST', agent, headers: { 'content-type': 'application/json' } }, (response) => {
      response.resume();
      response.on('end', resolve);
    });
    request.on('error', resolve);
    request.end(JSON.stringify(items));
  });
}
exports.handler = async (event) => {
  const start = Date.now();
  const items = event.Records ? event.Records.map((r) => ({ ...JSON.parse(r.body), start })) : [{ ...event, start }];
  await report(items);
  return { batchItemFailures: [] };
};
"""


def start_server(data, env):
    proc = subprocess.Popen([os.path.join(ROOT, "nimbus"), "serve", "--listen", "http://127.0.0.1:0", "--data", data],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
                            env={**os.environ, **env})
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


class Collector:
    """Receives the handler's reports: lists of {"kind", "id", "t" (enqueue ms), "start" (handler start ms)}."""

    def __init__(self):
        self.items = []
        self.lock = threading.Lock()
        collector = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with collector.lock:
                    collector.items.extend(json.loads(body))
                self.send_response(204)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def of(self, kind):
        with self.lock:
            return [i for i in self.items if i.get("kind") == kind]


class Client:
    def __init__(self, endpoint):
        host, port = endpoint.replace("http://", "").split(":")
        self.conn = http.client.HTTPConnection(host, int(port), timeout=60)

    def request(self, method, path, body=None, headers=None):
        self.conn.request(method, path, body, headers or {})
        response = self.conn.getresponse()
        return response.status, response.read()

    def sqs(self, op, body):
        status, payload = self.request("POST", "/", json.dumps(body).encode(),
                                       {"X-Amz-Target": "AmazonSQS." + op, "Content-Type": "application/x-amz-json-1.0"})
        if status != 200:
            raise RuntimeError(f"{op}: {status} {payload[:300]!r}")
        return json.loads(payload) if payload else {}


def percentile(samples, p):
    ordered = sorted(samples)
    return ordered[max(0, min(len(ordered) - 1, int(round(p / 100 * len(ordered) + 0.5)) - 1))] if ordered else 0


def parallel(callers, work):
    errors = []

    def body(i):
        try:
            work(i)
        except Exception as e:  # noqa: BLE001 - reported after the run
            errors.append(e)

    threads = [threading.Thread(target=body, args=(i,)) for i in range(callers)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return time.perf_counter() - start


def wait_for(collector, kind, count, budget):
    deadline = time.time() + budget
    while len({i["id"] for i in collector.of(kind)}) < count:
        if time.time() > deadline:
            raise SystemExit(f"{kind}: only {len(collector.of(kind))} of {count} arrived within {budget} s")
        time.sleep(0.05)


def summary(name, count, send_seconds, items):
    first_send = min(i["t"] for i in items)
    starts = {}
    for i in items:
        starts.setdefault(i["id"], i)  # the first run of each (a retry or a redelivery would come later)
    last_start = max(i["start"] for i in starts.values())
    latency = [i["start"] - i["t"] for i in starts.values()]
    return (name, count, count / send_seconds, count / ((last_start - first_send) / 1000), percentile(latency, 50), percentile(latency, 99))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--callers", type=int, default=4)
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--max-instances", type=int, default=16)
    args = parser.parse_args()

    collector = Collector()
    data = tempfile.mkdtemp(prefix="nimbus-event-bench-")
    proc, endpoint = start_server(data, {"NIMBUS_MAX_INSTANCES": str(args.max_instances)})
    rows = []
    try:
        setup = Client(endpoint)
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as z:
            z.writestr("index.js", HANDLER)
        status, payload = setup.request("POST", "/2015-03-31/functions", json.dumps({
            "FunctionName": "bench-events", "Runtime": "nodejs20.x", "Handler": "index.handler",
            "Role": "arn:aws:iam::000000000000:role/bench", "Code": {"ZipFile": base64.b64encode(buffer.getvalue()).decode()},
            "Environment": {"Variables": {"COLLECTOR_URL": collector.url}},
        }).encode(), {"Content-Type": "application/json"})
        if status != 201:
            raise SystemExit(f"CreateFunction: {status} {payload[:300]!r}")

        # Warm one instance so the first figures are not one cold start.
        setup.request("POST", "/2015-03-31/functions/bench-events/invocations", json.dumps({"kind": "warm", "id": 0, "t": time.time() * 1000}).encode())

        per_caller = args.events // args.callers

        def invoke(i):
            client = Client(endpoint)
            for k in range(per_caller):
                body = json.dumps({"kind": "async", "id": i * per_caller + k, "t": time.time() * 1000}).encode()
                status, answer = client.request("POST", "/2015-03-31/functions/bench-events/invocations", body, {"X-Amz-Invocation-Type": "Event"})
                if status != 202:
                    raise RuntimeError(f"Invoke: {status} {answer[:300]!r}")

        seconds = parallel(args.callers, invoke)
        count = per_caller * args.callers
        wait_for(collector, "async", count, 300)
        rows.append(summary("Invoke `Event` → handler start", count, seconds, collector.of("async")))

        url = setup.sqs("CreateQueue", {"QueueName": "bench-events"})["QueueUrl"]
        arn = "arn:aws:sqs:us-east-1:000000000000:bench-events"
        status, payload = setup.request("POST", "/2015-03-31/event-source-mappings/", json.dumps({
            "FunctionName": "bench-events", "EventSourceArn": arn, "BatchSize": 10}).encode(), {"Content-Type": "application/json"})
        if status != 202:
            raise SystemExit(f"CreateEventSourceMapping: {status} {payload[:300]!r}")

        batches = args.messages // args.callers // 10

        def send(i):
            client = Client(endpoint)
            for b in range(batches):
                entries = [{"Id": str(k), "MessageBody": json.dumps({"kind": "queue", "id": (i * batches + b) * 10 + k, "t": time.time() * 1000})} for k in range(10)]
                client.sqs("SendMessageBatch", {"QueueUrl": url, "Entries": entries})

        seconds = parallel(args.callers, send)
        count = batches * 10 * args.callers
        wait_for(collector, "queue", count, 300)
        rows.append(summary("SendMessageBatch (10) → mapping → handler start", count, seconds, collector.of("queue")))
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        collector.server.shutdown()

    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), platform.processor())
    print(f"Event benchmark, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {os.cpu_count()} CPUs ({cpu}), "
          f"`bench/event_bench.py --callers {args.callers} --events {args.events} --messages {args.messages} --max-instances {args.max_instances}`\n")
    print("| path | events | accepted/s | end to end/s | p50 enqueue→start ms | p99 enqueue→start ms |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for name, count, accepted, end_to_end, p50, p99 in rows:
        print(f"| {name} | {count} | {accepted:,.0f} | {end_to_end:,.0f} | {p50:,.0f} | {p99:,.0f} |")


if __name__ == "__main__":
    sys.exit(main())
