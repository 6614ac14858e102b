"""Nimbus invoke benchmarks: cold start, warm round trip, throughput, and their floors and peer.

Run through bench/run.sh, which starts a fresh Nimbus server and the bare-Kestrel floor app and passes their
URLs here. Standard library only (http.client); every loop is bounded by a sample count and by a global
deadline. Results go to a JSON file and, as Markdown, to stdout.

Percentiles are nearest-rank: with 20 samples p90 is the 18th value and p99 the maximum.
"""

import argparse
import base64
import io
import json
import math
import os
import random
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
import http.client
from urllib.parse import urlsplit

import direct_peer

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

RUNTIMES = {
    "node": ("nodejs20.x", "index.handler", {"index.js": NODE_HANDLER}),
    "python": ("python3.12", "lambda_function.lambda_handler", {"lambda_function.py": PYTHON_HANDLER}),
    "provided": ("provided.al2023", "function.handler", {"bootstrap": PROVIDED_BOOTSTRAP}),
}

# Floors run with an environment as bare as a sandbox's: e.g. NODE_EXTRA_CA_CERTS alone adds ~100 ms to
# every `node -e 0`, and Nimbus clears the environment of its instances.
CLEAN_ENV = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "en_US.UTF-8", "TZ": ":UTC"}

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

    def add_samples(self, key, label, samples_ms, errors=0, note=""):
        values = sorted(samples_ms)
        self.rows.append({
            "key": key, "label": label, "n": len(values), "unit": "ms", "errors": errors, "note": note,
            "median": percentile(values, 0.5), "p90": percentile(values, 0.9), "p99": percentile(values, 0.99),
        })

    def add_rate(self, key, label, rate, n, errors=0, note=""):
        self.rows.append({
            "key": key, "label": label, "n": n, "unit": "req/s", "errors": errors, "note": note,
            "median": rate, "p90": None, "p99": None,
        })

    def get(self, key):
        for row in self.rows:
            if row["key"] == key:
                return row
        return None


def fmt(value, unit="ms"):
    if value is None:
        return "-"
    if unit == "req/s":
        return "%.0f" % value
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

    def create(self, name, family):
        runtime, handler, files = RUNTIMES[family]
        body = json.dumps({
            "FunctionName": name, "Runtime": runtime, "Role": ROLE, "Handler": handler,
            "Code": {"ZipFile": build_zip(files)}, "MemorySize": 128, "Timeout": 3,
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

    def out_of_time(self, phase):
        if time.monotonic() > self.deadline:
            self.problems.append("time budget exhausted before or during: %s" % phase)
            return True
        return False

    def log(self, message):
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

    def throughput(self, key, label, base_url, path, check, duration, warmup_s, phase):
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
        threads = [threading.Thread(target=worker, daemon=True) for _ in range(self.args.clients)]
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
                              note="%d clients, %.0f s" % (self.args.clients, duration))
        self.results.add_samples(key + "_latency", label + ": per-request latency under load", latencies, errors[0])

    def nimbus_throughput(self):
        self.log("Nimbus throughput node, %d clients" % self.args.clients)
        name = "bench-tput-node"
        self.nimbus.create(name, "node")
        self.throughput("nimbus_tput_node", "Nimbus warm throughput, node", self.args.nimbus,
                        "/2015-03-31/functions/%s/invocations" % name, invoke_ok,
                        self.args.throughput_seconds, self.args.throughput_warmup, "throughput node")
        self.nimbus.delete(name)

    def kestrel_throughput(self):
        self.log("Kestrel floor throughput, %d clients" % self.args.clients)
        check = lambda status, _r, data: status == 200 and data == PAYLOAD
        self.throughput("kestrel_tput", "floor: bare Kestrel throughput", self.args.floor, "/", check,
                        self.args.throughput_seconds, self.args.throughput_warmup, "throughput floor")

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

    def run(self):
        self.process_floors()
        self.kestrel_floor()
        for family in ("node", "python", "provided"):
            if not self.out_of_time("warm " + family):
                self.nimbus_warm(family)
        if not self.out_of_time("throughput"):
            self.kestrel_throughput()
            self.nimbus_throughput()
        for family in ("node", "python", "provided"):
            if not self.out_of_time("cold " + family):
                self.nimbus_cold(family)
        for family in ("node", "python"):
            self.peer(family)


# ---------------------------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------------------------

def ratio(results, numerator, denominator, field="median"):
    a, b = results.get(numerator), results.get(denominator)
    if not a or not b or a[field] is None or not b[field]:
        return None
    return a[field] / b[field]


def markdown(results, problems):
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
    lines += ["", "| ratio (of medians) | value |", "| --- | ---: |"]
    for label, value in ratios:
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
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--throughput-seconds", type=float, default=8)
    parser.add_argument("--throughput-warmup", type=float, default=2)
    parser.add_argument("--budget", type=float, default=200, help="seconds; phases past it are skipped")
    args = parser.parse_args()

    bench = Bench(args)
    try:
        bench.run()
    finally:
        report = markdown(bench.results, bench.problems)
        if args.json:
            with open(args.json, "w", encoding="utf-8") as f:
                json.dump({"rows": bench.results.rows, "problems": bench.problems}, f, indent=2)
        print(report)


if __name__ == "__main__":
    main()
