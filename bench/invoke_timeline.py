"""The syscalls of one warm invoke, in order, across nimbusd's threads and the runtime's, with timestamps.

Starts a fresh server (this checkout's build, or --server), creates a trivial node (or python) function, warms it up
with --warmup sequential invokes from one keep-alive connection (every request SigV4-signed with the root key), then
records `strace -f -ttt -T` of nimbusd and of the function's runtime process during --invokes more, --gap-ms apart, and
prints each invoke as one timeline: microseconds since its first syscall, the thread, the syscall and its time in the
kernel. strace stops every traced thread at every syscall, which stretches every figure (several times on a loaded
machine): read the order, the threads and the count, not the absolute gaps.

    python3 bench/invoke_timeline.py --runtime node --invokes 5
    python3 bench/invoke_timeline.py --server /tmp/nimbus-base/nimbusd.dll --env NIMBUS_INLINE_SENDS=false
"""

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cpu_per_invoke  # noqa: E402  (server, function creation, signing)
import invoke_bench  # noqa: E402

SYSCALLS = "read,write,readv,writev,recvfrom,sendto,recvmsg,sendmsg,epoll_wait,epoll_pwait,futex,sched_yield,pread64,pwrite64,poll,ioctl"
RESUMED = re.compile(r"^(?P<tid>\d+)\s+(?P<ts>[0-9.]+)\s+<\.\.\. (?P<call>\w+) resumed>(?P<args>.*?)(?:<(?P<dur>[0-9.]+)>)?$")
LINE = re.compile(r"^(?P<tid>\d+)\s+(?P<ts>[0-9.]+)\s+(?P<call>\w+)\((?P<args>.*?)(?:<(?P<dur>[0-9.]+)>)?$")


def threads_of(pid):
    names = {}
    for tid in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/comm" % (pid, tid)) as f:
                names[int(tid)] = f.read().strip()
        except OSError:
            pass
    return names


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--server", default=os.path.join(cpu_per_invoke.ROOT, "artifacts/bin/Nimbus.Server/release/nimbusd.dll"))
    parser.add_argument("--runtime", default="node", choices=["node", "python"])
    parser.add_argument("--warmup", type=int, default=3000)
    parser.add_argument("--invokes", type=int, default=5)
    parser.add_argument("--gap-ms", type=float, default=50)
    parser.add_argument("--env", action="append", default=[], help="NAME=VALUE for the server (repeatable)")
    parser.add_argument("--raw", help="also keep strace's raw output here")
    parser.add_argument("--parse", help="only print the timelines of this raw strace output (thread names unknown)")
    args = parser.parse_args()
    if args.parse:
        return print_timelines(args.parse, {}, args.invokes)

    server = cpu_per_invoke.Server(args)
    try:
        name = "timeline-%s" % args.runtime
        cpu_per_invoke.create_function(server.url, name, args.runtime)
        import boto3
        import botocore.config
        client = boto3.client("lambda", endpoint_url=server.url, region_name="us-east-1", aws_access_key_id=cpu_per_invoke.KEY,
                              aws_secret_access_key=cpu_per_invoke.KEY, config=botocore.config.Config(retries={"max_attempts": 0}))
        body = invoke_bench.PAYLOAD

        def invoke():
            response = client.invoke(FunctionName=name, Payload=body)
            data = response["Payload"].read()
            if response.get("FunctionError") or response["StatusCode"] != 200:
                raise RuntimeError("invoke failed: %s" % data[:200])

        for _ in range(args.warmup):
            invoke()
        runtimes = cpu_per_invoke.runtime_processes(server.pid, {"node", "python3", "python3.11", "python3.12", "python"})
        pids = [server.pid] + sorted(runtimes)
        names = {}
        for pid in pids:
            for tid, comm in threads_of(pid).items():
                names[tid] = ("nimbusd" if pid == server.pid else "runtime") + ":" + comm
        raw = args.raw or os.path.join(tempfile.mkdtemp(prefix="nimbus-timeline-"), "trace.txt")
        command = ["strace", "-f", "-ttt", "-T", "-o", raw, "-e", "trace=" + SYSCALLS]
        for pid in pids:
            command += ["-p", str(pid)]
        tracer = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(1.0)
        marks = []
        for _ in range(args.invokes):
            time.sleep(args.gap_ms / 1000)
            started = time.time()
            invoke()
            marks.append((started, time.time()))
        time.sleep(0.2)
        tracer.terminate()
        try:
            tracer.wait(timeout=10)
        except subprocess.TimeoutExpired:
            tracer.kill()
            tracer.wait()
    finally:
        server.stop()

    return print_timelines(raw, names, args.invokes)


def print_timelines(raw, names, invokes):
    """Cuts strace's output into invokes: from the socket engine's wake-up before the caller's request is read to the
    third `sendto` after it (the event to /next, the runtime's 202, the caller's 200). `sched_yield`s are counted, not listed."""
    events = []
    with open(raw) as f:
        for line in f:
            match = LINE.match(line) or RESUMED.match(line)
            if match:
                events.append((float(match.group("ts")), match.group("dur") or "", int(match.group("tid")),
                               match.group("call"), match.group("args")[:90]))
    events.sort()
    anchors = [i for i, e in enumerate(events) if "POST /2015-03-31" in e[4]]
    if not anchors:
        print("no invoke found in " + raw)
        return 1
    for number, anchor in enumerate(anchors[-invokes:], 1):
        first = anchor
        while first > 0 and anchor - first < 50 and events[first][3] != "epoll_wait":
            first -= 1
        group, sends, yields = [], 0, 0
        for event in events[first:]:
            if event[3] == "sched_yield":
                yields += 1
                continue
            group.append(event)
            if event[3] == "sendto" and event[4].startswith('"HTTP/1.1') and event is not events[first]:
                sends += 1
                if sends == 3:
                    break
        start = group[0][0]
        print("\n### invoke %d: %.0f µs from the epoll wake-up to the third send, %d syscalls and %d sched_yield\n"
              % (number, 1e6 * (group[-1][0] - start), len(group), yields))
        print("| µs | thread | syscall | s in call |")
        print("| ---: | --- | --- | ---: |")
        for ts, dur, tid, call, call_args in group:
            print("| %.0f | %s/%d | `%s(%s` | %s |" % (1e6 * (ts - start), names.get(tid, "?"), tid, call, call_args.replace("|", "\\|"), dur))
    return 0


if __name__ == "__main__":
    sys.exit(main())
