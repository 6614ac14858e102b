"""CPU per warm invoke: nimbusd, the runtimes and wrk, at N callers, for a load-independent figure.

On a shared machine a throughput figure says more about the neighbours than about Nimbus. What an invoke
costs does not: this starts a fresh server (the build in artifacts/, or --server), creates a trivial node and
python function, drives each with wrk (bench/wrk_invoke.lua, every request SigV4-signed with the root key)
at --callers connections, and reads, before and after each measured run:

- nimbusd's CPU time (utime + stime of every thread, /proc/<pid>/stat) and its voluntary context switches (a thread
  blocking: the sum over every thread, /proc/<pid>/task/*/status; involuntary ones measure the neighbours);
- the same for every runtime process under the server (the sandboxes' node / python3);
- wrk's own CPU time (getrusage of the child);

and prints microseconds of CPU and context switches per invoke. Runs are repeated (--repeat) and
alternated between runtimes; --env NAME=VALUE (repeatable) sets server environment variables, so two
invocations of this script make an A/B pair of settings within a minute.

    python3 bench/cpu_per_invoke.py --callers 32 --seconds 8 --repeat 3

Each function is first warmed until nimbusd's CPU per invoke settles (at least --min-warmup seconds, default 20, at
--callers; see warm_up): a fresh server spends its first tens of seconds of load recompiling its hot path.
    python3 bench/cpu_per_invoke.py --env DOTNET_ThreadPool_UnfairSemaphoreSpinLimit=0
"""

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import invoke_bench  # noqa: E402  (function zips and handlers)

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SCRIPT = os.path.join(HERE, "wrk_invoke.lua")
TICK = os.sysconf("SC_CLK_TCK")
KEY = "test"


def log(message):
    print("cpu: " + message, file=sys.stderr, flush=True)


def proc_user_system_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) / TICK, int(fields[12]) / TICK  # utime, stime (fields 14 and 15)


def proc_cpu_seconds(pid):
    return sum(proc_user_system_seconds(pid))


def proc_switches(pid):
    total = 0
    for tid in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/status" % (pid, tid)) as f:
                for line in f:
                    if line.startswith("voluntary_ctxt_switches"):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total


def children_map():
    kids = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry) as f:
                text = f.read()
        except OSError:
            continue
        comm = text[text.index("(") + 1:text.rindex(")")]
        ppid = int(text.rsplit(")", 1)[1].split()[1])
        kids.setdefault(ppid, []).append((int(entry), comm))
    return kids


def runtime_processes(server_pid, comms):
    """Every descendant of the server whose command is one of comms: {pid: comm}."""
    kids = children_map()
    found = {}
    stack = [server_pid]
    while stack:
        for pid, comm in kids.get(stack.pop(), []):
            stack.append(pid)
            if comm in comms:
                found[pid] = comm
    return found


def pool_items(path):
    """(work items completed, bytes allocated, pool threads, methods jitted, JIT milliseconds) of nimbusd so far
    (bench/ThreadPoolProbe); None without --pool-probe. An older probe writes fewer fields: the missing ones are None."""
    if not path:
        return None
    for _ in range(50):
        try:
            with open(path) as f:
                fields = [int(x) for x in f.read().split()]
            return (fields + [None] * 4)[:5]
        except (OSError, ValueError):
            time.sleep(0.01)
    return None


def runtime_command(server_pid, family):
    """The command line (a list) of the busiest runtime process of `family` (node or python) under the server: the
    interpreter the server resolved for that runtime (a virtual environment's python stays its own path) and its
    arguments, as started (with bubblewrap the interpreter's path is the host's). None when it has none."""
    best = None
    for pid, comm in runtime_processes(server_pid, {"node", "python3", "python3.11", "python3.12", "python3.13", "python"}).items():
        if (comm == "node") != (family == "node"):
            continue
        try:
            cpu = proc_cpu_seconds(pid)
            with open("/proc/%d/cmdline" % pid, "rb") as f:
                argv = f.read().decode("utf-8", "replace").split("\0")[:-1]
        except OSError:
            continue
        if argv and (best is None or cpu > best[0]):
            best = (cpu, argv)
    return None if best is None else best[1]


