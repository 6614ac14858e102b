"""CPU per invoke of a runtime client alone, against a tiny fake Runtime API, for builds side by side.

The end-to-end benchmarks (bench/cpu_per_invoke.py) count the runtimes' CPU beside nimbusd's and wrk's on a
shared machine. This drives one runtime client process (runtimes/nodejs/bootstrap.js or runtimes/python/
bootstrap.py, from each --client directory) directly: a single-threaded fake Runtime API on 127.0.0.1 hands it a
small event with the headers nimbusd sends, answers each POST /response with 202 and the pipelined
GET /invocation/next with the next event. After --warmup invokes it reads the client's CPU time (the sum of
every thread's /proc/<pid>/task/<tid>/schedstat, in ns), serves --invokes more, reads it again and reports
µs of CPU per invoke. The fake server's own CPU is not counted. Clients alternate within each round, the
order flipped each round, so each pair is measured within the same minute. --transport tcp,unix measures each client
over loopback TCP and over a Unix domain socket (NIMBUS_RUNTIME_API_SOCKET; AWS_LAMBDA_RUNTIME_API stays set).

    python3 bench/runtime_client_cpu.py --runtime node --client main=/tmp/nimbus-base/lambda-runtimes \\
        --client branch=runtimes --rounds 4
    python3 bench/runtime_client_cpu.py --runtime python --client branch=runtimes --node-arg=--cpu-prof
    python3 bench/runtime_client_cpu.py --runtime node --client branch=runtimes --transport tcp,unix --rounds 6
"""

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cpu_per_invoke import proc_switches, proc_user_system_seconds  # noqa: E402  (/proc readers)

NODE_HANDLER = "exports.handler = async (event) => ({ ok: true, echo: event });\n"
PYTHON_HANDLER = "def lambda_handler(event, context):\n    return {\"ok\": True, \"echo\": event}\n"
PAYLOAD = b'{"hello":"world","n":42}'
ARN = b"arn:aws:lambda:us-east-1:000000000000:function:cpu"


def thread_cpu_ns(pid):
    total = 0
    for tid in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/schedstat" % (pid, tid)) as f:
                total += int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            pass
    return total


def client_pid(pid):
    """The process running bootstrap.js or bootstrap.py: pid itself, or a descendant when the interpreter given is a
    wrapper (bwrap, a shell script) that starts it as a child."""
    for _ in range(100):
        todo, found = [pid], None
        while todo:
            p = todo.pop(0)
            try:
                with open("/proc/%d/cmdline" % p, "rb") as f:
                    argv = f.read().split(b"\0")
                # Breadth first: the last match is the deepest, the interpreter under any wrapper naming it too.
                if any(a.endswith((b"/bootstrap.js", b"/bootstrap.py")) for a in argv):
                    found = p
                for tid in os.listdir("/proc/%d/task" % p):
                    with open("/proc/%d/task/%s/children" % (p, tid)) as f:
                        todo.extend(int(c) for c in f.read().split())
            except OSError:
                pass
        if found is not None:
            return found
        time.sleep(0.05)
    raise RuntimeError("no process running the runtime client under pid %d" % pid)


def event_response(n):
    # Every invoke's trace id is its own, as nimbusd's are (a client that keeps each one it sees grows with them).
    request_id = b"%08x-0000-4000-8000-%012x" % (n & 0xFFFFFFFF, n)
    deadline = b"%d" % (int(time.time() * 1000) + 3000)
    head = (b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nContent-Type: application/json\r\n"
            b"Date: Sun, 06 Dec 2026 20:00:00 GMT\r\nServer: Kestrel\r\n"
            b"Lambda-Runtime-Aws-Request-Id: %s\r\nLambda-Runtime-Deadline-Ms: %s\r\n"
            b"Lambda-Runtime-Invoked-Function-Arn: %s\r\n"
            b"Lambda-Runtime-Trace-Id: Root=1-5bef4de7-%024x;Parent=%016x;Sampled=1\r\n\r\n"
            % (len(PAYLOAD), request_id, deadline, ARN, n, n))
    return head + PAYLOAD


ACCEPTED_BODY = b'{"status":"OK"}'
ACCEPTED = (b"HTTP/1.1 202 Accepted\r\nContent-Length: %d\r\nContent-Type: application/json\r\n"
            b"Date: Sun, 06 Dec 2026 20:00:00 GMT\r\nServer: Kestrel\r\n\r\n%s" % (len(ACCEPTED_BODY), ACCEPTED_BODY))


def requests_in(buf):
    """Splits whole requests off buf: yields (request line, body) and returns the rest."""
    out = []
    while True:
        end = buf.find(b"\r\n\r\n")
        if end < 0:
            break
        head = buf[:end]
        length = 0
        lower = head.lower()
        i = lower.find(b"\r\ncontent-length:")
        if i >= 0:
            j = lower.find(b"\r\n", i + 2)
            length = int(head[i + 17:j if j >= 0 else len(head)].strip())
        if len(buf) < end + 4 + length:
            break
        out.append((head.split(b"\r\n", 1)[0], bytes(buf[end + 4:end + 4 + length])))
        del buf[:end + 4 + length]
    return out


