"""Nimbus invoke benchmarks: cold start, warm round trip, throughput, and their floors and peer.

Run through bench/run.sh, which starts a fresh Nimbus server and the bare-Kestrel floor app and passes their
URLs here. Standard library only (http.client); every loop is bounded by a sample count and by a global
deadline. Results go to a JSON file and, as Markdown, to stdout.

Percentiles are nearest-rank: with 20 samples p90 is the 18th value and p99 the maximum.
"""

import argparse
import base64
import glob
import io
import json
import math
import os
import random
import re
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
import http.client
from urllib.parse import urlsplit

import bench_procs
import direct_peer

import sigv4  # noqa: E402  (Nimbus refuses unsigned requests: every request to it is signed)
sigv4.sign_all_requests()

ROLE = "arn:aws:iam::000000000000:role/x"
PAYLOAD = b'{"hello":"world","n":42}'
REQUEST_TIMEOUT_S = 15

NODE_HANDLER = "exports.handler = async (event) => ({ ok: true, echo: event });\n"
PYTHON_HANDLER = "def lambda_handler(event, context):\n    return {\"ok\": True, \"echo\": event}\n"
# A custom runtime in bash: every invoke costs two curl processes (GET /next, POST /response), so this
# measures process spawns far more than Nimbus. Header parsing uses bash built-ins only. `curl -f` makes a
# Runtime API error (4xx) end the runtime at once; without it, like AWS's tutorial bootstrap, a refused
# /next is retried in a tight loop until the function times out.
PROVIDED_BOOTSTRAP = r"""#!/bin/bash
set -euo pipefail
api="http://${AWS_LAMBDA_RUNTIME_API}/2018-06-01/runtime"
headers=/tmp/next-headers
while true; do
  event="$(curl -sSf -D "$headers" "$api/invocation/next")"
  request_id=""
  while IFS= read -r line; do
    line="${line%$'\r'}"
    case "${line,,}" in
      lambda-runtime-aws-request-id:*) request_id="${line#*: }" ;;
    esac
  done < "$headers"
  curl -sSf -o /dev/null -X POST -H 'Content-Type: application/json' \
    --data-binary "{\"ok\":true,\"echo\":${event}}" "$api/invocation/${request_id}/response"
done
"""

# The density benchmark's handlers hold their instance for event["sleep_ms"], so N concurrent calls start N.
NODE_SLEEP_HANDLER = ("exports.handler = async (event) => {\n"
                      "  await new Promise((resolve) => setTimeout(resolve, event.sleep_ms || 0));\n"
                      "  return { ok: true, echo: event };\n};\n")
PYTHON_SLEEP_HANDLER = ("import time\n\n\ndef lambda_handler(event, context):\n"
                        "    time.sleep(event.get(\"sleep_ms\", 0) / 1000)\n    return {\"ok\": True, \"echo\": event}\n")

RUNTIMES = {
    "node": ("nodejs20.x", "index.handler", {"index.js": NODE_HANDLER}),
    "python": ("python3.12", "lambda_function.lambda_handler", {"lambda_function.py": PYTHON_HANDLER}),
    "provided": ("provided.al2023", "function.handler", {"bootstrap": PROVIDED_BOOTSTRAP}),
    "node-sleep": ("nodejs20.x", "index.handler", {"index.js": NODE_SLEEP_HANDLER}),
    "python-sleep": ("python3.12", "lambda_function.lambda_handler", {"lambda_function.py": PYTHON_SLEEP_HANDLER}),
}

# The parts --only can pick, in the order they run.
PARTS = ("floors", "warm", "throughput", "cold", "peer", "scale", "density")
# serverless-offline names a function <service>-<stage>-<key> (bench/peer/serverless.yml).
OFFLINE_FUNCTION = "nimbus-bench-peer-dev-%s"
GIB = 1024 ** 3

# Floors run with an environment as bare as a sandbox's: e.g. NODE_EXTRA_CA_CERTS alone adds ~100 ms to
# every `node -e 0`, and Nimbus clears the environment of its instances.
CLEAN_ENV = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "en_US.UTF-8", "TZ": ":UTC"}

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))

REPORT_DURATION = re.compile(r"(?:^|\t)Duration: ([0-9.]+) ms")
REPORT_INIT = re.compile(r"Init Duration: ([0-9.]+) ms")


# ---------------------------------------------------------------------------------------------------------
# Statistics and results
# ---------------------------------------------------------------------------------------------------------

def percentile(sorted_values, q):
    if not sorted_values:
        return None
    rank = max(1, math.ceil(q * len(sorted_values)))
    return sorted_values[rank - 1]


class Results:
    def __init__(self):
        self.rows = []  # dicts: key, label, n, median, p90, p99, unit, errors, note
        self.notes = []

    def add_samples(self, key, label, samples_ms, errors=0, note="", unit="ms"):
        values = sorted(samples_ms)
        self.rows.append({
            "key": key, "label": label, "n": len(values), "unit": unit, "errors": errors, "note": note,
            "median": percentile(values, 0.5), "p90": percentile(values, 0.9), "p99": percentile(values, 0.99),
            "samples": [round(v, 3) for v in samples_ms],  # in the order measured
        })

    def add_rate(self, key, label, rate, n, errors=0, note=""):
        self.add_value(key, label, rate, "req/s", n, errors, note)

    def add_value(self, key, label, value, unit, n, errors=0, note="", samples=None):
        """One figure (a rate, a total time, a count): shown in the median column."""
        self.rows.append({
            "key": key, "label": label, "n": n, "unit": unit, "errors": errors, "note": note,
            "median": value, "p90": None, "p99": None,
        })
        if samples is not None:
            self.rows[-1]["samples"] = samples

    def get(self, key):
        for row in self.rows:
            if row["key"] == key:
                return row
        return None


def fmt(value, unit="ms"):
    if value is None:
        return "-"
    if unit in ("req/s", "instances/GiB", "ticks", "MiB", "instances"):
        return "%.0f" % value if unit != "MiB" or value >= 10 else "%.1f" % value
    return "%.2f" % value if value < 10 else "%.1f" % value


# ---------------------------------------------------------------------------------------------------------
# HTTP
# ---------------------------------------------------------------------------------------------------------

class Client:
    """One keep-alive connection; reconnects once if the server closed it."""

    def __init__(self, base_url):
        parts = urlsplit(base_url)
        self._host, self._port = parts.hostname, parts.port
        self._connection = None

    def request(self, method, path, body=None, headers=None):
        for attempt in (0, 1):
            if self._connection is None:
                self._connection = http.client.HTTPConnection(self._host, self._port, timeout=REQUEST_TIMEOUT_S)
            try:
                self._connection.request(method, path, body=body, headers=headers or {})
                response = self._connection.getresponse()
                data = response.read()
                return response.status, response, data
            except (ConnectionError, http.client.RemoteDisconnected, http.client.BadStatusLine):
                self._connection.close()
                self._connection = None
                if attempt == 1:
                    raise
        raise AssertionError("unreachable")

    def connect(self):
        """Opens the connection now, so that a later request does not pay for the TCP handshake."""
        if self._connection is None:
            self._connection = http.client.HTTPConnection(self._host, self._port, timeout=REQUEST_TIMEOUT_S)
        self._connection.connect()

    def close(self):
        if self._connection is not None:
            self._connection.close()
            self._connection = None


def build_zip(files):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in files.items():
            info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
            mode = 0o755 if name == "bootstrap" else 0o644
            info.external_attr = (stat.S_IFREG | mode) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, text)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


class Nimbus:
    def __init__(self, base_url):
        self.base_url = base_url
        self.client = Client(base_url)

    def create(self, name, family, timeout_s=3):
        runtime, handler, files = RUNTIMES[family]
        body = json.dumps({
            "FunctionName": name, "Runtime": runtime, "Role": ROLE, "Handler": handler,
            "Code": {"ZipFile": build_zip(files)}, "MemorySize": 128, "Timeout": timeout_s,
        })
        status, _, data = self.client.request("POST", "/2015-03-31/functions", body, {"Content-Type": "application/json"})
        if status != 201:
            raise RuntimeError("CreateFunction %s answered %d: %s" % (name, status, data[:300]))

    def touch_configuration(self, name):
        """Any configuration change retires the warm instances: the next invoke is a cold start."""
        body = json.dumps({"Environment": {"Variables": {"BENCH_NONCE": "%016x" % random.getrandbits(64)}}})
        status, _, data = self.client.request("PUT", "/2015-03-31/functions/%s/configuration" % name, body,
                                              {"Content-Type": "application/json"})
        if status != 200:
            raise RuntimeError("UpdateFunctionConfiguration %s answered %d: %s" % (name, status, data[:300]))

    def delete(self, name):
        self.client.request("DELETE", "/2015-03-31/functions/%s" % name)