def clients_directory(server_dll, env=()):
    """The runtime clients a server build runs (its NIMBUS_RUNTIMES_DIRECTORY, else lambda-runtimes beside nimbusd.dll)."""
    for item in env:
        name, _, value = item.partition("=")
        if name == "NIMBUS_RUNTIMES_DIRECTORY" and value:
            return os.path.abspath(value)
    return os.path.join(os.path.dirname(os.path.abspath(server_dll)), "lambda-runtimes")


def proc_involuntary(pid):
    """Involuntary context switches of every thread of pid: a thread-pool worker's sched_yield spin counts here."""
    total = 0
    for tid in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/status" % (pid, tid)) as f:
                for line in f:
                    if line.startswith("nonvoluntary_ctxt_switches"):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total


def snapshot(server_pid, comms, probe_file=None):
    runtimes = {}
    for pid, comm in runtime_processes(server_pid, comms).items():
        try:
            runtimes[pid] = (comm, proc_cpu_seconds(pid), proc_switches(pid))
        except OSError:
            pass
    return {"server_cpu": proc_cpu_seconds(server_pid), "server_switches": proc_switches(server_pid),
            "server_involuntary": proc_involuntary(server_pid), "runtimes": runtimes, "pool": pool_items(probe_file)}


def signed_headers(url, body):
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
    request = AWSRequest(method="POST", url=url, data=body, headers={"Content-Type": "application/json"})
    SigV4Auth(Credentials(KEY, KEY), "lambda", "us-east-1").add_auth(request)
    return {name: request.headers[name] for name in ("Authorization", "X-Amz-Date")}


def run_wrk(wrk, url, callers, seconds, headers):
    threads = 1 if callers == 1 else 2
    command = [wrk, "-t%d" % threads, "-c%d" % callers, "-d%gs" % seconds, "--timeout", "5s", "--latency",
               "-s", SCRIPT, url]
    environment = dict(os.environ, WRK_CHECK="invoke",
                       WRK_HEADERS="\n".join("%s: %s" % item for item in headers.items()))
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environment)
    out, err = child.communicate(timeout=seconds + 60)
    match = re.search(r"^WRK_JSON (\{.*\})$", out, re.MULTILINE)
    if child.returncode != 0 or match is None:
        raise RuntimeError("wrk failed (%s): %s %s" % (child.returncode, out[-500:], err[-500:]))
    return json.loads(match.group(1))


def wrk_cpu(wrk, url, callers, seconds, headers):
    before = os.times()
    result = run_wrk(wrk, url, callers, seconds, headers)
    after = os.times()
    result["wrk_cpu"] = (after.children_user - before.children_user) + (after.children_system - before.children_system)
    return result