def run_client(label, directory, runtime, warmup, invokes, extra_args, task_root, interpreter=None, unix=False):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    if unix:
        # AWS_LAMBDA_RUNTIME_API keeps naming the (bound, not listening) TCP port: the Host header, as in Nimbus.
        held, listener = listener, socket.socket(socket.AF_UNIX)
        path = os.path.join(tempfile.mkdtemp(prefix="nimbus-rtcpu-sock-"), "runtime-api.sock")
        listener.bind(path)
        held.close()
    listener.listen(4)
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "en_US.UTF-8", "TZ": ":UTC",
        "LAMBDA_TASK_ROOT": task_root, "AWS_LAMBDA_RUNTIME_API": "127.0.0.1:%d" % port,
        "AWS_LAMBDA_FUNCTION_NAME": "cpu", "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128", "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/cpu",
        "AWS_LAMBDA_LOG_STREAM_NAME": "2026/12/06/[$LATEST]0", "AWS_LAMBDA_LOG_FORMAT": "Text",
        "AWS_REGION": "us-east-1",
    }
    if unix:
        env["NIMBUS_RUNTIME_API_SOCKET"] = path
    if runtime == "node":
        env["_HANDLER"] = "index.handler"
        command = [interpreter or "node", "--max-old-space-size=108"] + extra_args + [os.path.join(directory, "nodejs", "bootstrap.js")]
    else:
        env["_HANDLER"] = "lambda_function.lambda_handler"
        command = [interpreter or "python3", "-s"] + extra_args + [os.path.join(directory, "python", "bootstrap.py")]
    process = subprocess.Popen(command, env=env, cwd=task_root, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    listener.settimeout(30)
    try:
        conn, _ = listener.accept()
    finally:
        listener.close()
    if not unix:
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    pid = client_pid(process.pid)
    buf = bytearray()
    sent = 0
    answered = 0
    total = warmup + invokes
    cpu_before = wall_before = None
    try:
        while answered < total:
            data = conn.recv(65536)
            if not data:
                raise RuntimeError("%s: the client closed the connection: %s" % (label, process.stderr.read().decode()))
            buf += data
            out = []
            for line, body in requests_in(buf):
                if line.startswith(b"POST "):
                    if not line.endswith(b"/response HTTP/1.1"):
                        raise RuntimeError("%s: unexpected %r %r" % (label, line, body))
                    answered += 1
                    out.append(ACCEPTED)
                    if answered == warmup:
                        conn.sendall(b"".join(out))
                        out = []
                        time.sleep(0.05)
                        cpu_before = thread_cpu_ns(pid)
                        times_before = proc_user_system_seconds(pid)
                        switches_before = proc_switches(pid)
                        wall_before = time.perf_counter()
                elif line.startswith(b"GET ") and b"/invocation/next" in line:
                    if sent < total:
                        out.append(event_response(sent))
                        sent += 1
                else:
                    raise RuntimeError("%s: unexpected %r" % (label, line))
            if out:
                conn.sendall(b"".join(out))
        cpu_after = thread_cpu_ns(pid)
        times_after = proc_user_system_seconds(pid)
        switches = (proc_switches(pid) - switches_before) / invokes
        wall = time.perf_counter() - wall_before
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        conn.close()
    user = 1e6 * (times_after[0] - times_before[0]) / invokes
    system = 1e6 * (times_after[1] - times_before[1]) / invokes
    return (cpu_after - cpu_before) / 1000.0 / invokes, invokes / wall, user, system, switches


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runtime", choices=["node", "python"], default="node")
    parser.add_argument("--client", action="append", required=True,
                        help="LABEL=DIR[=INTERPRETER]: a directory holding nodejs/bootstrap.js and python/bootstrap.py, "
                             "and optionally the node or python executable to run it with (repeatable)")
    parser.add_argument("--warmup", type=int, default=20000)
    parser.add_argument("--invokes", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--transport", default="tcp",
                        help="tcp, unix or tcp,unix: how each client reaches the fake Runtime API (each one measured)")
    parser.add_argument("--node-arg", action="append", default=[], help="extra interpreter argument (e.g. --cpu-prof)")
    args = parser.parse_args()

    clients = [(c.split("=")[0], c.split("=")[1], (c.split("=", 2) + [None])[2]) for c in args.client]
    transports = [t for t in args.transport.split(",") if t]
    if transports != ["tcp"]:
        clients = [("%s/%s" % (label, t), directory, interpreter) for label, directory, interpreter in clients for t in transports]
    task_root = tempfile.mkdtemp(prefix="nimbus-rtcpu-")
    if args.runtime == "node":
        with open(os.path.join(task_root, "index.js"), "w") as f:
            f.write(NODE_HANDLER)
    else:
        with open(os.path.join(task_root, "lambda_function.py"), "w") as f:
            f.write(PYTHON_HANDLER)
    results = {label: [] for label, _, _ in clients}
    for round_ in range(args.rounds):
        order = clients if round_ % 2 == 0 else list(reversed(clients))
        for label, directory, interpreter in order:
            cpu, rate, user, system, switches = run_client(label, os.path.abspath(directory), args.runtime, args.warmup,
                                                           args.invokes, args.node_arg, task_root, interpreter,
                                                           unix=label.endswith("/unix"))
            results[label].append(cpu)
            print("round %d %-10s %s: %.1f µs CPU/invoke (user %.0f, system %.0f; %.2f voluntary switches; "
                  "%.0f invokes/s, load %.1f)" % (round_ + 1, label, args.runtime, cpu, user, system, switches, rate,
                                                  os.getloadavg()[0]), file=sys.stderr, flush=True)
    print("| client | runtime | µs CPU per invoke, each round | median |")
    print("| --- | --- | --- | ---: |")
    for label, _, _ in clients:
        values = sorted(results[label])
        print("| %s | %s | %s | %.1f |" % (label, args.runtime, " / ".join("%.1f" % v for v in results[label]),
                                          values[len(values) // 2]))


if __name__ == "__main__":
    main()