def invoke_ok(status, response, data):
    if status != 200 or response.getheader("X-Amz-Function-Error") is not None:
        return False
    try:
        return json.loads(data).get("ok") is True
    except ValueError:
        return False


def report_init(response):
    """Init Duration (ms) from the REPORT line of an X-Amz-Log-Type: Tail answer, or None (a warm invoke)."""
    tail = base64.b64decode(response.getheader("X-Amz-Log-Result") or "").decode("utf-8", "replace")
    report = next((line for line in tail.splitlines() if line.startswith("REPORT ")), "")
    match = REPORT_INIT.search(report)
    return float(match.group(1)) if match else None


def parse_timespan(text):
    """Seconds in a .NET TimeSpan such as 00:00:02 or 00:00:01.5."""
    hours, minutes, seconds = text.split(":")
    return int(hours) * 3600 + int(minutes) * 60 + float(seconds)


def failure_kind(status, response, data):
    """A short name for a failed invoke: the function's errorType, or the HTTP status."""
    try:
        error_type = json.loads(data).get("errorType") or json.loads(data).get("Type")
    except (ValueError, AttributeError):
        error_type = None
    return "%d %s" % (status, error_type or data[:60].decode("utf-8", "replace"))


# ---------------------------------------------------------------------------------------------------------
# Measurements
# ---------------------------------------------------------------------------------------------------------