def stop_process(process):
    """SIGTERM, up to 20 s for a graceful stop, then SIGKILL to the process group (started with start_new_session)."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


class Server:
    def __init__(self, args):
        self.data = tempfile.mkdtemp(prefix="nimbus-cpu-")
        environment = dict(os.environ, NIMBUS_ROOT_ACCESS_KEY_ID=KEY, NIMBUS_ROOT_SECRET_ACCESS_KEY=KEY,
                           DOTNET_CLI_TELEMETRY_OPTOUT="1")
        for item in args.env:
            name, _, value = item.partition("=")
            environment[name] = value
        command = ["dotnet", args.server, "serve", "--listen", "http://127.0.0.1:0", "--data", self.data]
        if os.geteuid() == 0:
            command = ["unshare", "--mount", "--propagation", "private"] + command
        self.out = open(os.path.join(self.data, "server.out"), "w+")
        self.process = subprocess.Popen(command, stdout=self.out, stderr=subprocess.STDOUT, env=environment,
                                        start_new_session=True)
        started = time.time()
        deadline = started + 120
        while time.time() < deadline:
            self.out.seek(0)
            match = re.search(r"http://127\.0\.0\.1:[0-9]+", self.out.read())
            if match:
                self.url = match.group(0)
                # Start-up: wall seconds to the listening banner and the CPU seconds nimbusd spent on it (JIT mostly).
                self.start_seconds = time.time() - started
                self.start_cpu = proc_cpu_seconds(self.process.pid)
                return
            if self.process.poll() is not None:
                break
            time.sleep(0.2)
        self.stop()
        raise RuntimeError("the server did not start; see " + self.out.name)

    @property
    def pid(self):
        return self.process.pid

    def stop(self):
        stop_process(self.process)
        shutil.rmtree(self.data, ignore_errors=True)


def create_function(url, name, family):
    import base64
    import boto3
    client = boto3.client("lambda", endpoint_url=url, region_name="us-east-1", aws_access_key_id=KEY,
                          aws_secret_access_key=KEY)
    runtime, handler, files = invoke_bench.RUNTIMES[family]
    client.create_function(FunctionName=name, Runtime=runtime, Role=invoke_bench.ROLE, Handler=handler,
                           Code={"ZipFile": base64.b64decode(invoke_bench.build_zip(files))}, MemorySize=128,
                           Timeout=3)


def warm_up(args, server, family, url, comms, probe_file):
    """Drives the function at --callers until nimbusd's CPU per invoke has settled: the instances are all started (the
    runtime process count holds still over a chunk, the chunk runs without errors), --min-warmup seconds have passed,
    the last chunk cost no more than --settle below the one before (the tiered JIT has finished recompiling the hot
    path: a fresh server costs up to twice its steady state for its first tens of seconds) and, with the probe, the JIT
    compiled at most --settle-jit methods in it. At most --max-warmup seconds. Returns what it did, for the output."""
    started = time.time()
    deadline = started + args.max_warmup
    previous_count, previous_us = -1, None
    chunks = []
    while True:
        before = snapshot(server.pid, comms, probe_file)
        result = wrk_cpu(args.wrk, url, args.callers, args.warmup, signed_headers(url, invoke_bench.PAYLOAD))
        after = snapshot(server.pid, comms, probe_file)
        count = len(runtime_processes(server.pid, comms))
        us = 1e6 * (after["server_cpu"] - before["server_cpu"]) / max(1, result["requests"])
        jitted = None if after["pool"] is None or before["pool"] is None or after["pool"][3] is None \
            else after["pool"][3] - before["pool"][3]
        chunks.append({"invokes": result["requests"], "errors": result["errors"], "server_us": us, "jitted": jitted})
        elapsed = time.time() - started
        stable = count == previous_count and result["errors"] == 0
        settled = previous_us is not None and us >= previous_us * (1 - args.settle) and (jitted is None or jitted <= args.settle_jit)
        log("warm-up %s %.0f s: %d invokes, %d errors, %d runtime processes, nimbusd %.0f us/invoke%s" % (
            family, elapsed, result["requests"], result["errors"], count, us,
            "" if jitted is None else ", %d methods jitted" % jitted))
        done = stable and settled and elapsed >= args.min_warmup
        if done or time.time() > deadline:
            summary = {"runtime": family, "seconds": elapsed, "invokes": sum(c["invokes"] for c in chunks),
                       "settled": done, "chunks": chunks}
            log("warm-up %s: %s after %.0f s and %d invokes" % (
                family, "settled" if done else "NOT settled (--max-warmup reached): the runs may include tier-up",
                elapsed, summary["invokes"]))
            return summary
        previous_count, previous_us = count, us


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", default=os.path.join(ROOT, "artifacts/bin/Nimbus.Server/release/nimbusd.dll"))
    parser.add_argument("--wrk", default=shutil.which("wrk") or "wrk")
    parser.add_argument("--runtimes", default="node,python")
    parser.add_argument("--callers", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=8)
    parser.add_argument("--warmup", type=float, default=5, help="seconds per warm-up chunk")
    parser.add_argument("--min-warmup", type=float, default=20,
                        help="least seconds of warm-up load per runtime (the JIT's tier-up takes tens of seconds)")
    parser.add_argument("--max-warmup", type=float, default=90, help="most seconds of warm-up per runtime")
    parser.add_argument("--settle", type=float, default=0.10,
                        help="warm-up ends once a chunk's nimbusd CPU per invoke is no more than this fraction below the "
                             "previous chunk's (and, with --pool-probe, the JIT compiled at most --settle-jit methods in it)")
    parser.add_argument("--settle-jit", type=int, default=50, help="see --settle")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--env", action="append", default=[], help="NAME=VALUE for the server (repeatable)")
    parser.add_argument("--json", help="write the runs here")
    parser.add_argument("--perf", help="record `perf` samples of nimbusd (DOTNET_PerfMapEnabled=1) during the first "
                                       "measured run into this file")
    parser.add_argument("--strace", help="count nimbusd's syscalls (`strace -c -f`) during the first measured run into this "
                                         "file; strace slows the traced process: that run's CPU figures are not comparable")
    parser.add_argument("--pool-probe", help="bench/ThreadPoolProbe's built DLL: also count nimbusd's thread-pool work "
                                             "items per invoke (loaded with DOTNET_STARTUP_HOOKS)")
    args = parser.parse_args()

    families = [f for f in args.runtimes.split(",") if f]
    if args.perf:
        # W^X (on by default) runs jitted code from a double-mapped memfd, which perf attributes to
        # "memfd:doublemapper" instead of looking it up in /tmp/perf-<pid>.map: managed frames stay unresolved.
        args.env += ["DOTNET_PerfMapEnabled=1", "DOTNET_EnableWriteXorExecute=0"]
    comms = {"node", "python3", "python3.11", "python3.12", "python"}
    probe_file = None
    if args.pool_probe:
        probe_file = os.path.join(tempfile.mkdtemp(prefix="nimbus-pool-probe-"), "items")
        args.env += ["DOTNET_STARTUP_HOOKS=" + os.path.abspath(args.pool_probe), "NIMBUS_POOL_PROBE_FILE=" + probe_file]
    server = Server(args)
    runs = []
    commands = {}
    try:
        log("server %s (pid %d) %s: ready in %.2f s, %.2f s CPU" % (server.url, server.pid, " ".join(args.env),
                                                                 server.start_seconds, server.start_cpu))
        targets = []
        for family in families:
            name = "cpu-%s" % family
            create_function(server.url, name, family)
            url = "%s/2015-03-31/functions/%s/invocations" % (server.url, name)
            targets.append((family, url))
        warmups = []
        for family, url in targets:
            warmups.append(warm_up(args, server, family, url, comms, probe_file))
        commands = {family: runtime_command(server.pid, family) for family, _ in targets}
        for family, command in commands.items():
            log("%s runs as: %s" % (family, " ".join(command or ["?"])))
        warm_cpu = proc_cpu_seconds(server.pid)
        log("nimbusd CPU through creation and warm-up: %.2f s" % warm_cpu)
        for repeat in range(args.repeat):
            for family, url in targets:
                headers = signed_headers(url, invoke_bench.PAYLOAD)
                recorder = None
                if args.perf and repeat == 0 and family == families[0]:
                    recorder = subprocess.Popen(["perf", "record", "-F", "499", "-g", "-o", args.perf, "-p", str(server.pid),
                                                 "--", "sleep", str(args.seconds)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                tracer = None
                if args.strace and repeat == 0 and family == families[0]:
                    tracer = subprocess.Popen(["strace", "-c", "-f", "-o", args.strace, "-p", str(server.pid)],
                                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                    time.sleep(1)
                before = snapshot(server.pid, comms, probe_file)
                result = wrk_cpu(args.wrk, url, args.callers, args.seconds, headers)
                after = snapshot(server.pid, comms, probe_file)
                if recorder is not None:
                    recorder.wait(timeout=60)
                if tracer is not None:
                    tracer.send_signal(signal.SIGINT)
                    tracer.wait(timeout=60)
                    with open(args.strace, "a") as out:
                        out.write("\n%d invokes during the trace\n" % result["requests"])
                n = max(1, result["requests"])
                runtime_cpu = sum(after["runtimes"][p][1] - before["runtimes"].get(p, (None, 0, 0))[1] for p in after["runtimes"])
                runtime_switches = sum(after["runtimes"][p][2] - before["runtimes"].get(p, (None, 0, 0))[2] for p in after["runtimes"])
                row = {
                    "runtime": family, "repeat": repeat + 1, "requests": result["requests"], "errors": result["errors"],
                    "rate": result["rate"], "p50_us": result["p50_us"], "load": os.getloadavg()[0],
                    "server_us": 1e6 * (after["server_cpu"] - before["server_cpu"]) / n,
                    "runtime_us": 1e6 * runtime_cpu / n,
                    "wrk_us": 1e6 * result["wrk_cpu"] / n,
                    "server_switches": (after["server_switches"] - before["server_switches"]) / n,
                    "runtime_switches": runtime_switches / n,
                    "server_involuntary": (after["server_involuntary"] - before["server_involuntary"]) / n,
                    "pool_items": None if after["pool"] is None or before["pool"] is None
                    else (after["pool"][0] - before["pool"][0]) / n,
                    "alloc_bytes": None if after["pool"] is None or before["pool"] is None or after["pool"][1] is None
                    else (after["pool"][1] - before["pool"][1]) / n,
                    "pool_threads": None if after["pool"] is None else after["pool"][2],
                    "jitted": None if after["pool"] is None or before["pool"] is None or after["pool"][3] is None
                    else after["pool"][3] - before["pool"][3],
                    "jit_ms": None if after["pool"] is None or before["pool"] is None or after["pool"][4] is None
                    else after["pool"][4] - before["pool"][4],
                    "instances": len(after["runtimes"]),
                }
                runs.append(row)
                log("%s #%d: %d invokes (%d errors) %.0f/s p50 %s us load %.1f | CPU us/invoke: nimbusd %.0f, runtimes %.0f, wrk %.0f | "
                    "switches/invoke: nimbusd %.1f, runtimes %.1f | %d runtime processes" % (
                        family, repeat + 1, row["requests"], row["errors"], row["rate"],
                        "?" if row["p50_us"] is None else "%.0f" % row["p50_us"], row["load"], row["server_us"],
                        row["runtime_us"], row["wrk_us"], row["server_switches"], row["runtime_switches"], row["instances"])
                    + " | involuntary/invoke %.1f" % row["server_involuntary"]
                    + ("" if row["pool_items"] is None else " | pool work items/invoke %.2f" % row["pool_items"])
                    + ("" if row["alloc_bytes"] is None else " | allocated B/invoke %.0f, %d pool threads" % (row["alloc_bytes"], row["pool_threads"]))
                    + ("" if row["jitted"] is None else " | JIT: %d methods, %d ms" % (row["jitted"], row["jit_ms"])))
    finally:
        server.stop()

    for family, command in commands.items():
        print("%s runtime: `%s`" % (family, " ".join(command or ["?"])))
    for warm in warmups:
        print("Warm-up %s: %.0f s at %d callers, %d invokes, %s (nimbusd µs/invoke per %g s chunk: %s)." % (
            warm["runtime"], warm["seconds"], args.callers, warm["invokes"],
            "settled" if warm["settled"] else "not settled within --max-warmup",
            args.warmup, ", ".join("%.0f" % c["server_us"] for c in warm["chunks"])))
    print()
    print("| runtime | callers | invokes | nimbusd CPU µs/invoke | runtimes CPU µs/invoke | wrk CPU µs/invoke | nimbusd switches/invoke | nimbusd involuntary/invoke | runtime switches/invoke | pool work items/invoke | nimbusd allocated B/invoke | methods jitted | load |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for row in runs:
        print("| %s | %d | %d | %.0f | %.0f | %.0f | %.1f | %.1f | %.1f | %s | %s | %s | %.1f |" % (
            row["runtime"], args.callers, row["requests"], row["server_us"], row["runtime_us"], row["wrk_us"],
            row["server_switches"], row["server_involuntary"], row["runtime_switches"],
            "" if row["pool_items"] is None else "%.2f" % row["pool_items"],
            "" if row["alloc_bytes"] is None else "%.0f" % row["alloc_bytes"],
            "" if row.get("jitted") is None else "%d" % row["jitted"], row["load"]))
    if args.json:
        with open(args.json, "w") as out:
            json.dump({"env": args.env, "callers": args.callers, "server": args.server, "runtime_commands": commands,
                       "start_seconds": server.start_seconds, "start_cpu": server.start_cpu, "warm_cpu": warm_cpu, "warmups": warmups, "runs": runs}, out, indent=1)
    return 1 if any(r["errors"] for r in runs) else 0


if __name__ == "__main__":
    sys.exit(main())