class Bench:
    def __init__(self, args):
        self.args = args
        self.results = Results()
        self.deadline = time.monotonic() + args.budget
        self.nimbus = Nimbus(args.nimbus)
        self.problems = []
        self.children = []  # servers this driver started; stopped on every exit path
        self.terminating = False  # set by SIGTERM (the watchdog): stop children fast
        self.current = "start"  # the phase last logged

    def out_of_time(self, phase):
        if time.monotonic() > self.deadline:
            message = "time budget exhausted before or during: %s" % phase
            if message not in self.problems:
                self.problems.append(message)
            return True
        return False

    def log(self, message):
        self.current = message
        sys.stderr.write("[bench %6.1fs] %s\n" % (self.args.budget - (self.deadline - time.monotonic()), message))
        sys.stderr.flush()

    # -- floors: process start --

    def process_floor(self, key, label, command):
        samples, errors = [], 0
        for i in range(self.args.process_samples + 1):
            if self.out_of_time(label):
                break
            started = time.perf_counter()
            completed = subprocess.run(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, env=CLEAN_ENV,
                                       stderr=subprocess.PIPE, timeout=REQUEST_TIMEOUT_S, check=False)
            elapsed = (time.perf_counter() - started) * 1000
            if completed.returncode != 0:
                errors += 1
                self.problems.append("%s exited %d: %s" % (" ".join(command), completed.returncode,
                                                           completed.stderr[:200].decode("utf-8", "replace")))
            elif i > 0:  # sample 0 warms the page cache
                samples.append(elapsed)
        self.results.add_samples(key, label, samples, errors)

    def process_floors(self):
        self.log("process-start floors")
        a = self.args
        sandbox = [a.bwrap, "--ro-bind", "/", "/", "--unshare-pid", "--proc", "/proc", "--dev", "/dev"]
        self.process_floor("spawn_true", "floor: spawn `/bin/true` (cost of the measuring fork/exec)", ["/bin/true"])
        self.process_floor("node_e0", "floor: `node -e 0`", [a.node, "-e", "0"])
        self.process_floor("python_pass", "floor: `python3 -c pass` (real binary)", [a.python, "-c", "pass"])
        self.process_floor("python_nosite", "floor: `python3 -S -c pass` (no site import)", [a.python, "-S", "-c", "pass"])
        self.process_floor("bwrap_true", "floor: `bwrap ... /bin/true`", sandbox + ["/bin/true"])
        self.process_floor("bwrap_node_e0", "floor: `bwrap ... node -e 0`", sandbox + [a.node, "-e", "0"])
        self.process_floor("curl_post", "floor: one `curl` POST to the Kestrel floor (provided bootstrap does 2/invoke)",
                           [a.curl, "-sS", "-o", "/dev/null", "-X", "POST", "--data-binary", PAYLOAD.decode(), a.floor + "/"])

    # -- sequential round trips --

    def sequential(self, client, path, headers, check, count, warmup, phase, pause_s=0.0):
        samples, errors, kinds, attempts = [], 0, {}, 0
        for i in range(warmup + count):
            if self.out_of_time(phase):
                break
            if pause_s:
                time.sleep(pause_s)
            started = time.perf_counter()
            try:
                status, response, data = client.request("POST", path, PAYLOAD, headers)
                ok = check(status, response, data)
                kind = None if ok else failure_kind(status, response, data)
            except (OSError, http.client.HTTPException) as e:
                ok, kind = False, repr(e)
            elapsed = (time.perf_counter() - started) * 1000
            if i < warmup:
                continue
            attempts += 1
            if ok:
                samples.append(elapsed)
            else:
                errors += 1
                kinds[kind] = kinds.get(kind, 0) + 1
        if errors:
            self.problems.append("%s: %d of %d measured invokes failed (%s)" % (
                phase, errors, attempts, ", ".join("%s x%d" % kv for kv in sorted(kinds.items()))))
        return samples, errors

    def kestrel_floor(self):
        self.log("bare Kestrel round trip")
        client = Client(self.args.floor)
        check = lambda status, _r, data: status == 200 and data == PAYLOAD
        for suffix, pause, label in self.pacings():
            samples, errors = self.sequential(client, "/", {"Content-Type": "application/json"}, check,
                                              self.args.warm_samples, self.args.warmup, "kestrel floor" + suffix, pause)
            self.results.add_samples("kestrel_warm" + suffix, "floor: bare Kestrel POST echo round trip" + label,
                                     samples, errors)
        client.close()

    def pacings(self):
        """Back-to-back, then with a pause before each request (see --pause-ms)."""
        pause = self.args.pause_ms / 1000.0
        return [("", 0.0, ", back-to-back"), ("_paced", pause, ", %g ms pause" % self.args.pause_ms)]

    def nimbus_warm(self, family):
        self.log("Nimbus warm %s" % family)
        name = "bench-warm-%s" % family
        self.nimbus.create(name, family)
        client = Client(self.args.nimbus)
        count = self.args.warm_samples if family != "provided" else self.args.provided_warm_samples
        warmup = self.args.warmup if family != "provided" else 10
        label = {"node": "Nimbus warm invoke, node", "python": "Nimbus warm invoke, python",
                 "provided": "Nimbus warm invoke, provided (bash+curl)"}[family]
        for suffix, pause, pacing in self.pacings():
            samples, errors = self.sequential(client, "/2015-03-31/functions/%s/invocations" % name, {}, invoke_ok,
                                              count, warmup, "Nimbus warm %s%s" % (family, pacing), pause)
            self.results.add_samples("nimbus_warm_%s%s" % (family, suffix), label + pacing, samples, errors)
        client.close()
        self.nimbus.delete(name)

    # -- concurrency --

    def throughput(self, key, label, base_url, path, check, duration, warmup_s, phase, clients=None):
        clients = clients or self.args.caller_counts[0]
        stop_at = [0.0]
        measuring = threading.Event()
        lock = threading.Lock()
        latencies, errors, kinds = [], [0], {}

        def worker():
            client = Client(base_url)
            local, local_errors, local_kinds = [], 0, {}
            while time.monotonic() < stop_at[0]:
                started = time.perf_counter()
                try:
                    status, response, data = client.request("POST", path, PAYLOAD, {"Content-Type": "application/json"})
                    ok = check(status, response, data)
                    kind = None if ok else failure_kind(status, response, data)
                except (OSError, http.client.HTTPException) as e:
                    ok, kind = False, repr(e)
                elapsed = (time.perf_counter() - started) * 1000
                if measuring.is_set():
                    if ok:
                        local.append(elapsed)
                    else:
                        local_errors += 1
                        local_kinds[kind] = local_kinds.get(kind, 0) + 1
            client.close()
            with lock:
                latencies.extend(local)
                errors[0] += local_errors
                for kind, count in local_kinds.items():
                    kinds[kind] = kinds.get(kind, 0) + count

        if self.out_of_time(phase):
            return
        stop_at[0] = time.monotonic() + warmup_s + duration + 60  # refined below; bounded regardless
        threads = [threading.Thread(target=worker, daemon=True) for _ in range(clients)]
        for thread in threads:
            thread.start()
        time.sleep(warmup_s)
        measuring.set()
        begun = time.perf_counter()
        stop_at[0] = time.monotonic() + duration
        for thread in threads:
            thread.join(duration + REQUEST_TIMEOUT_S + 5)
        elapsed = time.perf_counter() - begun
        rate = len(latencies) / elapsed
        if errors[0]:
            self.problems.append("%s: %d of %d requests failed (%s)" % (
                phase, errors[0], errors[0] + len(latencies), ", ".join("%s x%d" % kv for kv in sorted(kinds.items()))))
        self.results.add_rate(key, label, rate, len(latencies), errors[0],
                              note="%d clients, %.0f s" % (clients, duration))
        self.results.add_samples(key + "_latency", label + ": per-request latency under load", latencies, errors[0])

    def load(self, key, label, base_url, path, check, clients):
        """Throughput of one target at a number of concurrent callers: the one place a load client is chosen."""
        self.log("%s, %d clients" % (label, clients))
        self.throughput(key, label, base_url, path, check, self.args.throughput_seconds, self.args.throughput_warmup,
                        "%s, %d clients" % (label, clients), clients)

    def nimbus_throughput(self):
        name = "bench-tput-node"
        self.nimbus.create(name, "node")
        for clients in self.args.caller_counts:
            if self.out_of_time("throughput node, %d clients" % clients):
                break
            self.load(tput_key("nimbus_tput_node", clients), "Nimbus warm throughput, node", self.args.nimbus,
                      "/2015-03-31/functions/%s/invocations" % name, invoke_ok, clients)
        self.nimbus.delete(name)

    def kestrel_throughput(self):
        check = lambda status, _r, data: status == 200 and data == PAYLOAD
        clients = self.args.caller_counts[0]
        self.load(tput_key("kestrel_tput", clients), "floor: bare Kestrel throughput", self.args.floor, "/", check, clients)

    # -- cold starts --

    def nimbus_cold(self, family):
        self.log("Nimbus cold %s" % family)
        name = "bench-cold-%s" % family
        self.nimbus.create(name, family)
        total, init, duration, errors, not_cold = [], [], [], 0, 0
        client = Client(self.args.nimbus)
        path = "/2015-03-31/functions/%s/invocations" % name
        # Sample 0 is discarded: it also unpacks the code and runs the server's start path for the first time.
        for i in range(self.args.cold_samples + 1):
            if self.out_of_time("cold " + family):
                break
            if i > 0:
                self.nimbus.touch_configuration(name)
                # Let the retired instance finish dying so its teardown does not overlap the measured start.
                time.sleep(self.args.cold_gap)
            started = time.perf_counter()
            try:
                status, response, data = client.request("POST", path, PAYLOAD, {"X-Amz-Log-Type": "Tail"})
            except (OSError, http.client.HTTPException) as e:
                errors += 1
                self.problems.append("cold %s: %r" % (family, e))
                continue
            elapsed = (time.perf_counter() - started) * 1000
            if not invoke_ok(status, response, data):
                errors += 1
                self.problems.append("cold %s: HTTP %d %s" % (family, status, data[:200]))
                continue
            tail = base64.b64decode(response.getheader("X-Amz-Log-Result") or "").decode("utf-8", "replace")
            report = next((line for line in tail.splitlines() if line.startswith("REPORT ")), "")
            init_match, duration_match = REPORT_INIT.search(report), REPORT_DURATION.search(report)
            if init_match is None:
                not_cold += 1
                continue
            if i > 0:
                total.append(elapsed)
                init.append(float(init_match.group(1)))
                if duration_match:
                    duration.append(float(duration_match.group(1)))
        client.close()
        self.nimbus.delete(name)
        if not_cold:
            self.problems.append("cold %s: %d invokes after a configuration change were not cold" % (family, not_cold))
        label = {"node": "node", "python": "python", "provided": "provided (bash+curl)"}[family]
        self.results.add_samples("nimbus_cold_" + family, "Nimbus cold start, %s: client-observed first invoke" % label,
                                 total, errors + not_cold)
        self.results.add_samples("nimbus_init_" + family, "Nimbus cold start, %s: server `Init Duration`" % label, init)
        self.results.add_samples("nimbus_colddur_" + family, "Nimbus cold start, %s: server `Duration` of that invoke" % label, duration)

    # -- peer --

    def peer(self, family):
        self.log("direct peer %s" % family)
        if self.out_of_time("peer " + family):
            return
        runtime, handler, files = RUNTIMES[family]
        task_root = tempfile.mkdtemp(prefix="nimbus-bench-peer-")
        try:
            for name, text in files.items():
                with open(os.path.join(task_root, name), "w", encoding="utf-8") as f:
                    f.write(text)
            command = direct_peer.runtime_command(family, self.args.node, self.args.python, self.args.runtimes)
            environment = direct_peer.runtime_environment(0, handler, task_root, self.args.runtimes)
            stderr_path = os.path.join(self.args.workdir, "peer-%s.stderr" % family)
            result = direct_peer.measure(command, environment, PAYLOAD, self.args.cold_samples, self.args.warm_samples,
                                         self.args.warmup, self.args.pause_ms / 1000.0, stderr_path, self.deadline)
        finally:
            shutil.rmtree(task_root, ignore_errors=True)
        if result["errors"]:
            self.problems.append("peer %s: %d errors (see %s)" % (family, result["errors"], stderr_path))
        self.results.add_samples("peer_cold_" + family, "peer (direct, no sandbox), %s: spawn to first response" % family,
                                 result["cold_total"], result["errors"])
        self.results.add_samples("peer_init_" + family, "peer (direct, no sandbox), %s: spawn to first /next (init)" % family,
                                 result["cold_init"])
        self.results.add_samples("peer_warm_" + family, "peer (direct, no sandbox), %s: warm event round trip, back-to-back" % family,
                                 result["warm"])
        self.results.add_samples("peer_warm_%s_paced" % family, "peer (direct, no sandbox), %s: warm event round trip, %g ms pause"
                                 % (family, self.args.pause_ms), result["warm_paced"])

    # -- helpers of the parts below: handler files, child servers, timed invokes, bursts --

    def write_files(self, directory, files):
        os.makedirs(directory, exist_ok=True)
        for file_name, text in files.items():
            with open(os.path.join(directory, file_name), "w", encoding="utf-8") as f:
                f.write(text)
        return directory

    def start_child(self, name, command, pattern, timeout_s, env=None, cwd=None):
        """Starts a server and waits for its ready line (pattern's group 1 is returned); always stopped later."""
        child = bench_procs.ChildServer(name, command, self.args.workdir, env=env, cwd=cwd)
        self.children.append(child)
        try:
            return child, child.wait_for(pattern, timeout_s)
        except RuntimeError:
            self.stop_child(child)
            raise

    def stop_child(self, child):
        if child in self.children:
            self.children.remove(child)
        child.stop(2 if self.terminating else 10)

    def stop_children(self):
        for child in list(self.children):
            self.stop_child(child)

    def timed_invoke(self, client, path, payload=PAYLOAD, tail=False):
        """(ms, ok, Init Duration ms or None, failure kind) of one invoke."""
        headers = {"Content-Type": "application/json"}
        if tail:
            headers["X-Amz-Log-Type"] = "Tail"
        started = time.perf_counter()
        try:
            status, response, data = client.request("POST", path, payload, headers)
        except (OSError, http.client.HTTPException) as e:
            return (time.perf_counter() - started) * 1000, False, None, repr(e)
        elapsed = (time.perf_counter() - started) * 1000
        if not invoke_ok(status, response, data):
            return elapsed, False, None, failure_kind(status, response, data)
        return elapsed, True, report_init(response) if tail else None, None

    def warm_target(self, key, label, base_url, path, check, phase):
        """Sequential round trips on one keep-alive connection, back-to-back and paced, like the Nimbus rows."""
        client = Client(base_url)
        for suffix, pause, pacing in self.pacings():
            samples, errors = self.sequential(client, path, {"Content-Type": "application/json"}, check,
                                              self.args.warm_samples, self.args.warmup, phase + pacing, pause)
            self.results.add_samples(key + suffix, label + pacing, samples, errors)
        client.close()

    def burst(self, base_url, path, count, payload=PAYLOAD, tail=False):
        """count concurrent calls on pre-opened connections, released together; returns what happened."""
        barrier = threading.Barrier(count + 1)
        outcomes = [None] * count

        def worker(index):
            client = Client(base_url)
            try:
                client.connect()
                barrier.wait(30)
            except (OSError, threading.BrokenBarrierError) as e:
                outcomes[index] = (None, False, None, "not started: %r" % e, time.perf_counter())
                client.close()
                return
            elapsed, ok, init, kind = self.timed_invoke(client, path, payload, tail)
            outcomes[index] = (elapsed, ok, init, kind, time.perf_counter())
            client.close()

        threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(count)]
        for thread in threads:
            thread.start()
        try:
            barrier.wait(30)
        except threading.BrokenBarrierError:
            pass
        released = time.perf_counter()
        join_deadline = time.monotonic() + REQUEST_TIMEOUT_S * 2 + 5
        for thread in threads:
            thread.join(max(0.0, join_deadline - time.monotonic()))
        done = [o for o in outcomes if o is not None]
        kinds = {}
        for o in outcomes:
            kind = "no answer in time" if o is None else o[3]
            if kind:
                kinds[kind] = kinds.get(kind, 0) + 1
        return {
            "total_ms": (max(o[4] for o in done) - released) * 1000 if done else None,
            "latencies": [o[0] for o in done if o[1]],
            "errors": count - sum(1 for o in done if o[1]),
            "cold": sum(1 for o in done if o[2] is not None),
            "kinds": kinds,
        }

    def report_burst(self, key, label, result, count, phase):
        note = "%d calls" % count
        if result["cold"]:
            note += ", %d of them cold starts" % result["cold"]
        self.results.add_value(key, label + ": burst of %d concurrent calls to a cold function, until all complete"
                               % count, result["total_ms"], "ms", count, result["errors"], note)
        self.results.add_samples(key + "_latency", label + ": per-call latency in that burst", result["latencies"],
                                 result["errors"])
        if result["errors"]:
            self.problems.append("%s: %d of %d calls failed (%s)" % (phase, result["errors"], count, ", ".join(
                "%s x%d" % kv for kv in sorted(result["kinds"].items()))))

    # -- floor: the handler in a bare node HTTP server --

    def node_floor(self):
        self.log("floor: bare node HTTP server running the handler")
        directory = self.write_files(os.path.join(self.args.workdir, "floor-node"), RUNTIMES["node"][2])
        try:
            child, url = self.start_child(
                "floor-node", [self.args.node, os.path.join(BENCH_DIR, "floor_node.js"), os.path.join(directory, "index.js")],
                r"listening on (http://127\.0\.0\.1:\d+)", 30, env=CLEAN_ENV)
        except RuntimeError as e:
            self.problems.append("bare node floor: %s" % e)
            return
        try:
            self.warm_target("node_floor_warm", "floor: bare `node` HTTP server running the handler, round trip", url, "/",
                             invoke_ok, "bare node floor")
            for clients in self.args.caller_counts:
                if self.out_of_time("bare node floor throughput, %d clients" % clients):
                    break
                self.load(tput_key("node_floor_tput", clients), "floor: bare `node` HTTP server throughput", url, "/",
                          invoke_ok, clients)
        finally:
            self.stop_child(child)

    # -- peer: serverless-offline's Lambda Invoke API --

    def offline_start(self, tag):
        """Starts serverless-offline on a free port; returns (child, base URL, ms from spawn to listening)."""
        port = bench_procs.free_port()
        directory = self.args.offline_peer
        command = [self.args.node, os.path.join(directory, "node_modules", "serverless", "bin", "serverless.js"),
                   "offline", "start", "--lambdaPort", str(port), "--httpPort", str(bench_procs.free_port())]
        env = dict(os.environ, SLS_TELEMETRY_DISABLED="1", SLS_NOTIFICATIONS_MODE="off", SLS_DEPRECATION_DISABLE="*")
        started = time.perf_counter()
        child, _ = self.start_child("serverless-offline-" + tag, command,
                                    r"listening on http://127\.0\.0\.1:%d" % port, 90, env=env, cwd=directory)
        return child, "http://127.0.0.1:%d" % port, (time.perf_counter() - started) * 1000

    def offline_peer(self):
        label = "peer serverless-offline, node"
        if self.args.offline_peer_error or not self.args.offline_peer:
            self.problems.append("serverless-offline peer not measured: %s" % (
                self.args.offline_peer_error or "no --offline-peer directory given"))
            return
        self.log("peer: serverless-offline (start, first calls, warm, throughput)")
        self.write_files(self.args.offline_peer, {"index.js": NODE_HANDLER, "sleeper.js": NODE_SLEEP_HANDLER})
        path = "/2015-03-31/functions/%s/invocations"
        try:
            child, url, ready_ms = self.offline_start("1")
        except RuntimeError as e:
            self.problems.append("serverless-offline did not start: %s" % e)
            return
        try:
            self.results.add_value("offline_ready", label + ": process start to Invoke API listening", ready_ms, "ms", 1)
            client = Client(url)
            elapsed, ok, _, kind = self.timed_invoke(client, path % (OFFLINE_FUNCTION % "echo"))
            self.results.add_samples("offline_first", label + ": first call after start (cold)", [elapsed] if ok else [],
                                     0 if ok else 1)
            if not ok:
                self.problems.append("serverless-offline first call failed: %s" % kind)
            firsts, errors = [], 0
            for i in range(1, 11):
                elapsed, ok, _, kind = self.timed_invoke(client, path % (OFFLINE_FUNCTION % ("cold%02d" % i)))
                if ok:
                    firsts.append(elapsed)
                else:
                    errors += 1
                    self.problems.append("serverless-offline first call of cold%02d failed: %s" % (i, kind))
            self.results.add_samples("offline_first_fn", label + ": first call of a function not yet loaded", firsts, errors)
            client.close()
            self.warm_target("offline_warm", label + ": warm invoke", url, path % (OFFLINE_FUNCTION % "echo"), invoke_ok,
                             "serverless-offline warm")
            for clients in self.args.caller_counts:
                if self.out_of_time("serverless-offline throughput, %d clients" % clients):
                    break
                self.load(tput_key("offline_tput", clients), label + ": warm throughput", url,
                          path % (OFFLINE_FUNCTION % "echo"), invoke_ok, clients)
        finally:
            self.stop_child(child)

        # A second start: the memory N concurrent calls leave behind, then a burst to a function never called.
        if self.out_of_time("serverless-offline density and burst"):
            return
        self.log("peer: serverless-offline (density, burst to a cold function)")
        try:
            child, url, _ = self.offline_start("2")
        except RuntimeError as e:
            self.problems.append("serverless-offline did not start again: %s" % e)
            return
        try:
            n = self.args.density_instances
            payload = json.dumps({"sleep_ms": self.args.density_sleep_ms}).encode()
            result = self.burst(url, path % (OFFLINE_FUNCTION % "sleeper"), n, payload)
            pids = bench_procs.descendants(child.pid)
            pss = sum(p for p in (bench_procs.pss_bytes(pid) for pid in pids) if p)
            ticks = self.idle_cpu_ticks(pids)
            self.results.add_value("offline_density", label + ": instances per GiB (PSS of the whole serverless "
                                   "process after %d concurrent calls)" % n, n * GIB / pss if pss else None,
                                   "instances/GiB", n, result["errors"], "%.0f MiB in %d processes" % (pss / 2 ** 20, len(pids)))
            self.results.add_value("offline_idle_cpu", label + ": CPU time used while idle for %g s after those calls"
                                   % self.args.idle_cpu_seconds, ticks, "ticks", len(pids), 0,
                                   "1 tick = %d ms" % (1000 // bench_procs.CLOCK_TICKS))
            result = self.burst(url, path % (OFFLINE_FUNCTION % "burst"), self.args.burst)
            self.report_burst("offline_burst", label, result, self.args.burst, "serverless-offline burst")
        finally:
            self.stop_child(child)

    # -- cold start over many functions, with and without the pre-started pool --

    def pool_setting_known(self):
        """Whether the built server names NIMBUS_PRESTART_POOL at all (it is a string literal of its settings table)."""
        root = os.path.dirname(os.path.abspath(self.args.serve))
        needles = ("NIMBUS_PRESTART_POOL".encode("utf-16-le"), b"NIMBUS_PRESTART_POOL")
        for dll in sorted(glob.glob(os.path.join(root, "artifacts", "bin", "Nimbus.Server", "release", "Nimbus*.dll"))):
            with open(dll, "rb") as f:
                content = f.read()
            if any(needle in content for needle in needles):
                return True
        return False

    def start_nimbus(self, name, extra_env, unset=()):
        data = os.path.join(self.args.workdir, name)
        command = [self.args.serve, "serve", "--listen", "http://127.0.0.1:0", "--data", data]
        env = {k: v for k, v in os.environ.items() if k not in unset}
        child, url = self.start_child(name, command, r"ready on (http://127\.0\.0\.1:\d+)", 120,
                                      env=dict(env, **extra_env))
        return child, url, data

    def cold_functions(self):
        known = self.pool_setting_known()
        if not known:
            self.problems.append("this server build does not know NIMBUS_PRESTART_POOL: the 'pool on' and 'pool off' "
                                 "cold-start rows come from the same server")
        # "pool on" is the server's own default pool (NIMBUS_PRESTART_POOL and NIMBUS_PRESTART_POOL_MAX unset), "pool off" 0.
        for mode, values in (("on", (None,)), ("off", ("0", "false"))):
            phase = "cold over %d functions, pool %s" % (self.args.cold_functions, mode)
            if self.out_of_time(phase):
                return
            self.log(phase)
            server, failures = None, []
            for value in values:  # 0 as announced; false if the server binds it as a boolean
                env = {"NIMBUS_IDLE_INSTANCE_TIMEOUT": self.args.cold_idle_timeout}
                if value is not None:
                    env["NIMBUS_PRESTART_POOL"] = value
                try:
                    server, url, data = self.start_nimbus("nimbus-pool-%s-%s" % (mode, value or "default"), env,
                                                          unset=("NIMBUS_PRESTART_POOL", "NIMBUS_PRESTART_POOL_MAX"))
                    break
                except RuntimeError as e:
                    failures.append("NIMBUS_PRESTART_POOL=%s: %s" % (value or "(default)", e))
            if server is None:
                self.problems.append("%s: the server did not start (%s)" % (phase, "; ".join(failures)))
                continue
            try:
                setting = "NIMBUS_PRESTART_POOL=" + value if value is not None else "NIMBUS_PRESTART_POOL unset (server default)"
                self.cold_functions_on(url, bench_procs.NodeCgroups(server.pid, data), "pool" if mode == "on" else "nopool",
                                       "pool " + mode, setting, phase)
            finally:
                self.stop_child(server)

    def prestart_status(self, url):
        """The server's pre-start pool from /metrics: {(family, state): runtimes}, {family: target}, {result: takes}."""
        runtimes, targets, takes = {}, {}, {}
        client = Client(url)
        try:
            status, _, body = client.request("GET", "/metrics")
        except (OSError, http.client.HTTPException):
            return runtimes, targets, takes
        finally:
            client.close()
        if status != 200:
            return runtimes, targets, takes
        for line in body.decode("utf-8", "replace").splitlines():
            m = re.match(r'(nimbus_prestart_\w+)\{([^}]*)\} (\S+)$', line)
            if not m:
                continue
            labels = dict(re.findall(r'(\w+)="([^"]*)"', m.group(2)))
            value = float(m.group(3))
            if m.group(1) == "nimbus_prestart_runtimes":
                key = (labels.get("family"), labels.get("state"))
                runtimes[key] = runtimes.get(key, 0) + value
            elif m.group(1) == "nimbus_prestart_target":
                targets[labels.get("family")] = targets.get(labels.get("family"), 0) + value
            elif m.group(1) == "nimbus_prestart_takes_total":
                takes[labels.get("result")] = value
        return runtimes, targets, takes

    def wait_for_pool(self, url, mode_key, phase):
        """Until every pre-started runtime of the server's pool waits for a function (at most 60 s): a server that has been up
        a while. Records how long the fill took, the pool's depth, and the memory its idle runtimes hold (their cgroups)."""
        started = time.monotonic()
        while True:
            runtimes, targets, _ = self.prestart_status(url)
            waiting = sum(v for (f, s), v in runtimes.items() if s == "waiting")
            if targets and waiting >= sum(targets.values()) or time.monotonic() - started > 60:
                break
            time.sleep(0.1)
        fill_ms = (time.monotonic() - started) * 1000
        if not targets:
            return
        depth = ", ".join("%s %d" % (f, t) for f, t in sorted(targets.items()))
        self.log("%s: pre-start pool %s (waiting %d), filled %.0f ms after ready" % (phase, depth, waiting, fill_ms))
        self.results.add_value("cold%d_%s_pool_fill" % (self.args.cold_functions, mode_key),
                               "Nimbus pre-start pool: server ready until every pre-started runtime waits",
                               fill_ms, "ms", 1, note="pool: " + depth)
        return waiting

    def pool_memory(self, cgroups, mode_key, phase):
        """The memory the pool's idle runtimes hold: the sum of their cgroups' usage (pre-started runtimes are the
        instance cgroups at the lowest CPU weight until a function takes them)."""
        if not cgroups.available:
            return
        pooled = cgroups.pooled()
        total = sum(cgroups.memory_bytes(i) or 0 for i in pooled)
        if pooled:
            self.log("%s: %d pre-started runtimes hold %.1f MB (cgroup memory, %.1f MB each)"
                     % (phase, len(pooled), total / 2**20, total / 2**20 / len(pooled)))
        self.results.add_value("cold%d_%s_pool_memory" % (self.args.cold_functions, mode_key),
                               "Nimbus pre-start pool: idle memory of its runtimes (cgroup memory, all shapes)",
                               total / 2**20, "MB", len(pooled), note="%d runtimes" % len(pooled))

    def cold_functions_on(self, url, cgroups, mode_key, mode_label, setting, phase):
        nimbus, client, n = Nimbus(url), Client(url), self.args.cold_functions
        path = "/2015-03-31/functions/%s/invocations"
        if mode_key == "pool":
            self.wait_for_pool(url, mode_key, phase)
            self.pool_memory(cgroups, mode_key, phase)
        baseline = len(cgroups.instances())
        measured = {family: [] for family in ("node", "python")}
        rows, errors = {}, {}

        def record(key, value):
            rows.setdefault(key, []).append(value)

        last_invoke = time.monotonic()
        takes = {}
        for family in ("node", "python"):
            before = self.prestart_status(url)[2]
            # One unmeasured function first: the server's first use of its create and start paths.
            for i in range(-1, n):
                if self.out_of_time(phase):
                    break
                name = "bench-c50-%s-%s" % (family, "warmup" if i < 0 else "%02d" % i)
                started = time.perf_counter()
                try:
                    nimbus.create(name, family)
                except (RuntimeError, OSError, http.client.HTTPException) as e:
                    errors[family] = errors.get(family, 0) + 1
                    self.problems.append("%s: CreateFunction %s: %s" % (phase, name, e))
                    continue
                created = time.perf_counter()
                elapsed, ok, init, kind = self.timed_invoke(client, path % name, tail=True)
                last_invoke = time.monotonic()
                if i < 0:
                    continue
                if not ok or init is None:
                    errors[family] = errors.get(family, 0) + 1
                    self.problems.append("%s: first invoke of %s: %s" % (phase, name, kind or "not a cold start"))
                    continue
                measured[family].append(name)
                record((family, "create"), (created - started) * 1000 + elapsed)
                record((family, "first"), elapsed)
                record((family, "first_init"), init)
            after = self.prestart_status(url)[2]
            takes[family] = {k: after.get(k, 0) - before.get(k, 0) for k in after}
            if takes[family]:
                self.log("%s, %s: cold starts found a pre-started runtime waiting %d, loading %d, none %d" % (
                    phase, family, takes[family].get("waiting", 0), takes[family].get("loading", 0), takes[family].get("none", 0)))

        # Scale to zero: wait for the reaper to stop every instance (the instance cgroups back to the baseline).
        idle_s = parse_timespan(self.args.cold_idle_timeout)
        earliest, latest = last_invoke + idle_s + 1.5, last_invoke + idle_s + 12
        while time.monotonic() < latest:
            if time.monotonic() >= earliest and (not cgroups.available or len(cgroups.instances()) <= baseline):
                break
            time.sleep(0.1)
        for family in ("node", "python"):
            for name in measured[family]:
                if self.out_of_time(phase):
                    break
                elapsed, ok, init, kind = self.timed_invoke(client, path % name, tail=True)
                if not ok or init is None:
                    errors[(family, "reaped")] = errors.get((family, "reaped"), 0) + 1
                    self.problems.append("%s: invoke of %s after reaping: %s" % (phase, name, kind or "not a cold start"))
                    continue
                record((family, "reaped"), elapsed)
                record((family, "reaped_init"), init)
        client.close()
        nimbus.client.close()

        for family in ("node", "python"):
            prefix = "cold%d_%s_%s" % (n, family, mode_key)
            text = "Nimbus cold, %s, %s" % (family, mode_label)
            self.results.add_samples(prefix + "_create", text + ": CreateFunction to first result, per function",
                                     rows.get((family, "create"), []), errors.get(family, 0),
                                     note="%d functions, %s" % (n, setting))
            self.results.add_samples(prefix + "_first", text + ": first invoke of a fresh function",
                                     rows.get((family, "first"), []), errors.get(family, 0))
            self.results.add_samples(prefix + "_first_init", text + ": its server `Init Duration`",
                                     rows.get((family, "first_init"), []),
                                     note=("pool had a runtime waiting for %d, loading for %d, none for %d (incl. the warm-up)"
                                           % tuple(takes[family].get(k, 0) for k in ("waiting", "loading", "none")))
                                     if takes.get(family) else "")
            self.results.add_samples(prefix + "_reaped", text + ": first invoke after its instance was reaped",
                                     rows.get((family, "reaped"), []), errors.get((family, "reaped"), 0))
            self.results.add_samples(prefix + "_reaped_init", text + ": its server `Init Duration`",
                                     rows.get((family, "reaped_init"), []))

    # -- scale-out --

    def spawn_burst(self, key, label, command, count):
        """count copies of a command started at once; the time until the last has exited."""
        started = time.perf_counter()
        processes, errors = [], 0
        for _ in range(count):
            try:
                processes.append(subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                                  stderr=subprocess.DEVNULL, env=CLEAN_ENV))
            except OSError:
                errors += 1
        deadline = time.monotonic() + 60
        for process in processes:
            try:
                if process.wait(max(0.1, deadline - time.monotonic())) != 0:
                    errors += 1
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)
                errors += 1
        self.results.add_value(key, label, (time.perf_counter() - started) * 1000, "ms", count, errors)

    def scale_out(self):
        count = self.args.burst
        self.spawn_burst("burst_floor_node", "floor: %d concurrent `node -e 0`, until all have exited" % count,
                         [self.args.node, "-e", "0"], count)
        self.spawn_burst("burst_floor_python", "floor: %d concurrent `python3 -c pass`, until all have exited" % count,
                         [self.args.python, "-c", "pass"], count)
        for family in ("node", "python"):
            if self.out_of_time("burst " + family):
                return
            self.log("Nimbus burst of %d calls to a cold %s function" % (count, family))
            name = "bench-burst-%s" % family
            self.nimbus.create(name, family)
            result = self.burst(self.args.nimbus, "/2015-03-31/functions/%s/invocations" % name, count, tail=True)
            self.report_burst("nimbus_burst_" + family, "Nimbus, %s" % family, result, count, "Nimbus burst " + family)
            self.nimbus.delete(name)

    # -- density --

    def idle_cpu_ticks(self, pids):
        """utime + stime the processes use over --idle-cpu-seconds (ticks); processes that vanish count as 0."""
        before = {pid: bench_procs.cpu_ticks(pid) for pid in pids}
        time.sleep(self.args.idle_cpu_seconds)
        after = {pid: bench_procs.cpu_ticks(pid) for pid in pids}
        return sum(after[p] - before[p] for p in pids if before[p] is not None and after[p] is not None)

    def density_floor(self, family, count):
        """count idle bare interpreters that have loaded the handler, like count instances without a platform.

        PSS splits shared pages (the interpreter's binary and libraries) among the processes mapping them, so the
        floor runs as many processes as the Nimbus measurement has instances.
        """
        _, _, files = RUNTIMES[family]
        directory = self.write_files(os.path.join(self.args.workdir, "density-floor-" + family), files)
        if family == "node":
            command = [self.args.node, "-e", "require(process.argv[1]); console.log('ready'); setTimeout(() => {}, 60000)",
                       os.path.join(directory, "index.js")]
        else:
            command = [self.args.python, "-c", "import sys, time; sys.path.insert(0, sys.argv[1]); import lambda_function; "
                       "print('ready', flush=True); time.sleep(60)", directory]
        children = []
        try:
            for i in range(count):
                children.append(bench_procs.ChildServer("density-floor-%s-%02d" % (family, i), command, self.args.workdir,
                                                        env=CLEAN_ENV))
                self.children.append(children[-1])
            for child in children:
                child.wait_for(r"(ready)", 30)
            pss = [bench_procs.pss_bytes(child.pid) or 0 for child in children]
        except RuntimeError as e:
            self.problems.append("density floor %s: %s" % (family, e))
            return
        finally:
            for child in children:
                self.stop_child(child)
        total = sum(pss)
        self.results.add_value("density_floor_" + family, "floor: %d bare idle %s processes with the handler loaded: "
                               "instances per GiB (PSS)" % (count, family), count * GIB / total if total else None,
                               "instances/GiB", count, 0 if total else 1, "%.1f MiB each" % (total / count / 2 ** 20),
                               samples=pss)

    def density(self, family):
        phase = "density " + family
        if self.out_of_time(phase):
            return
        self.density_floor(family, self.args.density_instances)
        if not self.args.nimbus_pid or not self.args.nimbus_data:
            self.problems.append("%s: needs --nimbus-pid and --nimbus-data to find the instance cgroups" % phase)
            return
        cgroups = bench_procs.NodeCgroups(self.args.nimbus_pid, self.args.nimbus_data)
        if not cgroups.available:
            self.problems.append("%s: no instance cgroups at %s (cgroups off?)" % (phase, cgroups.freezer))
            return
        n = self.args.density_instances
        self.log("Nimbus density %s: %d instances" % (family, n))
        name = "bench-density-%s" % family
        self.nimbus.create(name, family + "-sleep", timeout_s=10)
        # Pre-started runtimes (the lowest CPU weight) that the burst takes become its instances: not "before"; the pool's
        # refills started during the burst are not instances. A pre-started runtime's /proc/<pid>/environ is the pool's, not
        # the function's, so instances from the pool count as the function's.
        before = set(cgroups.instances()) - set(cgroups.pooled())
        payload = json.dumps({"sleep_ms": self.args.density_sleep_ms}).encode()
        result = self.burst(self.args.nimbus, "/2015-03-31/functions/%s/invocations" % name, n, payload, tail=True)
        pooled = set(cgroups.pooled())
        new = [i for i in cgroups.instances() if i not in before and i not in pooled]
        mine = [i for i in new if any(bench_procs.environ_has(pid, "AWS_LAMBDA_FUNCTION_NAME=" + name)
                                      or bench_procs.environ_has(pid, "_NIMBUS_PRESTARTED=1") for pid in cgroups.pids(i))]
        if len(mine) != len(new):
            self.problems.append("%s: %d new instance cgroups, %d of them with %s in their environment%s" % (
                phase, len(new), len(mine), name, "; counting all" if not mine else ""))
            mine = mine or new
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not all(cgroups.frozen(i) for i in mine):
            time.sleep(0.05)
        frozen = sum(1 for i in mine if cgroups.frozen(i))
        memory = [cgroups.memory_bytes(i) or 0 for i in mine]
        pids = [pid for i in mine for pid in cgroups.pids(i)]
        pss_by_instance = [sum(p for p in (bench_procs.pss_bytes(pid) for pid in cgroups.pids(i)) if p) for i in mine]
        ticks = self.idle_cpu_ticks(pids)
        still_frozen = sum(1 for i in mine if cgroups.frozen(i))
        self.nimbus.delete(name)

        label = "Nimbus density, %s" % family
        self.results.add_value("density_%s_instances" % family, label + ": instances started by %d concurrent calls "
                               "(%g ms handler), frozen once idle" % (n, self.args.density_sleep_ms), len(mine),
                               "instances", n, result["errors"] + len(mine) - frozen,
                               "%d frozen" % frozen)
        for key, text, values in (("cgroup", "cgroup `memory.usage_in_bytes`", memory), ("pss", "PSS of the instance's "
                                  "processes", pss_by_instance)):
            total = sum(values)
            self.results.add_value("density_%s_%s" % (family, key), label + ": idle instances per GiB, by " + text,
                                   len(mine) * GIB / total if total else None, "instances/GiB", len(mine), 0,
                                   "%.0f MiB for %d" % (total / 2 ** 20, len(mine)), samples=values)
            self.results.add_samples("density_%s_%s_each" % (family, key), label + ": " + text + " per idle instance",
                                     [v / 2 ** 20 for v in values], unit="MiB")
        cpu_errors = 1 if ticks or still_frozen < len(mine) else 0
        self.results.add_value("density_%s_idle_cpu" % family, label + ": CPU time (utime+stime) of the %d frozen "
                               "instances over %g s" % (len(mine), self.args.idle_cpu_seconds), ticks, "ticks",
                               len(pids), cpu_errors, "%d processes, %d still frozen" % (len(pids), still_frozen))
        if cpu_errors:
            self.problems.append("%s: idle instances used %d CPU ticks in %g s (%d of %d still frozen)" % (
                phase, ticks, self.args.idle_cpu_seconds, still_frozen, len(mine)))

    def run(self):
        parts = self.args.only
        if "floors" in parts:
            self.process_floors()
            self.kestrel_floor()
            if not self.out_of_time("floor throughput"):
                self.kestrel_throughput()
            if not self.out_of_time("bare node floor"):
                self.node_floor()
        if "warm" in parts:
            for family in ("node", "python", "provided"):
                if not self.out_of_time("warm " + family):
                    self.nimbus_warm(family)
        if "throughput" in parts and not self.out_of_time("throughput"):
            self.nimbus_throughput()
        if "cold" in parts:
            if "floors" not in parts:  # the process starts the cold rows are compared with
                self.process_floor("node_e0", "floor: `node -e 0`", [self.args.node, "-e", "0"])
                self.process_floor("python_pass", "floor: `python3 -c pass` (real binary)", [self.args.python, "-c", "pass"])
            for family in ("node", "python", "provided"):
                if not self.out_of_time("cold " + family):
                    self.nimbus_cold(family)
        if "peer" in parts:
            for family in ("node", "python"):
                self.peer(family)
            if not self.out_of_time("serverless-offline peer"):
                self.offline_peer()
        if "scale" in parts and not self.out_of_time("scale-out"):
            self.scale_out()
        if "density" in parts:
            for family in ("node", "python"):
                self.density(family)
        # Last, as it starts two servers of its own: the part the budget cuts first.
        if "cold" in parts and not self.out_of_time("cold over many functions"):
            self.cold_functions()


# ---------------------------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------------------------

def tput_key(prefix, clients):
    """Throughput keys: the 4-caller figure keeps the suite's original key, other counts get a suffix."""
    return prefix if clients == 4 else "%s_c%d" % (prefix, clients)


def ratio(results, numerator, denominator, field="median"):
    a, b = results.get(numerator), results.get(denominator)
    if not a or not b or a[field] is None or not b[field]:
        return None
    return a[field] / b[field]


def new_part_ratios(results, args):
    """Ratios of the bare-node floor, the serverless-offline peer, the many-function cold starts, bursts, density."""
    out = []
    for suffix, pacing in (("", "back-to-back"), ("_paced", "paced")):
        out += [
            ("warm node, %s: Nimbus / bare node floor" % pacing, ratio(results, "nimbus_warm_node" + suffix, "node_floor_warm" + suffix)),
            ("warm node, %s: Nimbus / serverless-offline" % pacing, ratio(results, "nimbus_warm_node" + suffix, "offline_warm" + suffix)),
            ("warm node, %s: serverless-offline / bare node floor" % pacing, ratio(results, "offline_warm" + suffix, "node_floor_warm" + suffix)),
        ]
    for clients in args.caller_counts:
        nimbus = tput_key("nimbus_tput_node", clients)
        out += [
            ("throughput node, %d clients: Nimbus / bare node floor" % clients, ratio(results, nimbus, tput_key("node_floor_tput", clients))),
            ("throughput node, %d clients: Nimbus / serverless-offline" % clients, ratio(results, nimbus, tput_key("offline_tput", clients))),
        ]
    n = args.cold_functions
    for mode, text in (("pool", "pool on"), ("nopool", "pool off")):
        node, python = "cold%d_node_%s" % (n, mode), "cold%d_python_%s" % (n, mode)
        out += [
            ("cold node (%d functions, %s): fresh first invoke / `node -e 0`" % (n, text), ratio(results, node + "_first", "node_e0")),
            ("cold node (%d functions, %s): fresh first invoke / serverless-offline first call after start" % (n, text), ratio(results, node + "_first", "offline_first")),
            ("cold node (%d functions, %s): fresh first invoke / serverless-offline first call of a function" % (n, text), ratio(results, node + "_first", "offline_first_fn")),
            ("cold node (%d functions, %s): CreateFunction to first result / serverless-offline first call after start" % (n, text), ratio(results, node + "_create", "offline_first")),
            ("cold node (%d functions, %s): after reaping / `node -e 0`" % (n, text), ratio(results, node + "_reaped", "node_e0")),
            ("cold node (%d functions, %s): after reaping / serverless-offline first call of a function" % (n, text), ratio(results, node + "_reaped", "offline_first_fn")),
            ("cold python (%d functions, %s): fresh first invoke / `python3 -c pass`" % (n, text), ratio(results, python + "_first", "python_pass")),
            ("cold python (%d functions, %s): fresh first invoke / direct peer first response" % (n, text), ratio(results, python + "_first", "peer_cold_python")),
            ("cold python (%d functions, %s): after reaping / `python3 -c pass`" % (n, text), ratio(results, python + "_reaped", "python_pass")),
        ]
    out += [
        ("burst node: Nimbus / %d concurrent `node -e 0`" % args.burst, ratio(results, "nimbus_burst_node", "burst_floor_node")),
        ("burst node: Nimbus / serverless-offline", ratio(results, "nimbus_burst_node", "offline_burst")),
        ("burst python: Nimbus / %d concurrent `python3 -c pass`" % args.burst, ratio(results, "nimbus_burst_python", "burst_floor_python")),
        ("density node (instances per GiB, PSS): Nimbus / bare node process", ratio(results, "density_node_pss", "density_floor_node")),
        ("density node (instances per GiB, PSS): Nimbus / serverless-offline", ratio(results, "density_node_pss", "offline_density")),
        ("density node (instances per GiB, cgroup usage): Nimbus / bare node process", ratio(results, "density_node_cgroup", "density_floor_node")),
        ("density python (instances per GiB, PSS): Nimbus / bare python process", ratio(results, "density_python_pss", "density_floor_python")),
        ("density python (instances per GiB, cgroup usage): Nimbus / bare python process", ratio(results, "density_python_cgroup", "density_floor_python")),
    ]
    return out


def markdown(results, problems, args):
    lines = ["| measurement | n | median | p90 | p99 | unit | errors |", "| --- | ---: | ---: | ---: | ---: | --- | ---: |"]
    for row in results.rows:
        label = row["label"] + (" (%s)" % row["note"] if row["note"] else "")
        lines.append("| %s | %d | %s | %s | %s | %s | %d |" % (
            label, row["n"], fmt(row["median"], row["unit"]), fmt(row["p90"], row["unit"]),
            fmt(row["p99"], row["unit"]), row["unit"], row["errors"]))

    ratios = []
    for family in ("node", "python"):
        for suffix, pacing in (("", "back-to-back"), ("_paced", "paced")):
            ratios.append(("warm %s, %s: Nimbus / bare Kestrel floor" % (family, pacing),
                           ratio(results, "nimbus_warm_%s%s" % (family, suffix), "kestrel_warm" + suffix)))
            ratios.append(("warm %s, %s: Nimbus / direct peer" % (family, pacing),
                           ratio(results, "nimbus_warm_%s%s" % (family, suffix), "peer_warm_%s%s" % (family, suffix))))
    ratios += [
        ("throughput node, 4 clients: Nimbus / bare Kestrel floor", ratio(results, "nimbus_tput_node", "kestrel_tput")),
        ("cold node: Nimbus first invoke / direct peer first response", ratio(results, "nimbus_cold_node", "peer_cold_node")),
        ("cold node: Nimbus Init Duration / direct peer init", ratio(results, "nimbus_init_node", "peer_init_node")),
        ("cold node: Nimbus first invoke / `node -e 0`", ratio(results, "nimbus_cold_node", "node_e0")),
        ("cold node: Nimbus first invoke / `bwrap ... node -e 0`", ratio(results, "nimbus_cold_node", "bwrap_node_e0")),
        ("cold python: Nimbus first invoke / direct peer first response", ratio(results, "nimbus_cold_python", "peer_cold_python")),
        ("cold python: Nimbus Init Duration / direct peer init", ratio(results, "nimbus_init_python", "peer_init_python")),
        ("cold python: Nimbus first invoke / `python3 -c pass`", ratio(results, "nimbus_cold_python", "python_pass")),
    ]
    ratios += new_part_ratios(results, args)
    lines += ["", "| ratio (of medians) | value |", "| --- | ---: |"]
    for label, value in ratios:
        if value is None:  # a part not run (--only) or skipped: see the problems below the tables
            continue
        lines.append("| %s | %s |" % (label, "-" if value is None else "%.2fx" % value))

    # Additive decomposition of the warm medians: what the platform adds beyond one HTTP hop and the runtime.
    lines.append("")
    for family, suffix, pacing in (("node", "", "back-to-back"), ("node", "_paced", "paced"),
                                   ("python", "", "back-to-back"), ("python", "_paced", "paced")):
        nimbus, kestrel, peer = (results.get(k) for k in (
            "nimbus_warm_%s%s" % (family, suffix), "kestrel_warm" + suffix, "peer_warm_%s%s" % (family, suffix)))
        if nimbus and kestrel and peer and None not in (nimbus["median"], kestrel["median"], peer["median"]):
            rest = nimbus["median"] - kestrel["median"] - peer["median"]
            lines.append("- warm %s (%s) median: Nimbus %.2f ms = bare Kestrel round trip %.2f ms + direct runtime "
                         "exchange %.2f ms + %.2f ms left for Nimbus's own path (invoker, pool, Runtime API, log pipeline)."
                         % (family, pacing, nimbus["median"], kestrel["median"], peer["median"], rest))
    if problems:
        lines += ["", "Problems seen during the run:", ""] + ["- " + p for p in problems]
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nimbus", required=True, help="base URL of the Nimbus server")
    parser.add_argument("--floor", required=True, help="base URL of the bare Kestrel floor app")
    parser.add_argument("--node", default=shutil.which("node"))
    parser.add_argument("--python", default=sys.executable, help="real python binary (not a shim)")
    parser.add_argument("--bwrap", default=shutil.which("bwrap") or "/usr/bin/bwrap")
    parser.add_argument("--curl", default=shutil.which("curl") or "/usr/bin/curl")
    parser.add_argument("--runtimes", required=True, help="directory holding nodejs/bootstrap.js and python/bootstrap.py")
    parser.add_argument("--workdir", default=tempfile.gettempdir())
    parser.add_argument("--json", help="write raw results here")
    parser.add_argument("--cold-samples", type=int, default=20)
    parser.add_argument("--cold-gap", type=float, default=0.1, help="seconds between a config change and the cold invoke")
    parser.add_argument("--warm-samples", type=int, default=300)
    parser.add_argument("--provided-warm-samples", type=int, default=100)
    parser.add_argument("--process-samples", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=50)
    parser.add_argument("--pause-ms", type=float, default=20,
                        help="pause before each request in the paced variants of the sequential measurements")
    parser.add_argument("--callers", default="4,32",
                        help="concurrent callers of the throughput runs (bare Kestrel: the first count only)")
    parser.add_argument("--throughput-seconds", type=float, default=8)
    parser.add_argument("--throughput-warmup", type=float, default=2)
    parser.add_argument("--only", default=",".join(PARTS), help="comma-separated parts to run, of: " + ", ".join(PARTS))
    parser.add_argument("--serve", help="the ./nimbus launcher, to start the servers of the many-function cold starts")
    parser.add_argument("--nimbus-pid", type=int, help="pid of the --nimbus server (to find its instance cgroups)")
    parser.add_argument("--nimbus-data", help="data directory of the --nimbus server (names its cgroup subtree)")
    parser.add_argument("--offline-peer", help="directory with serverless.yml and node_modules of serverless-offline")
    parser.add_argument("--offline-peer-error", help="why the serverless-offline peer cannot run here")
    parser.add_argument("--cold-functions", type=int, default=50, help="functions per runtime in the cold-start part")
    parser.add_argument("--cold-idle-timeout", default="00:00:02",
                        help="NIMBUS_IDLE_INSTANCE_TIMEOUT of the cold-start servers (how soon instances are reaped)")
    parser.add_argument("--burst", type=int, default=100, help="concurrent calls of the scale-out burst")
    parser.add_argument("--density-instances", type=int, default=24)
    parser.add_argument("--density-sleep-ms", type=float, default=500, help="how long the density handler holds its instance")
    parser.add_argument("--idle-cpu-seconds", type=float, default=3, help="window of the idle-CPU check")
    parser.add_argument("--budget", type=float, default=300, help="seconds; phases past it are skipped")
    args = parser.parse_args()
    args.caller_counts = [int(c) for c in args.callers.split(",") if c.strip()]
    args.only = {p.strip() for p in args.only.split(",") if p.strip()}
    unknown = args.only - set(PARTS)
    if unknown or not args.caller_counts:
        parser.error("unknown --only part(s) %s; choose from %s" % (", ".join(sorted(unknown)), ", ".join(PARTS))
                     if unknown else "--callers needs at least one count")
    if "cold" in args.only and not args.serve:
        parser.error("the cold part needs --serve (the ./nimbus launcher)")

    # The watchdog (timeout(1) in run.sh) sends SIGTERM: stop the servers started here and still print the report.
    bench = Bench(args)

    def on_sigterm(*_):
        bench.terminating = True
        bench.problems.append("the watchdog stopped the run (SIGTERM) during: %s" % bench.current)
        sys.exit(143)

    signal.signal(signal.SIGTERM, on_sigterm)
    try:
        bench.run()
    finally:
        bench.stop_children()
        report = markdown(bench.results, bench.problems, args)
        if args.json:
            with open(args.json, "w", encoding="utf-8") as f:  # one row per line: throughput rows hold ~50k samples
                f.write('{"rows": [\n' + ",\n".join(json.dumps(row) for row in bench.results.rows) + '\n],\n"problems": '
                        + json.dumps(bench.problems, indent=2) + "}\n")
        print(report)


if __name__ == "__main__":
    main()
